#include "control/target.h"

namespace ftvm::control {
namespace {

std::unexpected<Error> NotHere(std::string_view command) {
  return Fail(ErrorCode::kUnsupported, "{} is not available in this process", command);
}

}  // namespace

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kPrelaunch:
      return "prelaunch";
    case RunState::kInmigrate:
      return "inmigrate";
    case RunState::kRunning:
      return "running";
    case RunState::kPaused:
      return "paused";
    case RunState::kColo:
      return "colo";
    case RunState::kFinishMigrate:
      return "finish-migrate";
    case RunState::kShutdown:
      return "shutdown";
    case RunState::kInternalError:
      return "internal-error";
  }
  return "internal-error";
}

Result<StatusInfo> ControlTarget::QueryStatus() { return NotHere("query-status"); }
Result<colo::StatsSnapshot> ControlTarget::InfoCheckpoint() { return NotHere("info_checkpoint"); }
Result<void> ControlTarget::ResetCheckpoint() { return NotHere("reset_checkpoint"); }
Result<colo::ColoState> ControlTarget::QueryColoStatus() { return NotHere("query-colo-status"); }
Result<colo::GuestStatus> ControlTarget::QueryGuest() { return NotHere("query-guest"); }
Result<ReplicationInfo> ControlTarget::QueryReplication() { return NotHere("query-replication"); }
Result<void> ControlTarget::CheckpointNow() { return NotHere("checkpoint-now"); }
Result<Parameters> ControlTarget::QueryParameters() { return NotHere("query-parameters"); }
Result<void> ControlTarget::SetParameters(const ParameterUpdate&) {
  return NotHere("set-parameters");
}
Result<void> ControlTarget::Failover() { return NotHere("failover"); }

}  // namespace ftvm::control
