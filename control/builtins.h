// Commands every ftvm process offers, whatever it runs:
//   query-version          {"qemu": {"major", "minor", "micro"}, "package"}
//   trace-event-list       [{"name", "state", "vcpu"}]  (optional "name": glob, default "*")
//   trace-event-get-state  same, QEMU's name for it ("name" required)
//   trace-event-set-state  "name" (glob), "enable" (bool), "ignore-unavailable" (bool, accepted
//                          for QEMU compatibility: every ftvm event can be set at run time)
//   quit                   calls BuiltinHooks::quit (only registered when a hook is given)
// (qmp_capabilities and query-commands belong to the registry itself, see commands.h.)
#pragma once

#include <functional>

#include "base/result.h"
#include "control/commands.h"
#include "control/protocol.h"

namespace ftvm::control {

struct BuiltinHooks {
  VersionInfo version = FtvmVersion();
  // Runs on the server thread while it handles "quit". It must only signal the process to shut
  // down (set a flag, write an eventfd, notify a condition variable): stopping or destroying
  // the Server from inside it would wait for itself. The client's {"return": {}} still goes
  // out: Server::Stop() flushes what is queued before closing connections.
  std::function<void()> quit;
};

Result<void> RegisterBuiltinCommands(CommandRegistry& registry, BuiltinHooks hooks);

// Longest trace glob accepted (event names are far shorter).
inline constexpr size_t kMaxTraceGlobBytes = 256;

}  // namespace ftvm::control
