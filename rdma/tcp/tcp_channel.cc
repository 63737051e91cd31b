// TcpChannel: the application-facing half (posting, polling, closing). The half driven by the
// stream threads (frames received, acknowledgements, failures) is in tcp_channel_rx.cc.
#include "rdma/tcp/tcp_channel.h"

#include <algorithm>

#include "rdma/log.h"
#include "rdma/trace_events.h"

namespace ftvm::rdma::tcp {
namespace {

using std::chrono::milliseconds;

// With several streams, a batch is cut into frames of about this many payload bytes so that it
// spreads over the streams.
constexpr uint64_t kStreamChunkBytes = 256 << 10;

std::string_view StateName(ChannelState state) {
  switch (state) {
    case ChannelState::kConnected:
      return "connected";
    case ChannelState::kError:
      return "in error";
    case ChannelState::kClosed:
      return "closed";
  }
  return "?";
}

}  // namespace

TcpChannel::TcpChannel(const ChannelSetup& setup)
    : options_(setup.options),
      peer_(setup.peer),
      sq_(setup.options.send_queue_depth),
      order_(setup.peer.send_queue_depth, setup.options.recv_credits) {
  info_.provider = "tcp";
  info_.local_uri = setup.local_uri;
  info_.peer_uri = setup.peer_uri;
  info_.send_queue_depth = options_.send_queue_depth;
  info_.recv_credits = peer_.recv_credits;
  info_.max_message_bytes = std::min(options_.max_message_bytes, peer_.max_message_bytes);
  info_.streams = static_cast<uint32_t>(setup.sockets.size());
  unsent_.resize(setup.sockets.size());
}

Result<std::unique_ptr<TcpChannel>> TcpChannel::Create(ChannelSetup setup) {
  std::unique_ptr<TcpChannel> channel(new TcpChannel(setup));
  // Probe often enough for the peer's timeout, whatever our own interval says.
  const milliseconds keepalive = std::max(
      milliseconds(1),
      std::min(setup.options.keepalive_interval, milliseconds(setup.peer.peer_timeout_ms / 4)));
  for (size_t i = 0; i < setup.sockets.size(); ++i) {
    StreamConfig config;
    config.index = static_cast<uint32_t>(i);
    config.keepalive_interval = keepalive;
    config.peer_timeout = setup.options.peer_timeout;
    config.limits.max_message_bytes = channel->info_.max_message_bytes;
    FrameHandler* handler = channel.get();  // private bases: convertible only in here
    StreamHost* host = channel.get();
    channel->streams_.push_back(std::make_unique<Stream>(std::move(setup.sockets[i]), config,
                                                         &channel->regions_, handler, host));
  }
  for (auto& stream : channel->streams_) FTVM_TRY_CTX(stream->Start(), "start stream");
  Log().info("tcp channel {} <-> {} up ({} streams, credits {}, max message {})",
             channel->info_.local_uri, channel->info_.peer_uri, channel->info_.streams,
             channel->info_.recv_credits, channel->info_.max_message_bytes);
  return channel;
}

TcpChannel::~TcpChannel() { Close(); }

ChannelState TcpChannel::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::optional<Error> TcpChannel::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

Result<MemoryRegion> TcpChannel::RegisterMemory(std::span<std::byte> memory, uint32_t access) {
  FTVM_ASSIGN_OR_RETURN(MemoryRegion region, regions_.Register(memory, access));
  trace_rdma_register(region.length, region.remote_addr(), region.lkey, region.rkey, access);
  return region;
}

Result<void> TcpChannel::DeregisterMemory(const MemoryRegion& region) {
  FTVM_TRY(regions_.Deregister(region));
  trace_rdma_deregister(region.lkey, region.rkey, region.length);
  return {};
}

Result<void> TcpChannel::CheckPostableLocked(size_t requests) const {
  if (state_ != ChannelState::kConnected) {
    return Fail(ErrorCode::kFlushed, "channel {}: {}", StateName(state_),
                error_ ? error_->ToString() : "");
  }
  if (requests > sq_.free_slots()) {
    return Fail(ErrorCode::kResourceExhausted, "send queue full: {} requests, {} of {} slots free",
                requests, sq_.free_slots(), sq_.depth());
  }
  return {};
}

Result<void> TcpChannel::PostWrites(std::span<const WriteRequest> writes) {
  std::lock_guard lock(mu_);
  FTVM_TRY(CheckPostableLocked(writes.size()));
  FTVM_TRY(regions_.CheckSources(writes));
  size_t i = 0;
  while (i < writes.size()) {
    size_t n = 0;
    uint64_t bytes = 0;
    while (i + n < writes.size() && n < kMaxWritesPerFrame &&
           (n == 0 || streams_.size() == 1 || bytes < kStreamChunkBytes)) {
      bytes += writes[i + n].length;
      ++n;
    }
    const bool single = i == 0 && n == writes.size();
    DispatchLocked(BuildWritesFrameLocked(writes.subspan(i, n)), single);
    i += n;
  }
  return {};
}

OutFrame TcpChannel::BuildWritesFrameLocked(std::span<const WriteRequest> writes) {
  OutFrame f;
  f.first_seq = sq_.next_seq();
  f.writes.assign(writes.begin(), writes.end());
  f.body.reserve(writes.size() * kWriteDescriptorBytes);
  f.payload.reserve(writes.size());
  FrameHeader h{.type = FrameType::kWrites,
                .flags = 0,
                .count = static_cast<uint16_t>(writes.size()),
                .body_bytes = static_cast<uint32_t>(writes.size() * kWriteDescriptorBytes),
                .seq = f.first_seq,
                .aux = 0};
  for (const WriteRequest& w : writes) {
    sq_.Push(w.wr_id, Opcode::kWrite, w.signaled);
    if (w.signaled) h.flags |= kFlagAckRequested;
    AppendWriteDescriptor(&f.body, {w.remote_addr, w.rkey, w.length});
    if (w.length > 0) {
      // iovec wants a non-const pointer; the sender only reads through it.
      f.payload.push_back(iovec{const_cast<std::byte*>(w.local_addr), w.length});
    }
    h.aux += w.length;
    trace_rdma_write_post(w.wr_id, w.remote_addr, w.length, w.rkey, w.signaled);
  }
  f.header = EncodeFrameHeader(h);
  return f;
}

Result<void> TcpChannel::PostSend(std::span<const std::byte> message, uint64_t wr_id,
                                  bool signaled) {
  std::lock_guard lock(mu_);
  FTVM_TRY(CheckPostableLocked(1));
  if (message.size() > info_.max_message_bytes) {
    return Fail(ErrorCode::kInvalidArgument, "message of {} bytes exceeds the maximum of {}",
                message.size(), info_.max_message_bytes);
  }
  OutFrame f;
  f.is_send = true;
  f.body.assign(message.begin(), message.end());
  f.first_seq = sq_.Push(wr_id, Opcode::kSend, signaled);
  f.header = EncodeFrameHeader({.type = FrameType::kSend,
                                .flags = signaled ? uint8_t{kFlagAckRequested} : uint8_t{0},
                                .count = 0,
                                .body_bytes = static_cast<uint32_t>(message.size()),
                                .seq = f.first_seq,
                                .aux = 0});
  trace_rdma_send(wr_id, static_cast<uint32_t>(message.size()), signaled);
  DispatchLocked(std::move(f), /*inline_ok=*/true);
  return {};
}

uint64_t TcpChannel::CreditsLocked() const {
  return peer_.recv_credits - (sends_transmitted_ - peer_consumed_);
}

void TcpChannel::DispatchLocked(OutFrame frame, bool inline_ok) {
  // FIFO behind a send that waits for a credit: nothing overtakes it (as on a verbs QP).
  if (!blocked_.empty() || (frame.is_send && CreditsLocked() == 0)) {
    blocked_.push_back(std::move(frame));
    trace_rdma_tcp_credit_stall(static_cast<uint32_t>(blocked_.size()));
    return;
  }
  TransmitLocked(std::move(frame), inline_ok);
}

void TcpChannel::TransmitLocked(OutFrame frame, bool inline_ok) {
  if (!frame.writes.empty()) {
    // Pinned now, not at post time: a frame stuck behind a credit pins nothing, so deregistering
    // its source fails the request (as verbs would) instead of waiting for the peer.
    if (auto pinned = regions_.CheckSources(frame.writes, &frame.pins); !pinned) {
      FailLocked(std::move(pinned.error()).Wrap("source deregistered before transmission"), {},
                 frame.first_seq, CompletionStatus::kLocalProtectionError);
      return;
    }
  }
  if (frame.is_send) ++sends_transmitted_;
  const size_t stream = next_stream_++ % streams_.size();
  const uint64_t first_seq = frame.first_seq;
  if (streams_[stream]->Send(std::move(frame), inline_ok) == Stream::SendResult::kQueued) {
    unsent_[stream].push_back(first_seq);  // the sender thread reports when it is written
  }
}

Result<size_t> TcpChannel::Poll(std::span<Completion> out, Nanos timeout) {
  if (out.empty()) return Fail(ErrorCode::kInvalidArgument, "Poll needs room for a completion");
  std::unique_lock lock(mu_);
  const auto ready = [&] { return !cq_.empty() || state_ != ChannelState::kConnected; };
  // Anything beyond a day is "forever": wait_for(Nanos::max()) would overflow the clock.
  if (!ready() && (timeout.count() < 0 || timeout > std::chrono::hours(24))) {
    completions_cv_.wait(lock, ready);
  } else if (!ready() && timeout.count() > 0) {
    completions_cv_.wait_for(lock, timeout, ready);
  }
  if (cq_.empty()) {
    if (state_ != ChannelState::kConnected) return Fail(*error_);
    return size_t{0};
  }
  size_t n = 0;
  bool consumed = false;
  for (; n < out.size() && !cq_.empty(); ++n) {
    QueuedCompletion& q = cq_.front();
    Completion& c = out[n];
    c.wr_id = q.completion.wr_id;
    c.opcode = q.completion.opcode;
    c.status = q.completion.status;
    if (c.opcode == Opcode::kRecv) {
      std::swap(c.message, q.completion.message);  // the caller's old buffer becomes ours
      Recycle(std::move(q.completion.message));
      order_.Consume();
      consumed = true;
    } else {
      c.message.clear();
    }
    if (q.release_seq != kNoSeq) sq_.Release(q.release_seq);
    trace_rdma_completion(c.wr_id, static_cast<uint32_t>(c.opcode),
                          static_cast<uint32_t>(c.status));
    cq_.pop_front();
  }
  if (consumed) {
    consumed_.store(order_.consumed(), std::memory_order_relaxed);
    // Return credits in groups (a quarter of the window), so the peer never waits long.
    const uint64_t group = std::max<uint64_t>(1, options_.recv_credits / 4);
    if (state_ == ChannelState::kConnected && order_.consumed() - consumed_reported_ >= group) {
      consumed_reported_ = order_.consumed();
      streams_[0]->RequestAck();
    }
  }
  trace_rdma_poll(static_cast<uint32_t>(n));
  return n;
}

void TcpChannel::Recycle(MessageBuffer buffer) {
  std::lock_guard lock(pool_mu_);
  if (buffer.capacity() > 0 && buffer_pool_.size() < options_.recv_credits) {
    buffer.clear();
    buffer_pool_.push_back(std::move(buffer));
  }
}

void TcpChannel::Close() {
  {
    std::lock_guard lock(mu_);
    if (state_ == ChannelState::kConnected) {
      const FrameHeader close{.type = FrameType::kClose};
      const HeaderBytes bytes = EncodeFrameHeader(close);
      FailLocked(Error(ErrorCode::kClosed, "channel closed"), {bytes.begin(), bytes.end()});
    }
    state_ = ChannelState::kClosed;
  }
  StopStreams(std::min(options_.peer_timeout, milliseconds(1000)));
}

void TcpChannel::Shutdown() {
  std::lock_guard lock(mu_);
  if (state_ == ChannelState::kConnected) {
    FailLocked(Error(ErrorCode::kAborted, "channel shut down"), {});
  }
  state_ = ChannelState::kClosed;
  for (auto& stream : streams_) stream->Abort();
  completions_cv_.notify_all();
}

void TcpChannel::StopStreams(milliseconds linger) {
  const Deadline deadline(linger);
  for (auto& stream : streams_) (void)stream->WaitFinished(deadline);
  for (auto& stream : streams_) stream->Abort();
  for (auto& stream : streams_) stream->Join();
}

}  // namespace ftvm::rdma::tcp
