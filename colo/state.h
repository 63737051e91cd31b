// The COLO state machine shared by the primary and the secondary.
//
// It mirrors QEMU's vocabulary so QMP tools read it the same way: COLO mode (none / primary /
// secondary), last mode, exit reason (none / request / error / processing) and failover state
// (none / require / active / completed / relaunch). On top, a life-cycle status:
//
//   setup --SetupDone--> sync --ColoEntered--> colo --PeerLost / FailoverRequested--> failover
//     failover --FailoverStarted--> (failover: active) --FailoverDone--> alone
//   primary:   PeerLost before COLO mode -> alone (the guest keeps running, unprotected)
//   secondary: PeerLost before COLO mode -> failed (there is no committed checkpoint to run)
//   any --Quit--> stopped;  any --Fatal--> failed
//
// A failover requested while the secondary is inside its (non-interruptible) cache commit
// is recorded as failover state "relaunch" and starts when the commit ends.
//
// ColoStateMachine is a pure value type: Apply() either moves to the new state or returns a
// kInvalidArgument error naming the status and event, leaving the state unchanged. It is not
// thread-safe; colo/engine code guards it and publishes snapshots.
#pragma once

#include <string_view>

#include "base/result.h"

namespace ftvm::colo {

enum class Role : uint8_t { kPrimary, kSecondary };
enum class ColoMode : uint8_t { kNone, kPrimary, kSecondary };
enum class ExitReason : uint8_t { kNone, kRequest, kError, kProcessing };
enum class FailoverState : uint8_t { kNone, kRequire, kActive, kCompleted, kRelaunch };
enum class Status : uint8_t { kSetup, kSync, kColo, kFailover, kAlone, kStopped, kFailed };

enum class Event : uint8_t {
  kSetupDone,          // handshake finished, initial sync starts
  kColoEntered,        // the first checkpoint was committed on both sides
  kPeerLost,           // heartbeat timeout or channel error
  kFailoverRequested,  // operator command (failover / x-colo-lost-heartbeat)
  kCommitBegin,        // secondary: cache flush into guest memory starts
  kCommitEnd,          // secondary: cache flush finished
  kFailoverStarted,    // the engine begins the takeover
  kFailoverDone,       // the guest runs alone on this side
  kQuit,               // orderly stop
  kFatal,              // unrecoverable local error
};

std::string_view Name(Role role);
std::string_view Name(ColoMode mode);
std::string_view Name(ExitReason reason);
std::string_view Name(FailoverState state);
std::string_view Name(Status status);
std::string_view Name(Event event);

struct ColoState {
  Status status = Status::kSetup;
  ColoMode mode = ColoMode::kNone;
  ColoMode last_mode = ColoMode::kNone;
  ExitReason reason = ExitReason::kNone;
  FailoverState failover = FailoverState::kNone;
  bool in_commit = false;
  bool operator==(const ColoState&) const = default;
};

class ColoStateMachine {
 public:
  explicit ColoStateMachine(Role role) : role_(role) {}

  Role role() const { return role_; }
  const ColoState& state() const { return state_; }

  // Applies `event`; on an event that is invalid in the current state returns an error and
  // changes nothing.
  Result<void> Apply(Event event);

  // True when a failover is pending (require) and the engine should start it now.
  bool failover_pending() const { return state_.failover == FailoverState::kRequire; }

 private:
  Result<void> EnterFailover(ExitReason reason);
  Result<void> Invalid(Event event) const;

  Role role_;
  ColoState state_;
};

}  // namespace ftvm::colo
