// A small blocking QMP client (used by `ftvm ctl` and the tests).
//
//   FTVM_ASSIGN_OR_RETURN(auto client, control::Client::Connect(path, Deadline(5s)));
//   FTVM_TRY(client.Negotiate(deadline));
//   FTVM_ASSIGN_OR_RETURN(Json stats, client.Call("info_checkpoint", {}, deadline));
//   FTVM_ASSIGN_OR_RETURN(Json event, client.NextEvent(Deadline::Never()));
//
// Errors: a Result error is a transport or protocol failure (kPeerLost when the server closed
// the connection, kTimeout at the deadline, kProtocol for a malformed or unexpected message).
// A QMP error reply is not a transport failure: Execute() returns it in the Reply; Call()
// turns it into kInvalidArgument (or kNotFound for CommandNotFound) with "Class: desc".
//
// Events that arrive while waiting for a reply are kept, in order, for NextEvent().
// Not thread-safe; move-only.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"
#include "base/unique_fd.h"
#include "control/json.h"
#include "control/protocol.h"
#include "control/splitter.h"

namespace ftvm::control {

struct Reply {
  std::optional<Json> id;
  Json value;                     // "return" (null on error)
  std::optional<QmpError> error;  // "error"
  bool ok() const { return !error.has_value(); }
};

class Client {
 public:
  // Connects to a Unix socket and reads the greeting (kProtocol if it is not a QMP greeting).
  static Result<Client> Connect(const std::string& path, Deadline deadline);

  const Json& greeting() const { return greeting_; }

  // Runs qmp_capabilities; fails (kProtocol) if the server refuses it.
  Result<void> Negotiate(Deadline deadline);

  // Sends {"execute", "arguments" (if a non-empty object), "id"} and waits for its reply.
  Result<Reply> Execute(std::string_view command, const Json& arguments, Deadline deadline);
  // Execute, then the "return" value or the QMP error as an Error.
  Result<Json> Call(std::string_view command, const Json& arguments, Deadline deadline);

  // The next event (queued or read now).
  Result<Json> NextEvent(Deadline deadline);

  // Low level, for tests: raw bytes out; the next message of any kind in (events included,
  // bypassing the event queue).
  Result<void> SendRaw(std::string_view bytes, Deadline deadline);
  Result<Json> ReadMessage(Deadline deadline);

  int fd() const { return fd_.get(); }

 private:
  explicit Client(UniqueFd fd);

  UniqueFd fd_;
  JsonSplitter splitter_;
  Json greeting_;
  std::deque<Json> events_;
  uint64_t next_id_ = 1;
};

// Error for a QMP error reply: kNotFound for CommandNotFound, else kInvalidArgument;
// context "Class: desc".
Error QmpErrorToError(const QmpError& error);

}  // namespace ftvm::control
