#include "colo/link.h"

#include "colo/log.h"
#include "colo/trace_events.h"
#include "rdma/message.h"

namespace ftvm::colo {
namespace {

constexpr size_t kPollBatch = 32;

bool IsRamType(uint16_t type) { return (type & 0xff00) == rdma::kMessageRangeRam; }

}  // namespace

PeerLink::PeerLink(std::unique_ptr<rdma::Channel> channel, Nanos heartbeat_interval)
    : channel_(std::move(channel)),
      heartbeat_interval_(heartbeat_interval),
      completions_(kPollBatch),
      last_heard_ns_(MonotonicNs()) {}

void PeerLink::Fail(Error error) {
  if (error_) return;
  // A flushed request only echoes the channel's own failure: report the cause instead.
  if (error.code() == ErrorCode::kFlushed) {
    if (auto cause = channel_->error()) error = std::move(*cause);
  }
  error_ = std::move(error);
}

Result<void> PeerLink::Send(const ColoMessage& message) {
  Encode(message, &encoded_);
  trace_colo_message_send(rdma::PeekHeader(encoded_)->type, encoded_.size());
  FTVM_TRY_CTX(channel_->PostSend(encoded_, kColoWrIdTag | ++send_seq_, /*signaled=*/false),
               fmt::format("send {}", MessageName(message)));
  last_sent_ns_ = MonotonicNs();
  return {};
}

void PeerLink::OnMessage(std::vector<std::byte>&& bytes) {
  last_heard_ns_ = MonotonicNs();
  auto header = rdma::PeekHeader(bytes);
  if (!header) return Fail(header.error());
  trace_colo_message_recv(header->type, bytes.size());
  if (IsRamType(header->type)) {
    if (!ram_.message) {
      return Fail(Error(ErrorCode::kProtocol, "ram/ message before ram/ was set up"));
    }
    if (auto r = ram_.message(bytes); !r) Fail(std::move(r.error()).Wrap("ram message"));
    return;
  }
  auto decoded = DecodeColoMessage(bytes);
  if (!decoded) return Fail(decoded.error());
  if (std::holds_alternative<Heartbeat>(*decoded)) return;  // life sign only
  // The decoded message may view into `bytes`: keep them together.
  inbox_.push_back(Received{std::move(*decoded), std::move(bytes)});
  if (auto* data = std::get_if<VmstateData>(&inbox_.back().message)) {
    // Re-point the view at the moved storage (vector moves keep their buffer, but be explicit).
    const auto& b = inbox_.back().bytes;
    data->bytes = std::span(b).last(data->bytes.size());
  }
}

void PeerLink::Route(rdma::Completion&& completion) {
  if (completion.opcode == rdma::Opcode::kRecv) {
    if (completion.status != rdma::CompletionStatus::kSuccess) {
      return Fail(
          Error(ErrorCode::kPeerLost,
                fmt::format("receive failed: {}", rdma::CompletionStatusName(completion.status))));
    }
    return OnMessage(std::move(completion.message));
  }
  if ((completion.wr_id & ~((uint64_t{1} << 56) - 1)) == kColoWrIdTag) {
    if (completion.wr_id == awaited_wr_id_ &&
        completion.status == rdma::CompletionStatus::kSuccess) {
      awaited_done_ = true;
    }
    if (completion.status != rdma::CompletionStatus::kSuccess) {
      Fail(Error(
          completion.status == rdma::CompletionStatus::kFlushed ? ErrorCode::kFlushed
                                                                : ErrorCode::kPeerLost,
          fmt::format("colo send failed: {}", rdma::CompletionStatusName(completion.status))));
    }
    return;
  }
  if (ram_.completion) {
    if (auto r = ram_.completion(completion); !r) Fail(std::move(r.error()));
    return;
  }
  Fail(Error(ErrorCode::kProtocol,
             fmt::format("unexpected completion wr_id {:#x}", completion.wr_id)));
}

Result<void> PeerLink::Poll(Nanos timeout) {
  if (error_) return ftvm::Fail(*error_);
  auto n = channel_->Poll(completions_, timeout);
  if (!n) {
    Fail(n.error());
    return ftvm::Fail(n.error());
  }
  for (size_t i = 0; i < *n; ++i) Route(std::move(completions_[i]));
  // Messages that arrived before the failure go to the caller first (a goodbye followed by the
  // peer's close comes in one batch, and the goodbye is what says why); the sticky error is
  // reported by the next Poll.
  if (error_ && inbox_.empty()) return ftvm::Fail(*error_);
  return {};
}

PeerLink::Received PeerLink::PopMessage() {
  Received r = std::move(inbox_.front());
  inbox_.pop_front();
  return r;
}

void PeerLink::SayGoodbye(std::string reason, Nanos timeout) {
  if (channel_->state() != rdma::ChannelState::kConnected) return;
  auto sent = [&]() -> Result<void> {
    Encode(Goodbye{std::move(reason)}, &encoded_);
    awaited_wr_id_ = kColoWrIdTag | ++send_seq_;
    awaited_done_ = false;
    FTVM_TRY(channel_->PostSend(encoded_, awaited_wr_id_, /*signaled=*/true));
    const Deadline deadline(timeout);
    while (!awaited_done_) {
      if (deadline.expired()) return ftvm::Fail(ErrorCode::kTimeout, "not sent in time");
      FTVM_TRY(Poll(std::min<Nanos>(std::chrono::milliseconds(5), deadline.remaining())));
    }
    return {};
  }();
  if (!sent) Log().warn("goodbye to the peer: {}", sent.error().ToString());
  channel_->Close();
}

Result<void> PeerLink::MaybeHeartbeat(uint64_t last_checkpoint) {
  const uint64_t now = MonotonicNs();
  if (now - last_sent_ns_ < static_cast<uint64_t>(heartbeat_interval_.count())) return {};
  trace_colo_heartbeat_send(heartbeat_seq_ + 1);
  return Send(Heartbeat{++heartbeat_seq_, last_checkpoint});
}

}  // namespace ftvm::colo
