#include "colo/state.h"

namespace ftvm::colo {

std::string_view Name(Role role) { return role == Role::kPrimary ? "primary" : "secondary"; }

std::string_view Name(ColoMode mode) {
  switch (mode) {
    case ColoMode::kNone:
      return "none";
    case ColoMode::kPrimary:
      return "primary";
    case ColoMode::kSecondary:
      return "secondary";
  }
  return "?";
}

std::string_view Name(ExitReason reason) {
  switch (reason) {
    case ExitReason::kNone:
      return "none";
    case ExitReason::kRequest:
      return "request";
    case ExitReason::kError:
      return "error";
    case ExitReason::kProcessing:
      return "processing";
  }
  return "?";
}

std::string_view Name(FailoverState state) {
  switch (state) {
    case FailoverState::kNone:
      return "none";
    case FailoverState::kRequire:
      return "require";
    case FailoverState::kActive:
      return "active";
    case FailoverState::kCompleted:
      return "completed";
    case FailoverState::kRelaunch:
      return "relaunch";
  }
  return "?";
}

std::string_view Name(Status status) {
  switch (status) {
    case Status::kSetup:
      return "setup";
    case Status::kSync:
      return "sync";
    case Status::kColo:
      return "colo";
    case Status::kFailover:
      return "failover";
    case Status::kAlone:
      return "alone";
    case Status::kStopped:
      return "stopped";
    case Status::kFailed:
      return "failed";
  }
  return "?";
}

std::string_view Name(Event event) {
  switch (event) {
    case Event::kSetupDone:
      return "setup-done";
    case Event::kColoEntered:
      return "colo-entered";
    case Event::kPeerLost:
      return "peer-lost";
    case Event::kFailoverRequested:
      return "failover-requested";
    case Event::kCommitBegin:
      return "commit-begin";
    case Event::kCommitEnd:
      return "commit-end";
    case Event::kFailoverStarted:
      return "failover-started";
    case Event::kFailoverDone:
      return "failover-done";
    case Event::kQuit:
      return "quit";
    case Event::kFatal:
      return "fatal";
  }
  return "?";
}

Result<void> ColoStateMachine::Invalid(Event event) const {
  return Fail(ErrorCode::kInvalidArgument, "{}: event {} is not valid in status {}", Name(role_),
              Name(event), Name(state_.status));
}

Result<void> ColoStateMachine::EnterFailover(ExitReason reason) {
  state_.status = Status::kFailover;
  state_.reason = reason;
  state_.failover = state_.in_commit ? FailoverState::kRelaunch : FailoverState::kRequire;
  return {};
}

Result<void> ColoStateMachine::Apply(Event event) {
  ColoState& s = state_;
  const bool ended = s.status == Status::kStopped || s.status == Status::kFailed;
  switch (event) {
    case Event::kSetupDone:
      if (s.status != Status::kSetup) return Invalid(event);
      s.status = Status::kSync;
      return {};
    case Event::kColoEntered:
      if (s.status != Status::kSync) return Invalid(event);
      s.status = Status::kColo;
      s.mode = role_ == Role::kPrimary ? ColoMode::kPrimary : ColoMode::kSecondary;
      return {};
    case Event::kPeerLost:
      if (s.status == Status::kColo) return EnterFailover(ExitReason::kError);
      if (s.status == Status::kSetup || s.status == Status::kSync) {
        // Never protected: the primary runs on alone; the secondary has nothing to run.
        s.status = role_ == Role::kPrimary ? Status::kAlone : Status::kFailed;
        s.reason = ExitReason::kError;
        return {};
      }
      return Invalid(event);
    case Event::kFailoverRequested:
      if (s.status != Status::kColo) return Invalid(event);
      return EnterFailover(ExitReason::kRequest);
    case Event::kCommitBegin:
      if (role_ != Role::kSecondary || s.in_commit ||
          (s.status != Status::kSync && s.status != Status::kColo)) {
        return Invalid(event);
      }
      s.in_commit = true;
      return {};
    case Event::kCommitEnd:
      if (!s.in_commit) return Invalid(event);
      s.in_commit = false;
      if (s.failover == FailoverState::kRelaunch) s.failover = FailoverState::kRequire;
      return {};
    case Event::kFailoverStarted:
      if (s.status != Status::kFailover || s.failover != FailoverState::kRequire) {
        return Invalid(event);
      }
      s.failover = FailoverState::kActive;
      return {};
    case Event::kFailoverDone:
      if (s.failover != FailoverState::kActive) return Invalid(event);
      s.failover = FailoverState::kCompleted;
      s.status = Status::kAlone;
      s.last_mode = s.mode;
      s.mode = ColoMode::kNone;
      return {};
    case Event::kQuit:
      if (ended) return Invalid(event);
      s.status = Status::kStopped;
      if (s.mode != ColoMode::kNone) s.last_mode = s.mode;
      s.mode = ColoMode::kNone;
      return {};
    case Event::kFatal:
      if (ended) return Invalid(event);
      s.status = Status::kFailed;
      s.reason = ExitReason::kError;
      if (s.mode != ColoMode::kNone) s.last_mode = s.mode;
      s.mode = ColoMode::kNone;
      return {};
  }
  return Invalid(event);
}

}  // namespace ftvm::colo
