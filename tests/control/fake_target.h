// A ControlTarget for tests: returns canned values and records what it was asked to do.
// Thread-safe (the server calls it from its own thread, tests read it from theirs).
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include "control/target.h"

namespace ftvm::control::testing {

class FakeTarget : public ControlTarget {
 public:
  Result<StatusInfo> QueryStatus() override {
    return StatusInfo{.running = true, .status = RunState::kRunning};
  }
  Result<colo::StatsSnapshot> InfoCheckpoint() override {
    std::lock_guard lock(mu_);
    if (fixed_snapshot) return *fixed_snapshot;
    return stats.Snapshot("colo");
  }
  Result<void> ResetCheckpoint() override {
    std::lock_guard lock(mu_);
    stats.Reset();
    ++resets;
    return {};
  }
  Result<colo::ColoState> QueryColoStatus() override {
    return colo::ColoState{.status = colo::Status::kColo,
                           .mode = colo::ColoMode::kSecondary,
                           .last_mode = colo::ColoMode::kNone,
                           .reason = colo::ExitReason::kNone,
                           .failover = colo::FailoverState::kNone,
                           .in_commit = false};
  }
  Result<colo::GuestStatus> QueryGuest() override {
    return colo::GuestStatus{.present = true,
                             .heartbeats = 42,
                             .last_heartbeat = 41,
                             .heartbeat_gaps = 0,
                             .work_done = 5,
                             .exited = false,
                             .exit_code = 0,
                             .generation = 3,
                             .pages_written = 150000,
                             .counter = 0};
  }
  Result<ReplicationInfo> QueryReplication() override {
    return ReplicationInfo{.transport = "tcp",
                           .registration = "on-demand",
                           .pinned_bytes = 1 << 20,
                           .registrations = 7,
                           .unregistrations = 3,
                           .zero_chunks = 11,
                           .writes_in_flight = 2};
  }
  Result<void> CheckpointNow() override {
    std::lock_guard lock(mu_);
    ++checkpoints_requested;
    return {};
  }
  Result<Parameters> QueryParameters() override {
    std::lock_guard lock(mu_);
    return parameters;
  }
  Result<void> SetParameters(const ParameterUpdate& update) override {
    std::lock_guard lock(mu_);
    updates.push_back(update);
    if (refuse_parameters) return Fail(ErrorCode::kInvalidArgument, "engine refused");
    if (update.checkpoint_delay_ms) parameters.checkpoint_delay_ms = *update.checkpoint_delay_ms;
    if (update.heartbeat_timeout_ms) parameters.heartbeat_timeout_ms = *update.heartbeat_timeout_ms;
    if (update.dirty_threshold_pages) {
      parameters.dirty_threshold_pages = *update.dirty_threshold_pages;
    }
    if (update.pinned_budget_bytes) parameters.pinned_budget_bytes = *update.pinned_budget_bytes;
    return {};
  }
  Result<void> Failover() override {
    std::lock_guard lock(mu_);
    ++failovers;
    return {};
  }

  std::mutex mu_;
  colo::CheckpointStats stats;  // the engine's real stats object, fed by tests
  std::optional<colo::StatsSnapshot> fixed_snapshot;
  Parameters parameters{.checkpoint_delay_ms = 100,
                        .heartbeat_timeout_ms = 1000,
                        .dirty_threshold_pages = 0,
                        .pinned_budget_bytes = 0};
  std::vector<ParameterUpdate> updates;
  bool refuse_parameters = false;
  int resets = 0;
  int checkpoints_requested = 0;
  int failovers = 0;
};

}  // namespace ftvm::control::testing
