// Transport selection (transport.h).
#include "rdma/transport.h"

#include "rdma/log.h"
#include "rdma/verbs/verbs_provider.h"

namespace ftvm::rdma {

Result<Transport> ParseTransport(std::string_view text) {
  if (text == "auto") return Transport::kAuto;
  if (text == "verbs" || text == "rdma") return Transport::kVerbs;
  if (text == "tcp") return Transport::kTcp;
  return Fail(ErrorCode::kInvalidArgument, "unknown transport '{}' (use auto, verbs or tcp)", text);
}

std::string_view TransportName(Transport transport) {
  switch (transport) {
    case Transport::kAuto:
      return "auto";
    case Transport::kVerbs:
      return "verbs";
    case Transport::kTcp:
      return "tcp";
  }
  return "unknown";
}

Result<TransportChoice> ChooseTransport(Transport requested, const VerbsAvailability& verbs) {
  switch (requested) {
    case Transport::kTcp:
      return TransportChoice{Transport::kTcp, "tcp requested"};
    case Transport::kVerbs:
      if (!verbs.usable) {
        return Fail(ErrorCode::kUnsupported,
                    "--transport verbs needs a usable RDMA device, but {}; use --transport tcp, "
                    "or --transport auto to fall back to tcp",
                    verbs.summary);
      }
      return TransportChoice{Transport::kVerbs, fmt::format("verbs requested: {}", verbs.summary)};
    case Transport::kAuto:
      if (verbs.usable) {
        return TransportChoice{Transport::kVerbs, fmt::format("auto: {}", verbs.summary)};
      }
      return TransportChoice{Transport::kTcp,
                             fmt::format("auto: falling back to tcp because {}", verbs.summary)};
  }
  return Fail(ErrorCode::kInvalidArgument, "bad transport value");
}

Result<TransportChoice> ResolveTransport(Transport requested) {
  VerbsAvailability verbs;
  if (requested != Transport::kTcp) {
    const verbs::DeviceProbe probe = verbs::ProbeDevices();
    verbs = VerbsAvailability{probe.usable, probe.summary};
  }
  auto choice = ChooseTransport(requested, verbs);
  if (choice) Log().info("transport {}: {}", TransportName(choice->transport), choice->reason);
  return choice;
}

std::string TransportUri(Transport resolved, const HostPort& where) {
  return fmt::format("{}://{}", resolved == Transport::kVerbs ? "rdma" : "tcp", where.ToString());
}

}  // namespace ftvm::rdma
