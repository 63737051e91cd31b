#include "control/colo_target.h"

namespace ftvm::control {

void ColoTarget::Attach(EventSink& sink) {
  engine_.set_event_callback([&sink](const colo::EngineEvent& event) {
    auto [name, data] = ToQmpEvent(event);
    sink.Emit(name, std::move(data));
  });
}

std::pair<std::string_view, Json> ToQmpEvent(const colo::EngineEvent& e) {
  switch (e.kind) {
    case colo::EngineEventKind::kFailover:
      return {kEventFailover, Json{{"mode", colo::Name(e.mode)},
                                   {"reason", colo::Name(e.reason)},
                                   {"checkpoint", e.checkpoint}}};
    case colo::EngineEventKind::kPeerLost:
      return {kEventPeerLost, Json{{"reason", e.text}}};
    case colo::EngineEventKind::kDegraded:
      return {kEventDegraded, Json{{"reason", e.text}}};
    case colo::EngineEventKind::kResume:
      return {kEventResume, Json()};
    case colo::EngineEventKind::kStop:
      return {kEventStop, Json()};
    case colo::EngineEventKind::kCheckpoint:
      return {kEventCheckpoint, Json{{"num", e.checkpoint},
                                     {"downtime", e.downtime_ns},
                                     {"ram_size", e.ram_bytes},
                                     {"dev_size", e.dev_bytes}}};
  }
  return {kEventStop, Json()};
}

Result<StatusInfo> ColoTarget::QueryStatus() {
  const colo::ColoState s = engine_.state();
  StatusInfo info;
  info.running = engine_.guest_running();
  switch (s.status) {
    case colo::Status::kSetup:
      info.status = RunState::kPrelaunch;
      break;
    case colo::Status::kSync:
      info.status = engine_.role() == colo::Role::kSecondary ? RunState::kInmigrate
                    : info.running                           ? RunState::kRunning
                                                             : RunState::kFinishMigrate;
      break;
    case colo::Status::kColo:
      info.status = engine_.role() == colo::Role::kSecondary && !info.running ? RunState::kColo
                    : info.running                                            ? RunState::kRunning
                                   : RunState::kFinishMigrate;
      break;
    case colo::Status::kFailover:
    case colo::Status::kAlone:
      info.status = info.running ? RunState::kRunning : RunState::kPaused;
      break;
    case colo::Status::kStopped:
      info.status = RunState::kShutdown;
      break;
    case colo::Status::kFailed:
      info.status = RunState::kInternalError;
      break;
  }
  return info;
}

Result<colo::StatsSnapshot> ColoTarget::InfoCheckpoint() { return engine_.Stats(); }

Result<void> ColoTarget::ResetCheckpoint() {
  engine_.ResetStats();
  return {};
}

Result<colo::ColoState> ColoTarget::QueryColoStatus() { return engine_.state(); }

Result<ReplicationInfo> ColoTarget::QueryReplication() { return engine_.replication(); }

Result<void> ColoTarget::CheckpointNow() { return engine_.RequestCheckpoint(); }

Result<Parameters> ColoTarget::QueryParameters() { return engine_.parameters(); }

Result<void> ColoTarget::SetParameters(const ParameterUpdate& update) {
  return engine_.SetParameters(update);
}

Result<void> ColoTarget::Failover() { return engine_.RequestFailover(); }

}  // namespace ftvm::control
