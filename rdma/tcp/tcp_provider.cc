#include "rdma/tcp/tcp_provider.h"

#include <algorithm>
#include <random>
#include <vector>

#include "base/io.h"
#include "rdma/log.h"
#include "rdma/tcp/greeter.h"
#include "rdma/tcp/handshake.h"
#include "rdma/tcp/tcp_channel.h"
#include "rdma/trace_events.h"

namespace ftvm::rdma::tcp {
namespace {

using std::chrono::milliseconds;

// A connection the listener is assembling: stream 0 arrived, others may still be missing.
struct PendingConnection {
  uint64_t id = 0;
  Hello hello;                    // the peer's stream-0 hello
  std::vector<UniqueFd> streams;  // by index; invalid until that stream arrives
  size_t present = 0;
  uint64_t expires_ns = 0;
};

Result<std::unique_ptr<Channel>> BuildChannel(std::vector<UniqueFd> sockets,
                                              const ChannelOptions& options, const Hello& peer) {
  ChannelSetup setup;
  setup.local_uri = SocketUri(sockets[0].get(), /*peer=*/false);
  setup.peer_uri = SocketUri(sockets[0].get(), /*peer=*/true);
  setup.sockets = std::move(sockets);
  setup.options = options;
  setup.peer = peer;
  FTVM_ASSIGN_OR_RETURN(std::unique_ptr<TcpChannel> channel, TcpChannel::Create(std::move(setup)));
  return std::unique_ptr<Channel>(std::move(channel));
}

class TcpListener final : public Listener {
 public:
  TcpListener(UniqueFd fd, const ChannelOptions& options, std::string uri)
      : fd_(std::move(fd)),
        options_(options),
        uri_(std::move(uri)),
        greeter_(fd_.get(), options.connect_timeout, uri_),
        rng_(std::random_device{}()) {}

  std::string uri() const override { return uri_; }

  Result<std::unique_ptr<Channel>> Accept(Nanos timeout) override {
    const Deadline deadline(timeout);
    for (;;) {
      std::erase_if(pending_,
                    [](const PendingConnection& p) { return p.expires_ns < MonotonicNs(); });
      FTVM_ASSIGN_OR_RETURN(Greeter::Greeting greeting, greeter_.Next(deadline));
      auto done = Admit(std::move(greeting.fd), greeting.hello);
      if (!done) {
        Log().warn("listener {}: {}", uri_, done.error().ToString());
        continue;
      }
      if (*done != nullptr) return std::move(*done);
    }
  }

 private:
  // Adds a stream to its connection; returns the channel when it is complete, null otherwise.
  Result<std::unique_ptr<Channel>> Admit(UniqueFd fd, const Hello& hello) {
    if (hello.stream_index == 0) {
      if (hello.connection_id != 0) return Fail(ErrorCode::kProtocol, "stream 0 with an id");
      PendingConnection p;
      do {
        p.id = rng_();
      } while (p.id == 0);
      p.hello = hello;
      p.streams.resize(hello.streams);
      p.expires_ns = MonotonicNs() + static_cast<uint64_t>(Nanos(options_.connect_timeout).count());
      FTVM_TRY(WriteHello(fd.get(), MakeHello(options_, 0, hello.streams, p.id),
                          Deadline(options_.connect_timeout)));
      p.streams[0] = std::move(fd);
      p.present = 1;
      pending_.push_back(std::move(p));
      return Complete(pending_.end() - 1);
    }
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const PendingConnection& p) { return p.id == hello.connection_id; });
    if (it == pending_.end() || hello.streams != it->streams.size() ||
        it->streams[hello.stream_index].valid()) {
      return Fail(ErrorCode::kProtocol, "stream {} names no pending connection",
                  hello.stream_index);
    }
    it->streams[hello.stream_index] = std::move(fd);
    ++it->present;
    return Complete(it);
  }

  Result<std::unique_ptr<Channel>> Complete(std::vector<PendingConnection>::iterator it) {
    if (it->present < it->streams.size()) return std::unique_ptr<Channel>();
    PendingConnection p = std::move(*it);
    pending_.erase(it);
    const auto n = static_cast<uint16_t>(p.streams.size());
    for (uint16_t i = 1; i < n; ++i) {
      FTVM_TRY(WriteHello(p.streams[i].get(), MakeHello(options_, i, n, p.id),
                          Deadline(options_.connect_timeout)));
    }
    trace_rdma_accept(p.id, n);
    return BuildChannel(std::move(p.streams), options_, p.hello);
  }

  UniqueFd fd_;
  ChannelOptions options_;
  std::string uri_;
  Greeter greeter_;
  std::mt19937_64 rng_;
  std::vector<PendingConnection> pending_;
};

}  // namespace

Result<void> ValidateOptions(const ChannelOptions& o) {
  const auto bad = [](std::string_view what) {
    return Fail(ErrorCode::kInvalidArgument, "channel options: {}", what);
  };
  if (o.streams < 1 || o.streams > kMaxStreams) return bad("streams must be 1..16");
  if (o.send_queue_depth == 0 || o.send_queue_depth > (1u << 20)) {
    return bad("send_queue_depth must be 1..1M");
  }
  if (o.recv_credits == 0 || o.recv_credits > 65536) return bad("recv_credits must be 1..65536");
  if (o.max_message_bytes == 0 || o.max_message_bytes > kMaxMessageBytesLimit) {
    return bad("max_message_bytes must be 1..64 MiB");
  }
  if (o.peer_timeout.count() <= 0 || o.keepalive_interval.count() <= 0 ||
      o.keepalive_interval >= o.peer_timeout || o.peer_timeout > milliseconds(UINT32_MAX)) {
    return bad("need 0 < keepalive_interval < peer_timeout");
  }
  if (o.connect_timeout.count() <= 0) return bad("connect_timeout must be positive");
  return {};
}

Result<std::unique_ptr<Channel>> Connect(const HostPort& where, const ChannelOptions& options) {
  FTVM_TRY(ValidateOptions(options));
  const Deadline deadline(options.connect_timeout);
  const auto n = static_cast<uint16_t>(options.streams);
  std::vector<UniqueFd> sockets;
  FTVM_ASSIGN_OR_RETURN(UniqueFd first, TcpConnect(where, deadline));
  FTVM_TRY(SetNonBlocking(first.get(), true));
  FTVM_TRY(WriteHello(first.get(), MakeHello(options, 0, n, 0), deadline));
  FTVM_ASSIGN_OR_RETURN(const Hello peer, ReadHello(first.get(), deadline));
  if (peer.stream_index != 0 || peer.streams != n || peer.connection_id == 0) {
    return Fail(ErrorCode::kProtocol, "listener answered stream 0 with stream {} of {}",
                peer.stream_index, peer.streams);
  }
  sockets.push_back(std::move(first));
  for (uint16_t i = 1; i < n; ++i) {
    FTVM_ASSIGN_OR_RETURN(UniqueFd fd, TcpConnect(where, deadline));
    FTVM_TRY(SetNonBlocking(fd.get(), true));
    FTVM_TRY(WriteHello(fd.get(), MakeHello(options, i, n, peer.connection_id), deadline));
    sockets.push_back(std::move(fd));
  }
  for (uint16_t i = 1; i < n; ++i) {
    FTVM_ASSIGN_OR_RETURN(const Hello ack, ReadHello(sockets[i].get(), deadline));
    if (ack.stream_index != i || ack.connection_id != peer.connection_id) {
      return Fail(ErrorCode::kProtocol, "listener answered stream {} for stream {}",
                  ack.stream_index, i);
    }
  }
  trace_rdma_connect(where.port, n);
  return BuildChannel(std::move(sockets), options, peer);
}

Result<std::unique_ptr<Listener>> Listen(const HostPort& where, const ChannelOptions& options) {
  FTVM_TRY(ValidateOptions(options));
  FTVM_ASSIGN_OR_RETURN(UniqueFd fd, TcpListen(where));
  FTVM_TRY(SetNonBlocking(fd.get(), true));  // the Greeter accepts only after poll() said so
  FTVM_ASSIGN_OR_RETURN(const uint16_t port, LocalPort(fd.get()));
  const std::string uri = fmt::format("tcp://{}", HostPort{where.host, port}.ToString());
  return std::unique_ptr<Listener>(new TcpListener(std::move(fd), options, uri));
}

}  // namespace ftvm::rdma::tcp
