#include "control/connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <utility>

#include "control/protocol.h"

namespace ftvm::control {

std::string_view CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kNone:
      return "open";
    case CloseReason::kDone:
      return "client closed";
    case CloseReason::kPeerGone:
      return "connection lost";
    case CloseReason::kOversized:
      return "message too large";
    case CloseReason::kSlowReader:
      return "output backlog over the limit (client not reading)";
    case CloseReason::kServerStop:
      return "server stopping";
  }
  return "unknown";
}

Connection::Connection(UniqueFd fd, uint64_t id, const CommandRegistry& registry,
                       ConnectionLimits limits, std::string_view greeting)
    : fd_(std::move(fd)),
      id_(id),
      limits_(limits),
      session_(registry),
      splitter_(SplitterLimits{.max_message_bytes = limits.max_message_bytes}) {
  Queue(std::string(greeting));
}

void Connection::OnReadable() {
  if (close_reason_ != CloseReason::kNone) return;
  ProcessInput();  // texts left over from back-pressure go first
  if (input_open_ && fatal_ == CloseReason::kNone &&
      (output_bytes_ < limits_.soft_output_bytes || output_broken_)) {
    ReadOnce();
    ProcessInput();
  }
  Flush();
  UpdateState();
}

void Connection::OnWritable() {
  if (close_reason_ != CloseReason::kNone) return;
  Flush();
  if (output_bytes_ < limits_.soft_output_bytes) {
    ProcessInput();
    Flush();
  }
  UpdateState();
}

void Connection::QueueEvent(std::string_view line) {
  if (close_reason_ != CloseReason::kNone || !session_.negotiated()) return;
  Queue(std::string(line));
}

uint32_t Connection::WantedEvents() const {
  if (close_reason_ != CloseReason::kNone) return 0;
  uint32_t events = 0;
  if (input_open_ && fatal_ == CloseReason::kNone &&
      (output_bytes_ < limits_.soft_output_bytes || output_broken_)) {
    events |= EPOLLIN;
  }
  if (output_bytes_ > 0 && !output_broken_) events |= EPOLLOUT;
  return events;
}

void Connection::ReadOnce() {
  std::array<char, kReadChunk> buffer;
  const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n > 0) {
    splitter_.Append(std::string_view(buffer.data(), static_cast<size_t>(n)));
    input_drained_ = false;
  } else if (n == 0) {
    input_open_ = false;  // end of input: answer what was sent, then close
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    input_open_ = false;  // ECONNRESET and friends: nobody is there any more
    output_broken_ = true;
    output_.clear();
    output_bytes_ = 0;
    output_offset_ = 0;
  }
}

void Connection::ProcessInput() {
  while (fatal_ == CloseReason::kNone &&
         (output_bytes_ < limits_.soft_output_bytes || output_broken_)) {
    Result<std::optional<std::string>> text = splitter_.Next();
    if (!text) {
      // The stream cannot be resynchronised after an oversized text: say why, then close.
      Queue(EncodeError(QmpError::Generic(text.error().context()), std::nullopt));
      fatal_ = CloseReason::kOversized;
      return;
    }
    if (!*text) {
      input_drained_ = true;
      break;
    }
    Queue(session_.Handle(**text));
  }
  if (!input_open_ && input_drained_ && splitter_.in_text() && !eof_reported_) {
    Queue(EncodeError(QmpError::Generic("JSON parse error, premature end of input"), std::nullopt));
    eof_reported_ = true;
  }
}

void Connection::Queue(std::string line) {
  if (output_broken_) return;
  output_bytes_ += line.size();
  output_.push_back(std::move(line));
}

void Connection::Flush() {
  constexpr size_t kMaxIov = 64;
  while (!output_.empty() && !output_broken_) {
    std::array<iovec, kMaxIov> iov;
    size_t count = 0;
    for (auto it = output_.begin(); it != output_.end() && count < kMaxIov; ++it, ++count) {
      const size_t skip = count == 0 ? output_offset_ : 0;
      iov[count] = iovec{const_cast<char*>(it->data() + skip), it->size() - skip};
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      output_broken_ = true;  // EPIPE, ECONNRESET: the client is gone, drop what it cannot read
      output_.clear();
      output_bytes_ = 0;
      output_offset_ = 0;
      return;
    }
    output_bytes_ -= static_cast<size_t>(n);
    while (n > 0) {
      const size_t left = output_.front().size() - output_offset_;
      if (static_cast<size_t>(n) < left) {
        output_offset_ += static_cast<size_t>(n);
        break;
      }
      n -= static_cast<ssize_t>(left);
      output_.pop_front();
      output_offset_ = 0;
    }
  }
}

void Connection::UpdateState() {
  if (close_reason_ != CloseReason::kNone) return;
  if (fatal_ != CloseReason::kNone) {
    close_reason_ = fatal_;  // the final error got one non-blocking attempt; that is enough
  } else if (output_bytes_ > limits_.max_output_bytes) {
    close_reason_ = CloseReason::kSlowReader;
  } else if (!input_open_ && input_drained_ && (output_bytes_ == 0 || output_broken_)) {
    close_reason_ = output_broken_ ? CloseReason::kPeerGone : CloseReason::kDone;
  }
}

}  // namespace ftvm::control
