// VerbsChannel: harvesting the completion queue, delivering completions to the user, and the
// move to the error state (verbs_channel.h).
#include <algorithm>
#include <array>
#include <thread>

#include "rdma/log.h"
#include "rdma/verbs/trace_events.h"
#include "rdma/verbs/verbs_channel.h"
#include "rdma/verbs/wc_status.h"

namespace ftvm::rdma::verbs {

namespace {
// After the channel failed, how long outstanding work requests may take to come back flushed
// before they are reported flushed anyway (the device should flush them at once).
constexpr uint64_t kFlushGraceNs = 2'000'000'000;
// How long a remote access error waits for the disconnect that would mean the peer died
// (bounded by half the peer timeout).
constexpr uint64_t kAccessVerdictNs = 500'000'000;
}  // namespace

void VerbsChannel::HarvestLocked() {
  std::array<ibv_wc, 32> wcs;
  for (;;) {
    const int n = ibv_poll_cq(qp_.cq(), static_cast<int>(wcs.size()), wcs.data());
    if (n < 0) {
      FailLocked(Error(ErrorCode::kInternal, "ibv_poll_cq failed"), ChannelState::kError);
      return;
    }
    for (int i = 0; i < n; ++i) {
      const ibv_wc& wc = wcs[static_cast<size_t>(i)];
      // An error completion has no valid opcode: tell the queues apart by the wr_id tag.
      if ((wc.wr_id & kRecvTag) != 0) {
        OnRecvCompletionLocked(static_cast<uint32_t>(wc.wr_id & ~kRecvTag), wc.status, wc.byte_len);
      } else {
        OnSendCompletionLocked(wc.wr_id, wc.status, wc.vendor_err);
      }
    }
    if (n < static_cast<int>(wcs.size())) break;
  }
  PostHeldLocked();  // credits or send buffers may have come back
}

void VerbsChannel::OnSendCompletionLocked(uint64_t seq, int wc_status, uint32_t vendor_err) {
  const CompletionStatus status = MapWcStatus(wc_status);
  trace_rdma_verbs_completion(seq, static_cast<uint8_t>(status));
  while (!ring_.empty() && ring_.front().seq <= seq) {
    const SendEntry entry = ring_.front();
    ring_.pop_front();
    if (entry.send_slot >= 0) free_send_slots_.push_back(entry.send_slot);
    if (entry.kind == WrKind::kInternal) --internal_outstanding_;
    if (entry.seq < seq) continue;  // unsignaled and retired by this later completion: success
    if (status != CompletionStatus::kSuccess && state_ == ChannelState::kConnected) {
      // The first failure: the queue pair is now in the error state. A flush while we still
      // thought we were connected means it went there for a reason we did not see (the peer
      // broke the connection, e.g. by violating our memory's access rights).
      const bool flushed = status == CompletionStatus::kFlushed;
      const ErrorCode code = flushed ? ErrorCode::kPeerLost : WcStatusError(wc_status);
      const bool access = code == ErrorCode::kRemoteAccess;
      FailLocked(Error(code, fmt::format("{} failed: {} (vendor error {:#x})",
                                         entry.kind == WrKind::kWrite ? "RDMA WRITE" : "SEND",
                                         WcStatusText(wc_status), vendor_err)),
                 ChannelState::kError, /*disconnect=*/!flushed && !access);
      if (access) StartAccessVerdictLocked();
    }
    if (entry.kind == WrKind::kInternal) {
      if (entry.message == MessageKind::kGoodbye) goodbye_done_ = true;
    } else if (entry.user_signaled || status != CompletionStatus::kSuccess) {
      ready_.push_back(
          Ready{.wr_id = entry.wr_id,
                .opcode = entry.kind == WrKind::kWrite ? Opcode::kWrite : Opcode::kSend,
                .status = status,
                .ordinal = entry.ordinal,
                .awaits_verdict = access_verdict_pending_ && status != CompletionStatus::kFlushed});
    }
  }
}

void VerbsChannel::OnRecvCompletionLocked(uint32_t slot, int wc_status, uint32_t byte_len) {
  if (slot >= recv_.count()) {
    FailLocked(Error(ErrorCode::kInternal, fmt::format("receive for unknown slot {}", slot)),
               ChannelState::kError);
    return;
  }
  if (wc_status != IBV_WC_SUCCESS) {
    if (MapWcStatus(wc_status) != CompletionStatus::kFlushed) {
      FailLocked(Error(WcStatusError(wc_status),
                       fmt::format("receive failed: {}", WcStatusText(wc_status))),
                 ChannelState::kError);
    } else if (state_ == ChannelState::kConnected) {
      // Our queue pair failed for a reason we did not see: the peer broke it (e.g. a write
      // violating our memory's access rights). Keep the connection until closed, so the peer
      // can tell this from our death (see StartAccessVerdictLocked).
      FailLocked(Error(ErrorCode::kPeerLost, "the queue pair entered the error state"),
                 ChannelState::kError, /*disconnect=*/false);
    }
    return;
  }
  if (state_ != ChannelState::kConnected) return;  // a late arrival after we failed: dropped
  last_rx_ns_ = MonotonicNs();
  const auto message = recv_.slot(slot).first(std::min<size_t>(byte_len, recv_.slot_bytes()));
  auto header = DecodeMessageHeader(message);
  if (header && message.size() - kMessageHeaderBytes > info_.max_message_bytes) {
    header = Fail(ErrorCode::kProtocol, "message of {} bytes exceeds the negotiated maximum {}",
                  message.size() - kMessageHeaderBytes, info_.max_message_bytes);
  }
  if (header) {
    auto credited = credits_.OnReposted(header->reposted);
    if (!credited) header = std::unexpected(std::move(credited.error()));
  }
  if (!header) {
    FailLocked(std::move(header.error()).Wrap("from the peer"), ChannelState::kError);
    return;
  }
  switch (header->kind) {
    case MessageKind::kUser:
      ready_.push_back(
          Ready{.opcode = Opcode::kRecv,
                .recv_slot = static_cast<int32_t>(slot),
                .length = static_cast<uint32_t>(message.size() - kMessageHeaderBytes)});
      break;
    case MessageKind::kKeepalive:
    case MessageKind::kCredit:
      RepostLocked(slot, /*user=*/false);
      break;
    case MessageKind::kGoodbye:
      FailLocked(Error(ErrorCode::kClosed, "the peer closed the channel"), ChannelState::kClosed);
      break;
  }
}

size_t VerbsChannel::DeliverLocked(std::span<Completion> out) {
  size_t n = 0;
  while (n < out.size() && !ready_.empty() && !ready_.front().awaits_verdict) {
    const Ready r = ready_.front();
    ready_.pop_front();
    Completion& c = out[n++];
    c.wr_id = r.wr_id;
    c.opcode = r.opcode;
    c.status = r.status;
    if (r.opcode == Opcode::kRecv) {
      const auto slot = static_cast<uint32_t>(r.recv_slot);
      c.message.assign(recv_.slot(slot).data() + kMessageHeaderBytes,
                       recv_.slot(slot).data() + kMessageHeaderBytes + r.length);
      if (state_ == ChannelState::kConnected) RepostLocked(slot, /*user=*/true);
    } else {
      c.message.clear();
      user_freed_ = std::max(user_freed_, r.ordinal + 1);
    }
  }
  if (owed_user_ >= CreditReturnThreshold(options_.recv_credits)) {
    SendInternalLocked(
        MessageKind::kCredit);  // if no credit for it now, a later message carries it
  }
  return n;
}

void VerbsChannel::FinishFlushLocked() {
  if (state_ == ChannelState::kConnected) return;
  if (!ring_.empty() && MonotonicNs() - failed_at_ns_ > kFlushGraceNs) {
    Log().warn("verbs: {} work requests were not flushed by the device; reporting them flushed",
               ring_.size());
    for (const SendEntry& e : ring_) {
      if (e.send_slot >= 0) free_send_slots_.push_back(e.send_slot);
      if (e.kind == WrKind::kInternal) continue;
      ready_.push_back(Ready{.wr_id = e.wr_id,
                             .opcode = e.kind == WrKind::kWrite ? Opcode::kWrite : Opcode::kSend,
                             .status = CompletionStatus::kFlushed,
                             .ordinal = e.ordinal});
    }
    ring_.clear();
    internal_outstanding_ = 0;
  }
  if (!ring_.empty()) return;  // held requests come after everything on the queue
  for (const Held& h : held_) {
    ready_.push_back(Ready{.wr_id = h.is_send ? h.wr_id : h.write.wr_id,
                           .opcode = h.is_send ? Opcode::kSend : Opcode::kWrite,
                           .status = CompletionStatus::kFlushed,
                           .ordinal = h.ordinal});
  }
  held_.clear();
}

void VerbsChannel::FailLocked(Error error, ChannelState next, bool disconnect) {
  if (state_ != ChannelState::kConnected) return;
  if (next == ChannelState::kClosed && error.code() == ErrorCode::kClosed) {
    Log().info("verbs {} -> {}: {}", info_.local_uri, info_.peer_uri, error.ToString());
  } else {
    Log().warn("verbs {} -> {}: {}", info_.local_uri, info_.peer_uri, error.ToString());
  }
  state_ = next;
  error_ = std::move(error);
  failed_at_ns_ = MonotonicNs();
  if (disconnect) {
    DisconnectLocked();
  } else {
    // Flush what is outstanding without telling the peer yet.
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_ERR;
    (void)ibv_modify_qp(qp_.qp(), &attr, IBV_QP_STATE);
  }
  cv_.notify_all();
}

void VerbsChannel::DisconnectLocked() {
  if (disconnected_) return;
  disconnected_ = true;
  // Moves the QP to the error state (every outstanding request comes back flushed) and tells
  // the peer (DREQ), which sees a disconnect.
  (void)rdma_disconnect(id_.get());
}

// A remote access error is either ours (a bad key, range or right: the peer is alive and keeps
// the connection, see OnRecvCompletionLocked) or the peer's death: a killed process loses its
// memory registrations before its connection, so writes in flight fail with remote access
// errors and a disconnect follows. Which one is decided by waiting a little for that disconnect
// (ResolveAccessVerdictLocked); until then the failed completion and the sticky error wait.
void VerbsChannel::StartAccessVerdictLocked() {
  access_verdict_pending_ = true;
  const uint64_t grace = std::min<uint64_t>(peer_timeout_ns_ / 2, kAccessVerdictNs);
  access_verdict_at_ns_ = MonotonicNs() + grace;
}

void VerbsChannel::ResolveAccessVerdictLocked(bool peer_disconnected) {
  if (!access_verdict_pending_) return;
  if (!peer_disconnected && MonotonicNs() < access_verdict_at_ns_) return;
  access_verdict_pending_ = false;
  if (peer_disconnected) {
    Log().warn("verbs {} -> {}: the remote access error was the peer going away", info_.local_uri,
               info_.peer_uri);
    error_ = Error(ErrorCode::kPeerLost,
                   "the peer went away: its memory vanished under a write, then it disconnected");
    for (Ready& r : ready_) {
      if (r.awaits_verdict) r.status = CompletionStatus::kPeerLost;
    }
  }
  for (Ready& r : ready_) r.awaits_verdict = false;
  DisconnectLocked();
  cv_.notify_all();
}

Result<size_t> VerbsChannel::Poll(std::span<Completion> out, Nanos timeout) {
  const Deadline deadline(timeout);
  std::unique_lock lock(mu_);
  for (;;) {
    HarvestLocked();
    ResolveAccessVerdictLocked(/*peer_disconnected=*/false);
    FinishFlushLocked();
    if (const size_t n = DeliverLocked(out); n > 0) return n;
    if (state_ != ChannelState::kConnected && DrainedLocked() && !access_verdict_pending_) {
      return std::unexpected(*error_);
    }
    if (deadline.expired()) return 0;
    if (options_.busy_poll) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
      continue;
    }
    // The progress thread harvests on completion events and notifies. Re-check at least every
    // second anyway, and often while a failed queue pair is being flushed (the flush grace).
    const Nanos cap = state_ == ChannelState::kConnected ? Nanos(std::chrono::seconds(1))
                                                         : Nanos(std::chrono::milliseconds(10));
    cv_.wait_for(lock, std::min(deadline.remaining(), cap));
  }
}

}  // namespace ftvm::rdma::verbs
