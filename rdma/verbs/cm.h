// librdmacm helpers: event channels, bounded waits for connection-manager events, and the
// error each unexpected event means.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "base/result.h"
#include "base/socket.h"
#include "base/time.h"
#include "rdma/verbs/raii.h"

namespace ftvm::rdma::verbs {

// A non-blocking event channel. No RDMA stack in the kernel (ENODEV, ENOENT, ENOSYS) is
// kUnsupported "no RDMA device", any other failure kSys.
Result<EventChannelPtr> CreateEventChannel();

// Creates an RC (RDMA_PS_TCP) id on `channel`.
Result<CmIdPtr> CreateId(rdma_event_channel* channel);

// The next event within `deadline` (kTimeout otherwise).
Result<CmEventPtr> WaitCmEvent(rdma_event_channel* channel, Deadline deadline);
// The next event, which must be `expected`; any other is turned into the error it means
// (unreachable, rejected, address or route error: kPeerLost; a foreign reject: see
// protocol.h RejectError). `step` names what was being waited for.
Result<CmEventPtr> ExpectCmEvent(rdma_event_channel* channel, rdma_cm_event_type expected,
                                 Deadline deadline, std::string_view step);

// Resolves a host name or address literal (IPv4 or IPv6) and port to a socket address.
struct SocketAddress {
  sockaddr_storage storage{};
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};
Result<SocketAddress> ResolveHostPort(const HostPort& where);
// "rdma://addr:port" for a bound or connected id (local or peer side).
std::string IdUri(rdma_cm_id* id, bool peer);

// Sets the transport ACK timeout so that retries to a dead peer end within `peer_timeout`.
Result<void> SetAckTimeout(rdma_cm_id* id, std::chrono::milliseconds peer_timeout);

// The private data of a connection event (empty if none).
std::span<const std::byte> PrivateData(const rdma_cm_event& event);

}  // namespace ftvm::rdma::verbs
