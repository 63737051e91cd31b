// What `ftvm ctl` needs beyond the Client: typed arguments from the command line, and replies
// and events rendered for people (`--json` prints the raw values instead).
//
//   ftvm ctl SOCKET set-parameters checkpoint-delay=20 pinned-budget=1G
//   ftvm ctl SOCKET trace-event-set-state '{"name": "colo_*", "enable": true}'
//   ftvm ctl SOCKET info_checkpoint          -> phase table
//   ftvm ctl SOCKET watch                    -> a live line, events as they come
//
// Pure functions (no I/O); thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "control/json.h"

namespace ftvm::control::ctl {

// The arguments object for a command, from either one JSON object word or key=value words.
// Values are typed: true/false -> boolean; null; integers ("-5", "42") -> integer; integers
// with a binary size suffix ("64K", "1G", "2GiB") -> integer bytes; decimals ("1.5") -> number;
// a JSON array, object or quoted string -> that value; anything else -> string.
// kInvalidArgument for a word without '=', an empty key, a key given twice, or a JSON object
// mixed with other words.
Result<Json> ParseArguments(std::span<const std::string> words);

// A command's "return" value for people: info_checkpoint as a phase table; an object as a
// key/value table (nested keys dotted, "ram.transferred"); an array of objects as a table with
// one column per key; {} as "ok"; [] as "(none)". Ends with a newline.
std::string FormatReturn(std::string_view command, const Json& value);

// One line per event, local time: "2026-11-22 02:57:35.293 FAILOVER mode=secondary reason=error".
std::string FormatEvent(const Json& event);

// Durations for people: "850 ns", "12.3 us", "1.96 ms", "2.35 s".
std::string FormatNanos(uint64_t ns);

// The live line of `watch`, from query-colo-status and two successive info_checkpoint replies
// `interval_s` apart (`previous` null on the first poll):
// "colo primary | 1234 checkpoints (+98/s) | pause last 1.81 ms, p50 1.79 ms, p99 2.10 ms |
//  97.3 MB/s"
std::string FormatWatchLine(const Json& colo_status, const Json& stats, const Json* previous,
                            double interval_s);

}  // namespace ftvm::control::ctl
