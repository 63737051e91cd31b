// Transport URIs: "tcp://host:port" (the user-space tcp provider) and "rdma://host:port" (verbs:
// librdmacm resolves host to an RDMA device). IPv6 hosts are bracketed: "tcp://[::1]:7000".
// Port 0 is allowed for listening (the listener reports the real port).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/socket.h"

namespace ftvm::rdma {

enum class Scheme : uint8_t { kTcp, kRdma };

std::string_view SchemeName(Scheme scheme);  // "tcp", "rdma"

struct Uri {
  Scheme scheme = Scheme::kTcp;
  HostPort where;
  std::string ToString() const;  // "tcp://127.0.0.1:7000"
};

// kInvalidArgument naming the problem for an unknown scheme, missing port, or trailing text.
Result<Uri> ParseUri(std::string_view text);

}  // namespace ftvm::rdma
