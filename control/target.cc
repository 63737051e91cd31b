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

std::string_view ColoModeName(ColoMode mode) {
  switch (mode) {
    case ColoMode::kNone:
      return "none";
    case ColoMode::kPrimary:
      return "primary";
    case ColoMode::kSecondary:
      return "secondary";
  }
  return "none";
}

std::string_view ColoExitReasonName(ColoExitReason reason) {
  switch (reason) {
    case ColoExitReason::kNone:
      return "none";
    case ColoExitReason::kRequest:
      return "request";
    case ColoExitReason::kError:
      return "error";
    case ColoExitReason::kProcessing:
      return "processing";
  }
  return "none";
}

std::string_view MigrationStatusName(MigrationStatus status) {
  switch (status) {
    case MigrationStatus::kNone:
      return "none";
    case MigrationStatus::kSetup:
      return "setup";
    case MigrationStatus::kActive:
      return "active";
    case MigrationStatus::kColo:
      return "colo";
    case MigrationStatus::kCompleted:
      return "completed";
    case MigrationStatus::kFailed:
      return "failed";
  }
  return "none";
}

Result<StatusInfo> ControlTarget::QueryStatus() { return NotHere("query-status"); }
Result<CheckpointStats> ControlTarget::InfoCheckpoint() { return NotHere("info_checkpoint"); }
Result<void> ControlTarget::ResetCheckpoint() { return NotHere("reset_checkpoint"); }
Result<ColoStatus> ControlTarget::QueryColoStatus() { return NotHere("query-colo-status"); }
Result<ReplicationInfo> ControlTarget::QueryReplication() { return NotHere("query-replication"); }
Result<void> ControlTarget::CheckpointNow() { return NotHere("checkpoint-now"); }
Result<Parameters> ControlTarget::QueryParameters() { return NotHere("query-parameters"); }
Result<void> ControlTarget::SetParameters(const ParameterUpdate&) {
  return NotHere("set-parameters");
}
Result<void> ControlTarget::Failover() { return NotHere("failover"); }

}  // namespace ftvm::control
