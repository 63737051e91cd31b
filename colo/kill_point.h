// Fault injection for the end-to-end tests: SIGKILL this process at a named point of a given
// checkpoint, so a test can kill the primary mid-RAM or the secondary after `received` without
// racing a timer. Off unless configured (--debug-kill-at or FTVM_KILL_AT="<point>[:<n>]").
//
// Points, primary:   wait, request, ram (after the first RAM write of the checkpoint),
//                    device (after the first device-state fragment), received, loaded
// Points, secondary: request, ram (on the checkpoint's first ram/ message), device (all device
//                    state received, before `received` is sent), received, loaded
// `n` is the checkpoint number (default 2: the first checkpoint in COLO mode after the one
// that ends the initial sync).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ftvm::colo {

struct KillPoint {
  std::string point;
  uint64_t checkpoint = 2;
};

Result<KillPoint> ParseKillPoint(std::string_view text);
// The kill point from FTVM_KILL_AT, if set and valid (an invalid value is logged and ignored).
std::optional<KillPoint> KillPointFromEnv();

// Kills the process (SIGKILL, after flushing the log) if `kill` names this point.
void MaybeKill(const std::optional<KillPoint>& kill, std::string_view point, uint64_t checkpoint);

}  // namespace ftvm::colo
