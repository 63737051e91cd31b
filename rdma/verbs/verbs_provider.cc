// Connection establishment of the verbs provider (verbs_provider.h): rdma_cm address and route
// resolution, connect / listen / accept with the private-data handshake of protocol.h.
#include "rdma/verbs/verbs_provider.h"

#include <algorithm>
#include <vector>

#include "rdma/log.h"
#include "rdma/verbs/cm.h"
#include "rdma/verbs/policy.h"
#include "rdma/verbs/protocol.h"
#include "rdma/verbs/verbs_channel.h"

namespace ftvm::rdma::verbs {
namespace {

using std::chrono::milliseconds;

int TimeoutMs(const Deadline& deadline) {
  return std::max(1, std::min(deadline.poll_timeout_ms(), 60'000));
}

Hello OurHello(const ChannelOptions& options) {
  return Hello{.recv_buffers = options.recv_credits + kReserveBuffers,
               .recv_credits = options.recv_credits,
               .max_message_bytes = options.max_message_bytes,
               .peer_timeout_ms = static_cast<uint32_t>(options.peer_timeout.count()),
               .keepalive_ms = static_cast<uint32_t>(options.keepalive_interval.count())};
}

QpConfig QpConfigFor(const ChannelOptions& options) {
  return QpConfig{.send_wr = options.send_queue_depth + kInternalSendSlots,
                  .recv_wr = options.recv_credits + kReserveBuffers,
                  .max_inline = options.max_inline_bytes};
}

// The receive buffers, every one posted (before connecting or accepting, so the peer never
// finds none).
Result<BufferPool> PostReceiveBuffers(const QueuePair& qp, const ChannelOptions& options) {
  const uint32_t count = options.recv_credits + kReserveBuffers;
  FTVM_ASSIGN_OR_RETURN(
      BufferPool pool,
      BufferPool::Create(qp.pd(), count, kMessageHeaderBytes + options.max_message_bytes,
                         IBV_ACCESS_LOCAL_WRITE));
  for (uint32_t i = 0; i < count; ++i) {
    ibv_sge sge{reinterpret_cast<uint64_t>(pool.slot(i).data()), pool.slot_bytes(), pool.lkey()};
    ibv_recv_wr wr{};
    wr.wr_id = VerbsChannel::kRecvTag | i;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    ibv_recv_wr* bad = nullptr;
    if (const int rc = ibv_post_recv(qp.qp(), &wr, &bad); rc != 0) {
      return ErrnoFail(rc, "ibv_post_recv (buffer {} of {})", i, count);
    }
  }
  return pool;
}

rdma_conn_param ConnParam(std::span<const std::byte> hello) {
  rdma_conn_param param{};
  param.private_data = hello.data();
  param.private_data_len = static_cast<uint8_t>(hello.size());
  param.retry_count = kRetryCount;
  param.rnr_retry_count = kRnrRetryCount;
  return param;
}

std::string DeviceName(rdma_cm_id* id) {
  return fmt::format("{}:{}", ibv_get_device_name(id->verbs->device), id->port_num);
}

Result<std::unique_ptr<Channel>> MakeChannel(ChannelSetup setup) {
  Log().info("verbs: connected {} -> {} on {}", setup.local_uri, setup.peer_uri, setup.device);
  FTVM_ASSIGN_OR_RETURN(auto channel, VerbsChannel::Create(std::move(setup)));
  return std::unique_ptr<Channel>(std::move(channel));
}

Result<void> ResolveRoute(rdma_event_channel* events, rdma_cm_id* id, const HostPort& where,
                          const ChannelOptions& options, const Deadline& deadline) {
  FTVM_ASSIGN_OR_RETURN(SocketAddress dst, ResolveHostPort(where));
  if (rdma_resolve_addr(id, nullptr, dst.get(), TimeoutMs(deadline)) != 0) {
    if (errno == ENODEV || errno == EADDRNOTAVAIL) {
      return Fail(ErrorCode::kUnsupported, "no RDMA device reaches {}", where.ToString());
    }
    return SysFail("rdma_resolve_addr({})", where.ToString());
  }
  FTVM_TRY(ExpectCmEvent(events, RDMA_CM_EVENT_ADDR_RESOLVED, deadline, "resolve address"));
  FTVM_TRY(SetAckTimeout(id, options.peer_timeout));
  if (rdma_resolve_route(id, TimeoutMs(deadline)) != 0) return SysFail("rdma_resolve_route");
  FTVM_TRY(ExpectCmEvent(events, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline, "resolve route"));
  return {};
}

class VerbsListener final : public Listener {
 public:
  VerbsListener(EventChannelPtr events, CmIdPtr id, ChannelOptions options)
      : events_(std::move(events)),
        id_(std::move(id)),
        options_(options),
        uri_(IdUri(id_.get(), /*peer=*/false)) {}

  std::string uri() const override { return uri_; }

  Result<std::unique_ptr<Channel>> Accept(Nanos timeout) override {
    const Deadline deadline(timeout);
    for (;;) {
      auto event = WaitCmEvent(events_.get(), deadline);
      if (!event) {
        if (event.error().code() == ErrorCode::kTimeout) {
          return Fail(ErrorCode::kTimeout, "no connection to {} in time", uri_);
        }
        return Fail(std::move(event.error()).Wrap("accept"));
      }
      if ((*event)->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
        Log().debug("verbs listener {}: ignoring {}", uri_, rdma_event_str((*event)->event));
        continue;
      }
      CmIdPtr id((*event)->id);
      const auto data = PrivateData(**event);
      const std::vector<std::byte> hello(data.begin(), data.end());
      event->reset();  // acknowledge before the id moves to its own channel
      return AcceptRequest(std::move(id), hello, Deadline(options_.connect_timeout));
    }
  }

 private:
  Result<std::unique_ptr<Channel>> AcceptRequest(CmIdPtr id, std::span<const std::byte> hello,
                                                 const Deadline& deadline) {
    const std::string peer_uri = IdUri(id.get(), /*peer=*/true);
    auto reject = [&](RejectReason reason, Error error) -> std::unexpected<Error> {
      const auto data = EncodeReject(Reject{.reason = reason});
      (void)rdma_reject(id.get(), data.data(), static_cast<uint8_t>(data.size()));
      Log().warn("verbs: rejected {}: {}", peer_uri, error.ToString());
      return std::unexpected(std::move(error).Wrap(fmt::format("rejected {}", peer_uri)));
    };
    auto peer = DecodeHello(hello);
    if (!peer) {
      const bool ours = hello.size() >= 4 && std::memcmp(hello.data(), &kHelloMagic, 4) == 0;
      return reject(ours ? RejectReason::kVersionMismatch : RejectReason::kBadHello,
                    std::move(peer.error()));
    }
    auto events = CreateEventChannel();
    if (!events) return reject(RejectReason::kNoResources, std::move(events.error()));
    if (rdma_migrate_id(id.get(), events->get()) != 0) {
      return reject(RejectReason::kNoResources, SysFail("rdma_migrate_id").error());
    }
    if (auto r = SetAckTimeout(id.get(), options_.peer_timeout); !r) {
      return reject(RejectReason::kNoResources, std::move(r.error()));
    }
    auto qp = QueuePair::Create(id.get(), QpConfigFor(options_));
    if (!qp) return reject(RejectReason::kNoResources, std::move(qp.error()));
    auto recv = PostReceiveBuffers(*qp, options_);
    if (!recv) return reject(RejectReason::kNoResources, std::move(recv.error()));
    const std::vector<std::byte> ours = EncodeHello(OurHello(options_));
    rdma_conn_param param = ConnParam(ours);
    if (rdma_accept(id.get(), &param) != 0) return SysFail("rdma_accept({})", peer_uri);
    FTVM_TRY(ExpectCmEvent(events->get(), RDMA_CM_EVENT_ESTABLISHED, deadline,
                           fmt::format("accept {}", peer_uri)));
    std::string local_uri = IdUri(id.get(), /*peer=*/false);
    std::string device = DeviceName(id.get());
    return MakeChannel(ChannelSetup{.events = std::move(*events),
                                    .id = std::move(id),
                                    .qp = std::move(*qp),
                                    .recv_buffers = std::move(*recv),
                                    .options = options_,
                                    .peer = *peer,
                                    .local_uri = std::move(local_uri),
                                    .peer_uri = peer_uri,
                                    .device = std::move(device)});
  }

  EventChannelPtr events_;
  CmIdPtr id_;
  ChannelOptions options_;
  std::string uri_;
};

}  // namespace

Result<void> ValidateOptions(const ChannelOptions& o) {
  auto bad = [](std::string_view what) {
    return Fail(ErrorCode::kInvalidArgument, "verbs channel options: {}", what);
  };
  if (o.connect_timeout.count() <= 0) return bad("connect_timeout must be positive");
  if (o.peer_timeout.count() <= 0 || o.keepalive_interval.count() <= 0 ||
      o.keepalive_interval >= o.peer_timeout || o.peer_timeout > milliseconds(UINT32_MAX)) {
    return bad("need 0 < keepalive_interval < peer_timeout");
  }
  if (o.send_queue_depth == 0 || o.send_queue_depth > (1u << 20)) {
    return bad("send_queue_depth must be in 1..1048576");
  }
  if (o.recv_credits == 0 || o.recv_credits > (1u << 16))
    return bad("recv_credits must be in 1..65536");
  if (o.max_message_bytes == 0 || o.max_message_bytes > (1u << 30)) {
    return bad("max_message_bytes must be in 1..1 GiB");
  }
  return {};
}

namespace {

Result<std::unique_ptr<Channel>> ConnectWith(const HostPort& where, const ChannelOptions& options,
                                             std::span<const std::byte> hello) {
  FTVM_TRY(ValidateOptions(options));
  if (hello.size() > kMaxConnectPrivateData) {
    return Fail(ErrorCode::kInvalidArgument, "private data of {} bytes", hello.size());
  }
  const Deadline deadline(options.connect_timeout);
  FTVM_ASSIGN_OR_RETURN(EventChannelPtr events, CreateEventChannel());
  FTVM_ASSIGN_OR_RETURN(CmIdPtr id, CreateId(events.get()));
  FTVM_TRY(ResolveRoute(events.get(), id.get(), where, options, deadline));
  FTVM_ASSIGN_OR_RETURN(QueuePair qp, QueuePair::Create(id.get(), QpConfigFor(options)));
  FTVM_ASSIGN_OR_RETURN(BufferPool recv, PostReceiveBuffers(qp, options));
  rdma_conn_param param = ConnParam(hello);
  if (rdma_connect(id.get(), &param) != 0) return SysFail("rdma_connect");
  FTVM_ASSIGN_OR_RETURN(
      CmEventPtr established,
      ExpectCmEvent(events.get(), RDMA_CM_EVENT_ESTABLISHED, deadline, "connect"));
  auto peer = DecodeHello(PrivateData(*established));
  established.reset();
  if (!peer) {
    (void)rdma_disconnect(id.get());
    return Fail(std::move(peer.error()).Wrap("the server's hello"));
  }
  std::string local_uri = IdUri(id.get(), /*peer=*/false);
  std::string peer_uri = IdUri(id.get(), /*peer=*/true);
  std::string device = DeviceName(id.get());
  return MakeChannel(ChannelSetup{.events = std::move(events),
                                  .id = std::move(id),
                                  .qp = std::move(qp),
                                  .recv_buffers = std::move(recv),
                                  .options = options,
                                  .peer = *peer,
                                  .local_uri = std::move(local_uri),
                                  .peer_uri = std::move(peer_uri),
                                  .device = std::move(device)});
}

}  // namespace

Result<std::unique_ptr<Channel>> Connect(const HostPort& where, const ChannelOptions& options) {
  return ConnectWith(where, options, EncodeHello(OurHello(options)));
}

Result<std::unique_ptr<Channel>> testing::ConnectWithPrivateData(
    const HostPort& where, const ChannelOptions& options, std::span<const std::byte> private_data) {
  return ConnectWith(where, options, private_data);
}

Result<std::unique_ptr<Listener>> Listen(const HostPort& where, const ChannelOptions& options) {
  FTVM_TRY(ValidateOptions(options));
  FTVM_ASSIGN_OR_RETURN(EventChannelPtr events, CreateEventChannel());
  FTVM_ASSIGN_OR_RETURN(CmIdPtr id, CreateId(events.get()));
  FTVM_ASSIGN_OR_RETURN(SocketAddress addr, ResolveHostPort(where));
  if (rdma_bind_addr(id.get(), addr.get()) != 0) {
    if (errno == ENODEV || errno == EADDRNOTAVAIL) {
      return Fail(ErrorCode::kUnsupported, "no RDMA device has address {}", where.host);
    }
    return SysFail("rdma_bind_addr({})", where.ToString());
  }
  if (rdma_listen(id.get(), 16) != 0) return SysFail("rdma_listen({})", where.ToString());
  return std::unique_ptr<Listener>(
      std::make_unique<VerbsListener>(std::move(events), std::move(id), options));
}

}  // namespace ftvm::rdma::verbs
