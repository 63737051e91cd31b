// The hello exchange at the start of every stream (see tcp_provider.h), over a socket in
// non-blocking mode so every step is bounded by a deadline.
#pragma once

#include <string>

#include "base/result.h"
#include "base/time.h"
#include "rdma/channel.h"
#include "rdma/tcp/frame.h"

namespace ftvm::rdma::tcp {

// Our hello for stream `index` of `streams`.
Hello MakeHello(const ChannelOptions& options, uint16_t index, uint16_t streams,
                uint64_t connection_id);

Result<void> WriteHello(int fd, const Hello& hello, Deadline deadline);
// kProtocol for anything but a valid hello; kPeerLost/kClosed when the peer hangs up.
Result<Hello> ReadHello(int fd, Deadline deadline);

// "tcp://addr:port" of the socket's local end or of its peer.
std::string SocketUri(int fd, bool peer);

}  // namespace ftvm::rdma::tcp
