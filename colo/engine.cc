#include "colo/engine.h"

#include "colo/log.h"
#include "colo/trace_events.h"
#include "vmm/guests/abi.h"
#include "vmm/machine.h"

namespace ftvm::colo {
namespace {

Result<void> CheckRange(const char* name, const std::optional<uint64_t>& value,
                        ParameterRange range) {
  if (value && (*value < range.min || *value > range.max)) {
    return Fail(ErrorCode::kInvalidArgument, "{} must be in [{}, {}], got {}", name, range.min,
                range.max, *value);
  }
  return {};
}

}  // namespace

EngineControl::EngineControl(Role role, Parameters initial)
    : role_(role), machine_(role), parameters_(initial) {}

ColoState EngineControl::state() const {
  std::lock_guard lock(mu_);
  return machine_.state();
}

StatsSnapshot EngineControl::Stats() const { return stats_.Snapshot(Name(state().status)); }

Parameters EngineControl::parameters() const {
  std::lock_guard lock(mu_);
  return parameters_;
}

ReplicationInfo EngineControl::replication() const {
  std::lock_guard lock(mu_);
  return replication_;
}

GuestStatus EngineControl::guest() const {
  const vmm::ControlDevice* device = guest_device_.load();
  if (device == nullptr) return {};
  return GuestStatusOf(*device, guest_status_page_.load());
}

GuestStatus GuestStatusOf(const vmm::ControlDevice& device, const std::byte* status_page) {
  const vmm::ControlStatus s = device.status();
  GuestStatus g{.present = true,
                .heartbeats = s.heartbeats,
                .last_heartbeat = s.last_heartbeat,
                .heartbeat_gaps = s.heartbeat_gaps,
                .work_done = s.work_done_events,
                .exited = s.exited,
                .exit_code = s.exit_code};
  // The guest writes the page while we read it (its fields are volatile u64s): each value is
  // one the guest wrote, possibly a little stale.
  if (status_page != nullptr) {
    const auto* status = reinterpret_cast<const ftvm_status*>(status_page);
    if (status->magic == FTVM_STATUS_MAGIC) {
      g.generation = status->generation;
      g.pages_written = status->pages_written;
      g.counter = status->counter;
    }
  }
  return g;
}

const std::byte* StatusPageOf(const vmm::Machine& machine) {
  for (const vmm::RamBlock& block : machine.ram_blocks()) {
    if (block.Contains(FTVM_STATUS_GPA, sizeof(ftvm_status))) {
      return block.hva() + (FTVM_STATUS_GPA - block.gpa());
    }
  }
  return nullptr;
}

void EngineControl::set_guest(vmm::Machine& machine) {
  guest_status_page_.store(StatusPageOf(machine));
  guest_device_.store(&machine.control());
}

void EngineControl::set_replication(ReplicationInfo info) {
  std::lock_guard lock(mu_);
  replication_ = std::move(info);
}

Result<void> EngineControl::SetParameters(const ParameterUpdate& u) {
  FTVM_TRY(CheckRange("checkpoint-delay-ms", u.checkpoint_delay_ms, kCheckpointDelayMsRange));
  FTVM_TRY(CheckRange("heartbeat-timeout-ms", u.heartbeat_timeout_ms, kHeartbeatTimeoutMsRange));
  FTVM_TRY(CheckRange("dirty-threshold-pages", u.dirty_threshold_pages, kDirtyThresholdPagesRange));
  FTVM_TRY(CheckRange("pinned-budget-bytes", u.pinned_budget_bytes, kPinnedBudgetBytesRange));
  std::lock_guard lock(mu_);
  if (u.checkpoint_delay_ms) parameters_.checkpoint_delay_ms = *u.checkpoint_delay_ms;
  if (u.heartbeat_timeout_ms) parameters_.heartbeat_timeout_ms = *u.heartbeat_timeout_ms;
  if (u.dirty_threshold_pages) parameters_.dirty_threshold_pages = *u.dirty_threshold_pages;
  if (u.pinned_budget_bytes) parameters_.pinned_budget_bytes = *u.pinned_budget_bytes;
  Log().info(
      "parameters: checkpoint-delay {} ms, heartbeat-timeout {} ms, dirty-threshold {} "
      "pages, pinned-budget {} bytes",
      parameters_.checkpoint_delay_ms, parameters_.heartbeat_timeout_ms,
      parameters_.dirty_threshold_pages, parameters_.pinned_budget_bytes);
  return {};
}

Result<void> EngineControl::RequestCheckpoint() {
  const ColoState s = state();
  if (role_ != Role::kPrimary || s.status != Status::kColo) {
    return Fail(ErrorCode::kInvalidArgument,
                "checkpoint-now needs the primary in COLO mode (this is the {} in status {})",
                Name(role_), Name(s.status));
  }
  checkpoint_requested_.store(true);
  return {};
}

Result<void> EngineControl::RequestFailover() {
  std::lock_guard lock(mu_);
  FTVM_TRY(machine_.Apply(Event::kFailoverRequested));
  trace_colo_state_change(Name(machine_.state().status).data(),
                          Name(machine_.state().failover).data());
  Log().warn("failover requested by the operator");
  return {};
}

void EngineControl::RequestQuit() { quit_requested_.store(true); }

void EngineControl::set_event_callback(EventCallback callback) {
  std::lock_guard lock(mu_);
  callback_ = std::move(callback);
}

Result<void> EngineControl::Apply(Event event) {
  std::lock_guard lock(mu_);
  const ColoState before = machine_.state();
  FTVM_TRY(machine_.Apply(event));
  const ColoState& after = machine_.state();
  if (after.status != before.status || after.failover != before.failover) {
    trace_colo_state_change(Name(after.status).data(), Name(after.failover).data());
    Log().info("{}: {} -> {} (failover {}, reason {})", Name(role_), Name(before.status),
               Name(after.status), Name(after.failover), Name(after.reason));
  }
  return {};
}

void EngineControl::Emit(const EngineEvent& event) const {
  EventCallback callback;
  {
    std::lock_guard lock(mu_);
    callback = callback_;
  }
  if (callback) callback(event);
}

Result<void> RunUntilQuit(vmm::Machine& machine, EngineControl& control) {
  while (!control.quit_requested()) {
    auto exit = machine.WaitForExit(std::chrono::milliseconds(100));
    if (exit) {
      Log().info("the guest exited with code {}", *exit);
      return {};
    }
    if (exit.error().code() != ErrorCode::kTimeout) {
      (void)control.Apply(Event::kFatal);
      return Fail(std::move(exit.error()).Wrap("guest"));
    }
  }
  return {};
}

}  // namespace ftvm::colo
