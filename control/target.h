// What a process under control exposes to the control socket: the interface the checkpoint
// engine's adapter implements, and the data it returns. colo/ cannot include control/, so the
// adapter (in control/ or app/) wraps the colo objects: checkpoint stats and COLO state are
// colo's own types (colo/stats.h, colo/state.h), the rest are plain structs here.
// target_commands.h turns them into the QMP replies documented in docs/operations.md.
//
// Threading contract: every method is called on the control server's thread, one call at a
// time, never on the guest's (vCPU) thread or the engine's checkpoint thread. Implementations
// must be thread-safe with respect to the engine (take a snapshot under the engine's lock, or
// post a request to the engine and wait for its answer with a deadline) and must return
// promptly (well under 100 ms): while a method runs, the server serves no other client.
// Long actions (CheckpointNow, Failover) start the action and return; the outcome is reported
// as an event (events.h).
//
// Every method has a default that fails with kUnsupported ("... is not available in this
// process"), so a process implements only what it has (e.g. `ftvm run`: QueryStatus and
// QueryGuest).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "colo/engine.h"
#include "colo/state.h"
#include "colo/stats.h"

namespace ftvm::control {

// QEMU's RunState names, those an ftvm guest can be in.
enum class RunState : uint8_t {
  kPrelaunch,      // "prelaunch": created, not started
  kInmigrate,      // "inmigrate": secondary receiving the initial sync
  kRunning,        // "running"
  kPaused,         // "paused"
  kColo,           // "colo": secondary in COLO mode, loading checkpoints
  kFinishMigrate,  // "finish-migrate": paused for a checkpoint
  kShutdown,       // "shutdown": the guest exited
  kInternalError,  // "internal-error"
};
std::string_view RunStateName(RunState state);

struct StatusInfo {
  bool running = false;  // vCPUs are executing guest code
  RunState status = RunState::kPrelaunch;
};

// The engine's own types: colo/engine.h defines them and validates the parameter ranges.
using ReplicationInfo = colo::ReplicationInfo;
using Parameters = colo::Parameters;
using ParameterUpdate = colo::ParameterUpdate;
using ParameterRange = colo::ParameterRange;
using colo::kCheckpointDelayMsRange;
using colo::kDirtyThresholdPagesRange;
using colo::kHeartbeatTimeoutMsRange;
using colo::kPinnedBudgetBytesRange;

class ControlTarget {
 public:
  virtual ~ControlTarget() = default;

  virtual Result<StatusInfo> QueryStatus();  // query-status
  // info_checkpoint: colo::CheckpointStats::Snapshot(status name).
  virtual Result<colo::StatsSnapshot> InfoCheckpoint();
  virtual Result<void> ResetCheckpoint();  // reset_checkpoint: zero the counters, keep running
  // query-colo-status: the state machine's current state (a copy taken under the engine lock).
  virtual Result<colo::ColoState> QueryColoStatus();
  virtual Result<ReplicationInfo> QueryReplication();  // query-replication
  virtual Result<void> CheckpointNow();                // checkpoint-now: request one, return
  virtual Result<Parameters> QueryParameters();        // query-parameters
  // set-parameters: all fields or none (an Error leaves every parameter as it was).
  virtual Result<void> SetParameters(const ParameterUpdate& update);
  virtual Result<void> Failover();  // failover / x-colo-lost-heartbeat: start it, return
  // query-guest: the guest's control ports and status page.
  virtual Result<colo::GuestStatus> QueryGuest();
};

}  // namespace ftvm::control
