// One client's QMP session, independent of any socket: feed it complete JSON texts (from a
// JsonSplitter), send back what it returns.
//
// States: negotiation (only qmp_capabilities is accepted; everything else gets QEMU's
// CommandNotFound "Expecting capabilities negotiation with 'qmp_capabilities'") -> command
// mode (qmp_capabilities is refused as "already complete"; events are delivered).
//
// Not thread-safe: one session per connection, used by the server thread only. The registry
// must outlive the session.
#pragma once

#include <string>
#include <string_view>

#include "control/commands.h"

namespace ftvm::control {

class Session {
 public:
  explicit Session(const CommandRegistry& registry) : registry_(registry) {}

  // Handles one JSON text; returns the reply line. Runs the command's handler on the calling
  // thread.
  std::string Handle(std::string_view text);

  // True once qmp_capabilities succeeded: the client may run commands and receives events.
  bool negotiated() const { return negotiated_; }
  // Commands handled (successful or not), for logs.
  uint64_t requests() const { return requests_; }

 private:
  std::expected<Json, QmpError> Dispatch(const Request& request);

  const CommandRegistry& registry_;
  bool negotiated_ = false;
  uint64_t requests_ = 0;
};

}  // namespace ftvm::control
