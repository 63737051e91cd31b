// Provider dispatch by URI scheme, and the provider-neutral helpers of rdma/channel.h.
#include "rdma/channel.h"

#include "rdma/tcp/tcp_provider.h"
#include "rdma/uri.h"
#include "rdma/verbs/verbs_provider.h"

namespace ftvm::rdma {
namespace {

// ---- SEAM(verbs) ------------------------------------------------------------------------------
// The verbs provider (rdma/verbs/, libibverbs + librdmacm). Without an RDMA device it fails with
// kUnsupported, which the conformance suite reports as a skip.
Result<std::unique_ptr<Channel>> ConnectVerbs(const HostPort& where,
                                              const ChannelOptions& options) {
  return verbs::Connect(where, options);
}
Result<std::unique_ptr<Listener>> ListenVerbs(const HostPort& where,
                                              const ChannelOptions& options) {
  return verbs::Listen(where, options);
}
// ---- end of SEAM(verbs) -----------------------------------------------------------------------

}  // namespace

std::string_view CompletionStatusName(CompletionStatus status) {
  switch (status) {
    case CompletionStatus::kSuccess:
      return "success";
    case CompletionStatus::kRemoteAccessError:
      return "remote access error";
    case CompletionStatus::kLocalProtectionError:
      return "local protection error";
    case CompletionStatus::kPeerLost:
      return "peer lost";
    case CompletionStatus::kProtocolError:
      return "protocol error";
    case CompletionStatus::kFlushed:
      return "flushed";
  }
  return "unknown";
}

Result<std::unique_ptr<Channel>> Connect(std::string_view uri, const ChannelOptions& options) {
  FTVM_ASSIGN_OR_RETURN(const Uri parsed, ParseUri(uri));
  Result<std::unique_ptr<Channel>> channel = parsed.scheme == Scheme::kTcp
                                                 ? tcp::Connect(parsed.where, options)
                                                 : ConnectVerbs(parsed.where, options);
  if (!channel) return Fail(std::move(channel.error()).Wrap(fmt::format("connect {}", uri)));
  return channel;
}

Result<std::unique_ptr<Listener>> Listen(std::string_view uri, const ChannelOptions& options) {
  FTVM_ASSIGN_OR_RETURN(const Uri parsed, ParseUri(uri));
  Result<std::unique_ptr<Listener>> listener = parsed.scheme == Scheme::kTcp
                                                   ? tcp::Listen(parsed.where, options)
                                                   : ListenVerbs(parsed.where, options);
  if (!listener) return Fail(std::move(listener.error()).Wrap(fmt::format("listen {}", uri)));
  return listener;
}

}  // namespace ftvm::rdma
