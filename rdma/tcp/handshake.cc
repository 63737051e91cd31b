#include "rdma/tcp/handshake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "base/io.h"

namespace ftvm::rdma::tcp {

Hello MakeHello(const ChannelOptions& options, uint16_t index, uint16_t streams,
                uint64_t connection_id) {
  Hello h;
  h.stream_index = index;
  h.streams = streams;
  h.connection_id = connection_id;
  h.recv_credits = options.recv_credits;
  h.max_message_bytes = options.max_message_bytes;
  h.send_queue_depth = options.send_queue_depth;
  h.peer_timeout_ms = static_cast<uint32_t>(options.peer_timeout.count());
  h.keepalive_interval_ms = static_cast<uint32_t>(options.keepalive_interval.count());
  return h;
}

Result<void> WriteHello(int fd, const Hello& hello, Deadline deadline) {
  const HeaderBytes header = EncodeFrameHeader(
      {.type = FrameType::kHello, .flags = 0, .count = 0, .body_bytes = kHelloBytes});
  const auto body = EncodeHello(hello);
  std::array<std::byte, kFrameHeaderBytes + kHelloBytes> bytes{};
  std::copy(header.begin(), header.end(), bytes.begin());
  std::copy(body.begin(), body.end(), bytes.begin() + kFrameHeaderBytes);
  FTVM_TRY_CTX(WriteAll(fd, bytes, deadline), "send hello");
  return {};
}

Result<Hello> ReadHello(int fd, Deadline deadline) {
  HeaderBytes header{};
  FTVM_TRY_CTX(ReadExact(fd, header, deadline), "read hello");
  FTVM_ASSIGN_OR_RETURN(const FrameHeader h,
                        DecodeFrameHeader(header, FrameLimits{.handshake = true}));
  std::array<std::byte, kHelloBytes> body{};
  if (h.body_bytes != body.size()) return Fail(ErrorCode::kProtocol, "hello of the wrong size");
  FTVM_TRY_CTX(ReadExact(fd, body, deadline), "read hello");
  return DecodeHello(body);
}

std::string SocketUri(int fd, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) < 0) return "tcp://?";
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return fmt::format("tcp://{}:{}", text, ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    return fmt::format("tcp://[{}]:{}", text, ntohs(in6->sin6_port));
  }
  return "tcp://?";
}

}  // namespace ftvm::rdma::tcp
