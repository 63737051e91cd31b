#include "control/client.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <utility>

#include "base/io.h"
#include "base/socket.h"

namespace ftvm::control {
namespace {

// Replies can be large (trace-event-list, query-commands); requests are what the server bounds.
constexpr size_t kMaxReplyBytes = 16 * 1024 * 1024;

Reply ToReply(Json message) {
  Reply reply;
  if (auto it = message.find("id"); it != message.end()) reply.id = std::move(*it);
  if (auto it = message.find("error"); it != message.end()) {
    const Json& error = *it;
    QmpError qmp{std::string(kGenericError), "malformed error reply"};
    if (error.is_object() && error.contains("class") && error["class"].is_string() &&
        error.contains("desc") && error["desc"].is_string()) {
      qmp = QmpError{error["class"].get<std::string>(), error["desc"].get<std::string>()};
    }
    reply.error = std::move(qmp);
  } else {
    reply.value = std::move(message["return"]);
  }
  return reply;
}

}  // namespace

Error QmpErrorToError(const QmpError& error) {
  return Error(
      error.error_class == kCommandNotFound ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
      fmt::format("{}: {}", error.error_class, error.desc));
}

Client::Client(UniqueFd fd)
    : fd_(std::move(fd)), splitter_(SplitterLimits{.max_message_bytes = kMaxReplyBytes}) {}

Result<Client> Client::Connect(const std::string& path, Deadline deadline) {
  FTVM_ASSIGN_OR_RETURN(UniqueFd fd, UnixConnect(path));
  FTVM_TRY(SetNonBlocking(fd.get(), true));
  Client client(std::move(fd));
  FTVM_ASSIGN_OR_RETURN(Json greeting, client.ReadMessage(deadline));
  if (!greeting.is_object() || !greeting.contains("QMP") || !greeting["QMP"].is_object()) {
    return Fail(ErrorCode::kProtocol, "{}: not a QMP greeting: {}", path, DumpJson(greeting));
  }
  client.greeting_ = std::move(greeting);
  return client;
}

Result<void> Client::Negotiate(Deadline deadline) {
  FTVM_ASSIGN_OR_RETURN(Reply reply, Execute("qmp_capabilities", Json::object(), deadline));
  if (!reply.ok()) {
    return Fail(ErrorCode::kProtocol, "qmp_capabilities refused: {}", reply.error->desc);
  }
  return {};
}

Result<Reply> Client::Execute(std::string_view command, const Json& arguments, Deadline deadline) {
  const uint64_t id = next_id_++;
  Json request = {{"execute", command}};
  if (arguments.is_object() && !arguments.empty()) request["arguments"] = arguments;
  request["id"] = id;
  FTVM_TRY(SendRaw(DumpJson(request) + "\n", deadline));
  for (;;) {
    FTVM_ASSIGN_OR_RETURN(Json message, ReadMessage(deadline));
    if (message.contains("event")) {
      events_.push_back(std::move(message));
      continue;
    }
    if (!message.contains("return") && !message.contains("error")) {
      return Fail(ErrorCode::kProtocol, "unexpected message: {}", DumpJson(message));
    }
    Reply reply = ToReply(std::move(message));
    if (reply.id != Json(id)) {
      return Fail(ErrorCode::kProtocol, "reply for id {} while waiting for {}",
                  reply.id ? DumpJson(*reply.id) : "(none)", id);
    }
    return reply;
  }
}

Result<Json> Client::Call(std::string_view command, const Json& arguments, Deadline deadline) {
  FTVM_ASSIGN_OR_RETURN(Reply reply, Execute(command, arguments, deadline));
  if (!reply.ok()) return Fail(QmpErrorToError(*reply.error));
  return std::move(reply.value);
}

Result<Json> Client::NextEvent(Deadline deadline) {
  while (events_.empty()) {
    FTVM_ASSIGN_OR_RETURN(Json message, ReadMessage(deadline));
    if (!message.contains("event")) {
      return Fail(ErrorCode::kProtocol, "unexpected message while waiting for an event: {}",
                  DumpJson(message));
    }
    events_.push_back(std::move(message));
  }
  Json event = std::move(events_.front());
  events_.pop_front();
  return event;
}

Result<void> Client::SendRaw(std::string_view bytes, Deadline deadline) {
  return WriteAll(fd_.get(), std::as_bytes(std::span(bytes.data(), bytes.size())), deadline);
}

Result<Json> Client::ReadMessage(Deadline deadline) {
  for (;;) {
    FTVM_ASSIGN_OR_RETURN(std::optional<std::string> text, splitter_.Next());
    if (text) {
      FTVM_ASSIGN_OR_RETURN(Json message, ParseJson(*text));
      if (!message.is_object()) {
        return Fail(ErrorCode::kProtocol, "server sent a non-object: {}", *text);
      }
      return message;
    }
    std::array<char, 65536> buffer;
    const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
    if (n > 0) {
      splitter_.Append(std::string_view(buffer.data(), static_cast<size_t>(n)));
    } else if (n == 0) {
      return Fail(ErrorCode::kPeerLost, "the server closed the connection");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      FTVM_ASSIGN_OR_RETURN(const bool ready, WaitReadable(fd_.get(), deadline));
      if (!ready) return Fail(ErrorCode::kTimeout, "no reply from the server in time");
    } else if (errno == ECONNRESET || errno == EPIPE) {
      return std::unexpected<Error>(std::in_place, ErrorCode::kPeerLost,
                                    "the server reset the connection", errno);
    } else if (errno != EINTR) {
      return SysFail("read from control socket");
    }
  }
}

}  // namespace ftvm::control
