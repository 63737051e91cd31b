// EngineControl: what the checkpoint engine shares with the rest of the process.
//
// The engine (Primary or Secondary) runs on its own thread and is the only writer of COLO
// state and stats. Operators (the control socket's thread) read snapshots and post requests
// (checkpoint now, failover, quit, new parameters) through this object; the engine picks the
// requests up between phases, within a few milliseconds. Events (failover, peer lost, degraded,
// resume, stop, one per checkpoint) go to an optional callback, called on the engine thread.
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"
#include "colo/state.h"
#include "colo/stats.h"

namespace ftvm::vmm {
class Machine;
class ControlDevice;
}  // namespace ftvm::vmm

namespace ftvm::colo {

// Parameters an operator may change at run time (set-parameters), with their valid ranges.
struct Parameters {
  uint64_t checkpoint_delay_ms = 100;    // period between checkpoints
  uint64_t heartbeat_timeout_ms = 2000;  // the peer is lost after this long without a word
  uint64_t dirty_threshold_pages = 0;    // checkpoint early above this many dirty pages; 0: off
  uint64_t pinned_budget_bytes = 0;      // on-demand registration budget; 0: unlimited
};
struct ParameterRange {
  uint64_t min;
  uint64_t max;
};
inline constexpr ParameterRange kCheckpointDelayMsRange{1, 600'000};
inline constexpr ParameterRange kHeartbeatTimeoutMsRange{50, 600'000};
inline constexpr ParameterRange kDirtyThresholdPagesRange{0, uint64_t{1} << 32};
inline constexpr ParameterRange kPinnedBudgetBytesRange{0, uint64_t{1} << 50};

// Only the fields an operator set.
struct ParameterUpdate {
  std::optional<uint64_t> checkpoint_delay_ms;
  std::optional<uint64_t> heartbeat_timeout_ms;
  std::optional<uint64_t> dirty_threshold_pages;
  std::optional<uint64_t> pinned_budget_bytes;
};

// What query-replication shows: the transport and ram/'s registration counters.
struct ReplicationInfo {
  std::string transport;     // "tcp" or "verbs"
  std::string registration;  // "pin-all" or "on-demand"
  uint64_t pinned_bytes = 0;
  uint64_t registrations = 0;
  uint64_t unregistrations = 0;
  uint64_t zero_chunks = 0;
  uint64_t writes_in_flight = 0;  // peak during the last checkpoint
};

// The guest as its control ports report it (vmm/devices/control.h), for operators and tests.
struct GuestStatus {
  bool present = false;  // false until this side has a VM (secondary before the hello)
  uint64_t heartbeats = 0;
  uint32_t last_heartbeat = 0;
  uint64_t heartbeat_gaps = 0;  // heartbeats that did not follow the previous one
  uint64_t work_done = 0;
  bool exited = false;
  uint32_t exit_code = 0;
  // The guest's status page (vmm/guests/abi.h struct ftvm_status; 0 until the guest wrote it):
  uint64_t generation = 0;     // dirtier: the sweep over its range being written
  uint64_t pages_written = 0;  // dirtier: page stamps written so far
  uint64_t counter = 0;        // counter: iterations so far
};

enum class EngineEventKind : uint8_t {
  kFailover,
  kPeerLost,
  kDegraded,
  kResume,
  kStop,
  kCheckpoint
};

struct EngineEvent {
  EngineEventKind kind;
  ColoMode mode = ColoMode::kNone;  // kFailover: the mode before
  ExitReason reason = ExitReason::kNone;
  std::string text{};  // kPeerLost / kDegraded: why
  uint64_t checkpoint = 0;
  uint64_t downtime_ns = 0;
  uint64_t ram_bytes = 0;
  uint64_t dev_bytes = 0;
};
using EventCallback = std::function<void(const EngineEvent&)>;

class EngineControl {
 public:
  explicit EngineControl(Role role, Parameters initial = {});

  // ---- read by anyone
  ColoState state() const;
  Role role() const { return role_; }
  StatsSnapshot Stats() const;
  Parameters parameters() const;
  ReplicationInfo replication() const;
  bool guest_running() const { return guest_running_.load(std::memory_order_relaxed); }
  uint64_t last_checkpoint() const { return last_checkpoint_.load(std::memory_order_relaxed); }
  GuestStatus guest() const;

  // ---- requests from operators
  // Validates every present field against its range; all or nothing.
  Result<void> SetParameters(const ParameterUpdate& update);
  void ResetStats() { stats_.Reset(); }
  Result<void> RequestCheckpoint();  // kInvalidArgument unless COLO mode on the primary
  Result<void> RequestFailover();    // kInvalidArgument unless in COLO mode
  void RequestQuit();
  void set_event_callback(EventCallback callback);

  // ---- used by the engine thread
  Result<void> Apply(Event event);
  bool TakeCheckpointRequest() { return checkpoint_requested_.exchange(false); }
  bool quit_requested() const { return quit_requested_.load(); }
  CheckpointStats& stats() { return stats_; }
  void set_guest_running(bool running) { guest_running_.store(running); }
  void set_last_checkpoint(uint64_t n) { last_checkpoint_.store(n); }
  void set_replication(ReplicationInfo info);
  // The VM's control device (it must outlive every later guest() call).
  void set_guest_device(const vmm::ControlDevice* device) { guest_device_.store(device); }
  // The VM's control device and status page (the machine must outlive every later guest()).
  void set_guest(vmm::Machine& machine);
  void Emit(const EngineEvent& event) const;

 private:
  const Role role_;
  mutable std::mutex mu_;
  ColoStateMachine machine_;
  Parameters parameters_;
  ReplicationInfo replication_;
  EventCallback callback_;
  CheckpointStats stats_;
  std::atomic<bool> checkpoint_requested_{false};
  std::atomic<bool> quit_requested_{false};
  std::atomic<bool> guest_running_{false};
  std::atomic<uint64_t> last_checkpoint_{0};
  std::atomic<const vmm::ControlDevice*> guest_device_{nullptr};
  std::atomic<const std::byte*> guest_status_page_{nullptr};  // host address of FTVM_STATUS_GPA
};

// The guest's status from its control device and status page (`status_page`: the host address
// of FTVM_STATUS_GPA, or null). Any thread; the machine must outlive the call.
GuestStatus GuestStatusOf(const vmm::ControlDevice& device, const std::byte* status_page);
// The host address of the guest's status page, or null if no RAM block holds it.
const std::byte* StatusPageOf(const vmm::Machine& machine);

// Lets the guest run unprotected until an operator quits or the guest exits. Ok then; an error
// if the VM fails.
Result<void> RunUntilQuit(vmm::Machine& machine, EngineControl& control);

}  // namespace ftvm::colo
