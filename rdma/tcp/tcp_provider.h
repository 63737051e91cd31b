// Entry points of the tcp provider (used by rdma/channel.cc for "tcp://" URIs).
//
// Connection setup (docs/protocol.md): the connecting side opens stream 0 and sends a hello
// (connection id 0); the listener answers with its own hello carrying a fresh connection id.
// The connector then opens streams 1..n-1, each starting with a hello naming that id and its
// index; once every stream is there the listener answers each with a hello, and both sides
// build the channel. Connect() returns only after the listener accepted the whole connection.
#pragma once

#include <memory>

#include "base/result.h"
#include "base/socket.h"
#include "rdma/channel.h"

namespace ftvm::rdma::tcp {

// kInvalidArgument for options out of range (streams 1..16, non-zero limits, keepalive
// shorter than the peer timeout).
Result<void> ValidateOptions(const ChannelOptions& options);

// Errors: kPeerLost ("refused") when nobody listens, kTimeout after options.connect_timeout,
// kProtocol when the other end is not an ftvm tcp listener or speaks another version.
Result<std::unique_ptr<Channel>> Connect(const HostPort& where, const ChannelOptions& options);

// Listens on `where` (port 0: any free port; Listener::uri() has the real one). Accept()
// ignores (and logs) connections that do not start with a valid hello, so a port scanner or a
// stray client cannot make it fail; it returns kTimeout when no connection completes in time.
Result<std::unique_ptr<Listener>> Listen(const HostPort& where, const ChannelOptions& options);

}  // namespace ftvm::rdma::tcp
