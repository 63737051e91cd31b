// One control-socket client on the server thread: non-blocking reads into a JsonSplitter, a
// Session, and a bounded output queue. Not thread-safe (the server thread owns it).
//
// Bounds, so no client can block the server or grow its memory:
//   - input: one read of kReadChunk bytes per readiness event (fairness between clients); a
//     text larger than max_message_bytes gets an error reply, then the connection closes;
//   - replies: while more than soft_output_bytes wait to be sent, the connection stops reading
//     requests (the client's own writes then block: back-pressure, as QEMU's monitor does);
//   - events: queued regardless, and a client whose backlog exceeds max_output_bytes is
//     disconnected (it is not reading).
// A client that half-closes (shutdown(SHUT_WR)) still gets the replies to everything it sent;
// one whose socket is gone still has its complete requests executed (e.g. a fire-and-forget
// "quit"), then it is closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "control/session.h"
#include "control/splitter.h"

namespace ftvm::control {

struct ConnectionLimits {
  size_t max_message_bytes = 64 * 1024;
  size_t soft_output_bytes = 64 * 1024;
  size_t max_output_bytes = 1024 * 1024;
};

enum class CloseReason : uint8_t {
  kNone,        // still open
  kDone,        // the client closed and everything was answered
  kPeerGone,    // the socket failed (reset, broken pipe)
  kOversized,   // a message exceeded the limits
  kSlowReader,  // the output backlog exceeded max_output_bytes
  kServerStop,
};
std::string_view CloseReasonName(CloseReason reason);

class Connection {
 public:
  static constexpr size_t kReadChunk = 4096;

  // Queues the greeting. `fd` must be a non-blocking stream socket.
  Connection(UniqueFd fd, uint64_t id, const CommandRegistry& registry, ConnectionLimits limits,
             std::string_view greeting);

  // Readiness handlers: never block, never throw.
  void OnReadable();
  void OnWritable();
  // Queues one event line for a negotiated client (ignored before negotiation).
  void QueueEvent(std::string_view line);

  // EPOLLIN / EPOLLOUT the connection wants now.
  uint32_t WantedEvents() const;
  // Not kNone once the connection should be closed.
  CloseReason close_reason() const { return close_reason_; }
  void Close(CloseReason reason) { close_reason_ = reason; }

  int fd() const { return fd_.get(); }
  uint64_t id() const { return id_; }
  size_t output_bytes() const { return output_bytes_; }
  bool negotiated() const { return session_.negotiated(); }
  const Session& session() const { return session_; }

 private:
  void ReadOnce();
  void ProcessInput();
  void Queue(std::string line);
  void Flush();
  void UpdateState();

  UniqueFd fd_;
  uint64_t id_;
  ConnectionLimits limits_;
  Session session_;
  JsonSplitter splitter_;
  std::deque<std::string> output_;
  size_t output_offset_ = 0;                // bytes of output_.front() already sent
  size_t output_bytes_ = 0;                 // unsent bytes in output_
  bool input_open_ = true;                  // false after end of input
  bool input_drained_ = true;               // no complete text left in splitter_
  bool eof_reported_ = false;               // the "premature end of input" error was queued
  bool output_broken_ = false;              // the socket cannot be written: replies are dropped
  CloseReason fatal_ = CloseReason::kNone;  // close once the final error had its chance
  CloseReason close_reason_ = CloseReason::kNone;
};

}  // namespace ftvm::control
