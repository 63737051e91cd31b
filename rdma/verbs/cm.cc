// librdmacm helpers (cm.h).
#include "rdma/verbs/cm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "base/io.h"
#include "rdma/verbs/policy.h"
#include "rdma/verbs/protocol.h"

namespace ftvm::rdma::verbs {

Result<EventChannelPtr> CreateEventChannel() {
  EventChannelPtr channel(rdma_create_event_channel());
  if (!channel) {
    const int err = errno;
    if (err == ENODEV || err == ENOENT || err == ENOSYS || err == ENXIO) {
      return std::unexpected(Error(ErrorCode::kUnsupported,
                                   "no RDMA device: rdma_create_event_channel failed (the kernel "
                                   "has no rdma_cm, or no device is present)",
                                   err));
    }
    return ErrnoFail(err, "rdma_create_event_channel");
  }
  FTVM_TRY_CTX(SetNonBlocking(channel->fd, true), "rdma event channel");
  return channel;
}

Result<CmIdPtr> CreateId(rdma_event_channel* channel) {
  rdma_cm_id* id = nullptr;
  if (rdma_create_id(channel, &id, nullptr, RDMA_PS_TCP) != 0) return SysFail("rdma_create_id");
  return CmIdPtr(id);
}

Result<CmEventPtr> WaitCmEvent(rdma_event_channel* channel, Deadline deadline) {
  for (;;) {
    rdma_cm_event* event = nullptr;
    if (rdma_get_cm_event(channel, &event) == 0) return CmEventPtr(event);
    if (errno != EAGAIN && errno != EINTR) return SysFail("rdma_get_cm_event");
    FTVM_ASSIGN_OR_RETURN(const bool readable, WaitReadable(channel->fd, deadline));
    if (!readable) return Fail(ErrorCode::kTimeout, "no connection-manager event in time");
  }
}

Result<CmEventPtr> ExpectCmEvent(rdma_event_channel* channel, rdma_cm_event_type expected,
                                 Deadline deadline, std::string_view step) {
  auto event = WaitCmEvent(channel, deadline);
  if (!event) return Fail(std::move(event.error()).Wrap(step));
  const rdma_cm_event& e = **event;
  if (e.event == expected) {
    if (e.status == 0) return event;
    return Fail(ErrorCode::kPeerLost, "{}: {} with status {}", step, rdma_event_str(e.event),
                e.status);
  }
  const char* name = rdma_event_str(e.event);
  switch (e.event) {
    case RDMA_CM_EVENT_REJECTED:
      return Fail(RejectError(PrivateData(e), e.status).Wrap(step));
    case RDMA_CM_EVENT_ADDR_ERROR:
      return Fail(ErrorCode::kPeerLost, "{}: cannot resolve the address to an RDMA device ({})",
                  step, name);
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_CONNECT_ERROR:
      return Fail(ErrorCode::kPeerLost, "{}: peer unreachable ({}, status {})", step, name,
                  e.status);
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
      return Fail(ErrorCode::kPeerLost, "{}: the RDMA device was removed", step);
    case RDMA_CM_EVENT_DISCONNECTED:
      return Fail(ErrorCode::kPeerLost, "{}: the peer disconnected", step);
    default:
      return Fail(ErrorCode::kProtocol, "{}: unexpected connection-manager event {}", step, name);
  }
}

Result<SocketAddress> ResolveHostPort(const HostPort& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = where.host.empty() ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(where.port);
  const int rc = ::getaddrinfo(where.host.empty() ? nullptr : where.host.c_str(), port.c_str(),
                               &hints, &found);
  if (rc != 0) {
    return Fail(ErrorCode::kInvalidArgument, "cannot resolve {}: {}", where.ToString(),
                ::gai_strerror(rc));
  }
  SocketAddress out;
  std::memcpy(&out.storage, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  return out;
}

std::string IdUri(rdma_cm_id* id, bool peer) {
  sockaddr* sa = peer ? rdma_get_peer_addr(id) : rdma_get_local_addr(id);
  char text[INET6_ADDRSTRLEN] = "?";
  HostPort hp;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    hp.port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    hp.port = ntohs(in6->sin6_port);
  }
  hp.host = text;
  return "rdma://" + hp.ToString();
}

Result<void> SetAckTimeout(rdma_cm_id* id, std::chrono::milliseconds peer_timeout) {
  uint8_t exponent = AckTimeoutExponent(peer_timeout);
  if (rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &exponent,
                      sizeof(exponent)) != 0) {
    return SysFail("rdma_set_option(ACK_TIMEOUT={})", exponent);
  }
  return {};
}

std::span<const std::byte> PrivateData(const rdma_cm_event& event) {
  if (event.param.conn.private_data == nullptr) return {};
  return {static_cast<const std::byte*>(event.param.conn.private_data),
          event.param.conn.private_data_len};
}

}  // namespace ftvm::rdma::verbs
