// Transport selection for command lines and configuration: `--transport auto|verbs|tcp`.
//
//   verbs  the RDMA provider (rdma://); needs a usable device: a port in state ACTIVE and the
//          rdma_cm device. Without one, resolution fails with kUnsupported saying why.
//   tcp    the user-space provider (tcp://), works anywhere.
//   auto   verbs when a usable device exists, else tcp; the choice and its reason are logged.
// No RDMA in the kernel (ibv_get_device_list fails with ENOSYS) or an empty device list is an
// ordinary "no device" answer, not an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/socket.h"

namespace ftvm::rdma {

enum class Transport : uint8_t { kAuto, kVerbs, kTcp };

// "auto", "verbs" or "tcp" (also "rdma" for verbs); kInvalidArgument listing the choices.
Result<Transport> ParseTransport(std::string_view text);
std::string_view TransportName(Transport transport);

struct VerbsAvailability {
  bool usable = false;
  std::string summary;  // e.g. "the kernel has no RDMA support (ibv_get_device_list: ENOSYS)"
};

struct TransportChoice {
  Transport transport = Transport::kTcp;  // kVerbs or kTcp, never kAuto
  std::string reason;
};

// The pure rule above, for a given device situation.
Result<TransportChoice> ChooseTransport(Transport requested, const VerbsAvailability& verbs);
// Probes this host's devices (only when needed: not for tcp), applies the rule and logs it.
Result<TransportChoice> ResolveTransport(Transport requested);

// "rdma://host:port" or "tcp://host:port" for a resolved transport.
std::string TransportUri(Transport resolved, const HostPort& where);

}  // namespace ftvm::rdma
