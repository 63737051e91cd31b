// What a process under control exposes to the control socket: the interface the checkpoint
// engine's adapter implements (colo/ cannot include control/, so an adapter in control/ or app/
// wraps the colo objects and implements ControlTarget), and the data it returns.
//
// Field names follow issue 6 (stats) and issue 7 (status, replication); target_commands.h
// turns these structs into the QMP replies documented in docs/operations.md.
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
// process"), so a process implements only what it has (e.g. `ftvm run` only QueryStatus).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

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

// QEMU's COLOMode and COLOExitReason.
enum class ColoMode : uint8_t { kNone, kPrimary, kSecondary };
enum class ColoExitReason : uint8_t { kNone, kRequest, kError, kProcessing };
std::string_view ColoModeName(ColoMode mode);
std::string_view ColoExitReasonName(ColoExitReason reason);

struct ColoStatus {
  ColoMode mode = ColoMode::kNone;
  ColoMode last_mode = ColoMode::kNone;
  ColoExitReason reason = ColoExitReason::kNone;
};

struct ReplicationInfo {
  std::string transport;     // "tcp" or "verbs"
  std::string registration;  // "pin-all" or "on-demand"
  uint64_t pinned_bytes = 0;
  uint64_t registrations = 0;
  uint64_t unregistrations = 0;
  uint64_t zero_chunks = 0;
  uint64_t writes_in_flight = 0;
};

// p50 / p99 / max of one quantity over the checkpoints since the last reset (ns).
struct Distribution {
  uint64_t p50 = 0;
  uint64_t p99 = 0;
  uint64_t max = 0;
};

// QEMU's MigrationStatus names used by ftvm.
enum class MigrationStatus : uint8_t { kNone, kSetup, kActive, kColo, kCompleted, kFailed };
std::string_view MigrationStatusName(MigrationStatus status);

// QEMU's MigrationInfo / MigrationStats subset of issue 7.
struct MigrationInfo {
  MigrationStatus status = MigrationStatus::kNone;
  uint64_t total_time_ms = 0;
  uint64_t transferred_bytes = 0;
  uint64_t duplicate_pages = 0;  // zero pages (sent as a compress message)
  uint64_t normal_pages = 0;
  uint64_t normal_bytes = 0;
  uint64_t page_size = 4096;
  uint64_t dirty_sync_count = 0;
  uint64_t dirty_pages_rate = 0;  // pages per second
  double mbps = 0;
};

// Checkpoint stats since the last reset, as sums: info_checkpoint reports the per-checkpoint
// averages (0 before the first checkpoint), so implementations only accumulate.
struct CheckpointStats {
  uint64_t tot_num = 0;       // checkpoints committed
  uint64_t tot_time_ns = 0;   // total time inside checkpoint transactions
  uint64_t init_time_ns = 0;  // setup until COLO mode (once, not averaged)
  uint64_t wait_time_ns = 0;  // sums over tot_num checkpoints from here on
  uint64_t stat_time_ns = 0;
  uint64_t dev_time_ns = 0;
  uint64_t ram_time_ns = 0;
  uint64_t put_time_ns = 0;
  uint64_t recv_time_ns = 0;
  uint64_t load_time_ns = 0;
  uint64_t resume_time_ns = 0;
  uint64_t dev_bytes = 0;
  uint64_t ram_bytes = 0;
  // Distributions of the guest pause and of each phase.
  Distribution downtime, wait, stat, dev, ram, put, recv, load, resume;
  MigrationInfo info;
};

// set-parameters / query-parameters. Ranges are enforced by the command schema.
struct Parameters {
  uint64_t checkpoint_delay_ms = 0;    // period between checkpoints
  uint64_t heartbeat_timeout_ms = 0;   // peer declared lost after this silence
  uint64_t dirty_threshold_pages = 0;  // checkpoint early above this many dirty pages; 0 = off
  uint64_t pinned_budget_bytes = 0;    // on-demand registration: pinned memory bound; 0 = none
};
struct ParameterUpdate {  // only the fields the client set
  std::optional<uint64_t> checkpoint_delay_ms;
  std::optional<uint64_t> heartbeat_timeout_ms;
  std::optional<uint64_t> dirty_threshold_pages;
  std::optional<uint64_t> pinned_budget_bytes;
};
struct ParameterRange {
  uint64_t min;
  uint64_t max;
};
inline constexpr ParameterRange kCheckpointDelayMsRange{1, 600'000};
inline constexpr ParameterRange kHeartbeatTimeoutMsRange{10, 600'000};
inline constexpr ParameterRange kDirtyThresholdPagesRange{0, uint64_t{1} << 32};
inline constexpr ParameterRange kPinnedBudgetBytesRange{0, uint64_t{1} << 50};

class ControlTarget {
 public:
  virtual ~ControlTarget() = default;

  virtual Result<StatusInfo> QueryStatus();             // query-status
  virtual Result<CheckpointStats> InfoCheckpoint();     // info_checkpoint
  virtual Result<void> ResetCheckpoint();               // reset_checkpoint: zero, keep running
  virtual Result<ColoStatus> QueryColoStatus();         // query-colo-status
  virtual Result<ReplicationInfo> QueryReplication();   // query-replication
  virtual Result<void> CheckpointNow();                 // checkpoint-now: request one, return
  virtual Result<Parameters> QueryParameters();         // query-parameters
  // set-parameters: all fields or none (an Error leaves every parameter as it was).
  virtual Result<void> SetParameters(const ParameterUpdate& update);
  virtual Result<void> Failover();  // failover / x-colo-lost-heartbeat: start it, return
};

}  // namespace ftvm::control
