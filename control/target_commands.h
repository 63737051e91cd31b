// The commands backed by a ControlTarget (target.h), with their schemas:
//   query-status        {"running", "status"}
//   info_checkpoint     issue 6's stats (colo/stats.h): tot_num, tot_time, avg_time,
//                       init_time, then per-checkpoint averages wait_time ... resume_time,
//                       dev_size, ram_size (0 before the first checkpoint), last_downtime;
//                       "percentiles" {downtime, wait_time, ..., resume_time: {p50, p99, max}};
//                       "info" {status, total-time, ram {transferred, duplicate, normal,
//                       normal-bytes, page-size, dirty-sync-count, dirty-pages-rate, mbps}}
//   reset_checkpoint    {}
//   query-colo-status   {"mode", "last-mode", "reason"} (QEMU's COLOStatus) plus "status"
//                       (life-cycle) and "failover-state" (none/require/active/completed/
//                       relaunch), names from colo/state.h
//   query-replication   {"transport", "registration", "pinned-bytes", "registrations",
//                        "unregistrations", "zero-chunks", "writes-in-flight"}
//   query-guest         {"present", "heartbeats", "last-heartbeat", "heartbeat-gaps",
//                        "work-done", "exited", "exit-code"} from the guest's control ports,
//                        {"generation", "pages-written", "counter"} from its status page
//   checkpoint-now      {}
//   query-parameters    {"checkpoint-delay", "heartbeat-timeout", "dirty-threshold",
//                        "pinned-budget"}
//   set-parameters      the same names as optional arguments, ranges from target.h
//   failover            {}   (alias x-colo-lost-heartbeat, QEMU's name)
// Times are nanoseconds and sizes bytes unless the name says otherwise (QEMU's "total-time" is
// milliseconds).
#pragma once

#include "base/result.h"
#include "control/commands.h"
#include "control/json.h"
#include "control/target.h"

namespace ftvm::control {

// Registers the commands above; `target` must outlive the registry (and the server).
Result<void> RegisterTargetCommands(CommandRegistry& registry, ControlTarget& target);

// The info_checkpoint reply for a stats snapshot.
Json CheckpointStatsToJson(const colo::StatsSnapshot& stats);

}  // namespace ftvm::control
