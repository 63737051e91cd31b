// ColoTarget: the control socket's view of a checkpoint engine (colo::EngineControl), and the
// bridge from the engine's events to QMP events.
//
// Every method takes a snapshot or posts a request through EngineControl (thread-safe), so
// it returns at once whatever the engine is doing. Events are forwarded to the EventSink given
// to Attach(); without one they are dropped.
#pragma once

#include <atomic>

#include "colo/engine.h"
#include "control/events.h"
#include "control/target.h"

namespace ftvm::control {

class ColoTarget final : public ControlTarget {
 public:
  explicit ColoTarget(colo::EngineControl& engine) : engine_(engine) {}

  // Routes the engine's events to `sink` (which must outlive the engine's run).
  void Attach(EventSink& sink);

  Result<StatusInfo> QueryStatus() override;
  Result<colo::StatsSnapshot> InfoCheckpoint() override;
  Result<void> ResetCheckpoint() override;
  Result<colo::ColoState> QueryColoStatus() override;
  Result<ReplicationInfo> QueryReplication() override;
  Result<void> CheckpointNow() override;
  Result<Parameters> QueryParameters() override;
  Result<void> SetParameters(const ParameterUpdate& update) override;
  Result<void> Failover() override;
  Result<colo::GuestStatus> QueryGuest() override { return engine_.guest(); }

 private:
  colo::EngineControl& engine_;
};

// The QMP event (name and data) for an engine event.
std::pair<std::string_view, Json> ToQmpEvent(const colo::EngineEvent& event);

}  // namespace ftvm::control
