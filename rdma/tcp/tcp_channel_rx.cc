// TcpChannel: the half driven by the stream threads. Every callback takes mu_ briefly and
// ignores what arrives once the channel has left kConnected.
#include <algorithm>

#include "rdma/log.h"
#include "rdma/tcp/tcp_channel.h"
#include "rdma/trace_events.h"

namespace ftvm::rdma::tcp {
namespace {

std::vector<std::byte> NakGoodbye(const FrameHeader& ack, uint64_t seq, NakReason reason,
                                  std::string_view text) {
  text = text.substr(0, kMaxNakTextBytes);
  std::vector<std::byte> out;
  if (ack.type == FrameType::kAck) {
    const HeaderBytes a = EncodeFrameHeader(ack);
    out.insert(out.end(), a.begin(), a.end());
  }
  const HeaderBytes n = EncodeFrameHeader({.type = FrameType::kNak,
                                           .flags = 0,
                                           .count = 0,
                                           .body_bytes = static_cast<uint32_t>(text.size()),
                                           .seq = seq,
                                           .aux = static_cast<uint64_t>(reason)});
  out.insert(out.end(), n.begin(), n.end());
  const auto* chars = reinterpret_cast<const std::byte*>(text.data());
  out.insert(out.end(), chars, chars + text.size());
  return out;
}

}  // namespace

FrameHeader TcpChannel::MakeAck() {
  return FrameHeader{.type = FrameType::kAck,
                     .flags = 0,
                     .count = 0,
                     .body_bytes = 0,
                     .seq = watermark_.load(std::memory_order_relaxed),
                     .aux = consumed_.load(std::memory_order_relaxed)};
}

Result<void> TcpChannel::OnWritesLanded(uint64_t first_seq, uint32_t count, bool ack_requested) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) return {};
  ready_.clear();
  FTVM_TRY(order_.Add(first_seq, count, std::nullopt, &ready_));
  if (ack_requested) ack_wanted_end_ = std::max(ack_wanted_end_, first_seq + count);
  LandedLocked(ready_);
  return {};
}

Result<void> TcpChannel::OnMessage(uint64_t seq, MessageBuffer message, bool ack_requested) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) {
    Recycle(std::move(message));
    return {};
  }
  ready_.clear();
  FTVM_TRY(order_.Add(seq, 1, std::move(message), &ready_));
  if (ack_requested) ack_wanted_end_ = std::max(ack_wanted_end_, seq + 1);
  LandedLocked(ready_);
  return {};
}

void TcpChannel::LandedLocked(std::vector<MessageBuffer>& ready) {
  for (MessageBuffer& m : ready) {
    QueuedCompletion q;
    q.completion.opcode = Opcode::kRecv;
    q.completion.message = std::move(m);
    cq_.push_back(std::move(q));
  }
  if (!ready.empty()) completions_cv_.notify_all();
  const uint64_t watermark = order_.watermark();
  watermark_.store(watermark, std::memory_order_relaxed);
  // Acknowledge once the watermark has moved and a signaled request is not yet covered; the
  // acknowledgement itself carries the watermark current when it is written.
  if (ack_wanted_end_ > ack_requested_at_ && watermark > ack_requested_at_) {
    ack_requested_at_ = watermark;
    streams_[0]->RequestAck();
  }
}

MessageBuffer TcpChannel::TakeMessageBuffer() {
  std::lock_guard lock(pool_mu_);
  if (buffer_pool_.empty()) return {};
  MessageBuffer buffer = std::move(buffer_pool_.back());
  buffer_pool_.pop_back();
  return buffer;
}

Result<void> TcpChannel::OnAck(uint64_t watermark, uint64_t consumed) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) return {};
  if (watermark > sq_.next_seq()) {
    return Fail(ErrorCode::kProtocol, "peer acknowledged seq {} but only {} were posted", watermark,
                sq_.next_seq());
  }
  if (watermark > peer_watermark_) {  // acknowledgements on several streams may cross
    peer_watermark_ = watermark;
    FTVM_TRY(CompleteLocked());
  }
  if (consumed > sends_transmitted_) {
    return Fail(ErrorCode::kProtocol, "peer consumed {} messages, only {} were sent", consumed,
                sends_transmitted_);
  }
  if (consumed > peer_consumed_) {  // acknowledgements on several streams may cross
    peer_consumed_ = consumed;
    while (!blocked_.empty() && state_ == ChannelState::kConnected) {
      if (blocked_.front().is_send && CreditsLocked() == 0) break;
      OutFrame frame = std::move(blocked_.front());
      blocked_.pop_front();
      TransmitLocked(std::move(frame), /*inline_ok=*/false);
    }
  }
  return {};
}

void TcpChannel::OnTransmitted(uint32_t stream, size_t frames) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) return;
  std::deque<uint64_t>& unsent = unsent_[stream];
  unsent.erase(unsent.begin(),
               unsent.begin() + static_cast<ptrdiff_t>(std::min(frames, unsent.size())));
  (void)CompleteLocked();  // cannot fail: peer_watermark_ was validated when it arrived
}

Result<void> TcpChannel::CompleteLocked() {
  // A request is complete when the peer acknowledged it *and* our sender is done reading its
  // source memory. Over TCP the first implies the second in real time, but only this makes it
  // a happens-before the application can rely on (and that ThreadSanitizer can see).
  uint64_t limit = peer_watermark_;
  for (const std::deque<uint64_t>& unsent : unsent_) {
    if (!unsent.empty()) limit = std::min(limit, unsent.front());
  }
  const size_t before = cq_.size();
  FTVM_TRY(sq_.Acknowledge(limit, &cq_));
  if (cq_.size() != before) completions_cv_.notify_all();
  return {};
}

void TcpChannel::OnWriteRejected(uint64_t seq, NakReason reason, const std::string& detail) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) return;
  trace_rdma_tcp_nak(seq, static_cast<uint32_t>(reason));
  // Acknowledge what landed before the bad write, then reject it: the initiator completes the
  // first with success, the bad one with kRemoteAccessError, the rest flushed.
  FailLocked(Error(ErrorCode::kRemoteAccess,
                   fmt::format("rejected the peer's write seq {}: {}", seq, detail)),
             NakGoodbye(MakeAck(), seq, reason, detail));
}

void TcpChannel::OnNak(uint64_t seq, NakReason reason, std::string_view text) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) return;
  if (reason == NakReason::kProtocol) {
    FailLocked(Error(ErrorCode::kProtocol, fmt::format("peer reported a protocol error: {}", text)),
               {});
  } else if (seq < sq_.acked() || seq >= sq_.next_seq()) {
    FailLocked(Error(ErrorCode::kProtocol,
                     fmt::format("peer rejected seq {}, which is not outstanding", seq)),
               {});
  } else {
    // The acknowledgement sent just before the NAK covers what landed: those requests
    // succeeded (the peer has all their bytes, so our sender is done with them).
    (void)sq_.Acknowledge(peer_watermark_, &cq_);
    FailLocked(Error(ErrorCode::kRemoteAccess, fmt::format("write rejected by the peer ({}): {}",
                                                           NakReasonName(reason), text)),
               {}, seq, CompletionStatus::kRemoteAccessError);
  }
}

void TcpChannel::OnClose() {
  std::lock_guard lock(mu_);
  FailLocked(Error(ErrorCode::kClosed, "peer closed the connection"), {});
}

void TcpChannel::OnStreamFailed(uint32_t /*stream*/, Error error) {
  std::lock_guard lock(mu_);
  if (state_ != ChannelState::kConnected) return;
  std::vector<std::byte> goodbye;
  if (error.code() == ErrorCode::kProtocol) {
    // Tell the peer why before hanging up; our sending side is still in sync.
    goodbye = NakGoodbye(FrameHeader{}, 0, NakReason::kProtocol, error.context());
  }
  FailLocked(std::move(error), std::move(goodbye));
}

void TcpChannel::FailLocked(Error error, std::vector<std::byte> goodbye,
                            std::optional<uint64_t> failed_seq, CompletionStatus failed_status) {
  if (state_ != ChannelState::kConnected) return;
  const bool orderly = error.code() == ErrorCode::kClosed || error.code() == ErrorCode::kAborted;
  state_ = orderly ? ChannelState::kClosed : ChannelState::kError;
  accepting_.store(false);
  trace_rdma_error(static_cast<uint32_t>(error.code()), error.sys_errno());
  if (orderly) {
    Log().info("tcp channel to {}: {}", info_.peer_uri, error.ToString());
  } else {
    Log().warn("tcp channel to {} failed: {}", info_.peer_uri, error.ToString());
  }
  error_ = std::move(error);
  sq_.Flush(failed_seq, failed_status, &cq_);
  blocked_.clear();
  std::vector<MessageBuffer> dropped;
  order_.Clear(&dropped);
  for (MessageBuffer& m : dropped) Recycle(std::move(m));
  for (auto& stream : streams_) {
    if (goodbye.empty()) {
      stream->Abort();
    } else {
      stream->Finish(goodbye);
    }
  }
  completions_cv_.notify_all();
}

}  // namespace ftvm::rdma::tcp
