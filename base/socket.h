// TCP and Unix-domain socket helpers (set up once, used by the tcp provider and control/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"
#include "base/unique_fd.h"

namespace ftvm {

struct HostPort {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 0;
  std::string ToString() const;  // brackets IPv6 hosts: "[::1]:7000"
};

// Parses "host:port", "[v6addr]:port"; port 0 is allowed (listen on any free port).
Result<HostPort> ParseHostPort(std::string_view text);

// Listening TCP socket (SO_REUSEADDR, close-on-exec), blocking.
Result<UniqueFd> TcpListen(const HostPort& where, int backlog = 16);
// Connects within `deadline`; ECONNREFUSED becomes a kPeerLost error that says "refused".
// The returned socket is blocking, with TCP_NODELAY set.
Result<UniqueFd> TcpConnect(const HostPort& where, Deadline deadline);
// Accepts one connection within `deadline` (kTimeout otherwise), TCP_NODELAY set for TCP.
Result<UniqueFd> AcceptWithin(int listen_fd, Deadline deadline);

// The local port a socket is bound to (after listening on port 0).
Result<uint16_t> LocalPort(int fd);

Result<void> SetTcpNoDelay(int fd);
Result<void> SetSocketBuffers(int fd, int bytes);

// Unix stream sockets. UnixListen removes a stale socket file and creates the new one with
// `mode` (0600 by default: only the owner may control the process).
Result<UniqueFd> UnixListen(const std::string& path, unsigned mode = 0600, int backlog = 16);
Result<UniqueFd> UnixConnect(const std::string& path);

}  // namespace ftvm
