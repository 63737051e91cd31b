// What `ftvm`'s exit status means (documented in `ftvm --help` and docs/operations.md).
// `run`, `restore`, `primary` and `secondary` pass the guest's own exit code through (codes
// above 63 become 63) when the guest exited.
#pragma once

#include "base/result.h"

namespace ftvm::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitGuestMax = 63;      // guest codes above this are reported as 63
inline constexpr int kExitRefused = 1;        // `ftvm ctl`: the process answered with an error
inline constexpr int kExitUsage = 64;         // bad flags or arguments
inline constexpr int kExitDataError = 65;     // a corrupt or mismatched snapshot/state
inline constexpr int kExitUnavailable = 69;   // no usable /dev/kvm, a missing capability, or
                                              // (`ftvm ctl`) no process on the control socket
inline constexpr int kExitSoftware = 70;      // any other VMM failure
inline constexpr int kExitIo = 74;            // reading or writing a file failed
inline constexpr int kExitGuestCrashed = 75;  // the guest died (triple fault, internal error)
inline constexpr int kExitTimeout = 124;      // --timeout passed (guest still running, or
                                              // `ftvm ctl`: no answer in time)
inline constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM

// The exit status for a failed operation, by its error category.
int ExitCodeFor(const Error& error);

}  // namespace ftvm::app
