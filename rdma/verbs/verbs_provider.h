// The verbs provider's entry points (libibverbs + librdmacm), for rdma/channel.cc's URI dispatch
// and rdma/transport.h. This header includes no verbs header: nothing outside rdma/verbs/ does.
//
// Connect / Listen speak rdma:// (protocol.h): librdmacm resolves the host to an RDMA device,
// one RC queue pair per connection. Errors (besides rdma/channel.h's list): kUnsupported "no
// RDMA device" when the kernel has no RDMA stack or no device can reach the address; kProtocol
// for a peer of another protocol version (both versions named); kPeerLost when refused or
// unreachable; kTimeout after options.connect_timeout.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/socket.h"
#include "rdma/channel.h"

namespace ftvm::rdma::verbs {

Result<std::unique_ptr<Channel>> Connect(const HostPort& where, const ChannelOptions& options);
Result<std::unique_ptr<Listener>> Listen(const HostPort& where, const ChannelOptions& options);

// What this host offers. No RDMA in the kernel (ibv_get_device_list fails with ENOSYS) and an
// empty device list are normal answers (usable = false), not errors.
struct DeviceProbe {
  bool usable = false;             // a device with an ACTIVE port, and the rdma_cm device
  std::string summary;             // why (not) usable, for logs and error messages
  std::vector<std::string> ports;  // "rxe0:1 ACTIVE Ethernet", one per port
};
DeviceProbe ProbeDevices();

// kInvalidArgument naming the first option the provider cannot use.
Result<void> ValidateOptions(const ChannelOptions& options);

namespace testing {
// Connect() sending `private_data` (at most 56 bytes) instead of our hello: for tests of the
// handshake's failures (another protocol version, garbage).
Result<std::unique_ptr<Channel>> ConnectWithPrivateData(const HostPort& where,
                                                        const ChannelOptions& options,
                                                        std::span<const std::byte> private_data);
}  // namespace testing

}  // namespace ftvm::rdma::verbs
