// VerbsChannel: the progress thread (completion events, CM events, keepalive) and the ways a
// channel ends: Close, Shutdown, destruction (verbs_channel.h).
#include <poll.h>
#include <unistd.h>

#include <array>

#include "rdma/log.h"
#include "rdma/verbs/trace_events.h"
#include "rdma/verbs/verbs_channel.h"

namespace ftvm::rdma::verbs {

VerbsChannel::~VerbsChannel() {
  if (state() == ChannelState::kConnected) Close();
  {
    std::lock_guard lock(mu_);
    DisconnectLocked();  // a channel that failed without telling the peer tells it now
    stop_ = true;
  }
  Wake();
  if (progress_.joinable()) progress_.join();
  // Members go in reverse declaration order: user MRs, buffer pools, QP, CQ, completion
  // channel, PD, then the cm id and its event channel.
}

void VerbsChannel::Wake() {
  const uint64_t one = 1;
  if (wake_fd_) (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void VerbsChannel::ProgressLoop() {
  const int comp_fd = options_.busy_poll ? -1 : qp_.comp_channel()->fd;
  const int tick_ms = static_cast<int>(
      std::max<uint64_t>(1, std::min(keepalive_ns_, peer_timeout_ns_ / 4) / 1'000'000));
  for (;;) {
    std::array<pollfd, 3> fds{
        {{wake_fd_.get(), POLLIN, 0}, {events_->fd, POLLIN, 0}, {comp_fd, POLLIN, 0}}};
    bool connected;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      connected = state_ == ChannelState::kConnected;
    }
    // Keepalive checks need a tick only while connected; afterwards wake for events only.
    (void)::poll(fds.data(), comp_fd >= 0 ? 3 : 2, connected ? tick_ms : 100);
    if ((fds[0].revents & POLLIN) != 0) {
      uint64_t drained;
      (void)!::read(wake_fd_.get(), &drained, sizeof(drained));
    }
    std::lock_guard lock(mu_);
    if (stop_) return;
    if (comp_fd >= 0 && (fds[2].revents & POLLIN) != 0) OnCompletionEventLocked();
    HarvestLocked();
    if ((fds[1].revents & POLLIN) != 0) OnCmEventsLocked();
    if (state_ == ChannelState::kConnected) KeepaliveLocked(MonotonicNs());
    ResolveAccessVerdictLocked(/*peer_disconnected=*/false);
    if (!ready_.empty() || state_ != ChannelState::kConnected) cv_.notify_all();
  }
}

void VerbsChannel::OnCompletionEventLocked() {
  ibv_cq* cq = nullptr;
  void* context = nullptr;
  // The channel's fd is non-blocking: take every pending event, acknowledge it (ibv_destroy_cq
  // waits for unacknowledged events), then re-arm before the caller drains the CQ, so a
  // completion that arrives in between raises a new event.
  unsigned events = 0;
  while (ibv_get_cq_event(qp_.comp_channel(), &cq, &context) == 0) ++events;
  if (events > 0) ibv_ack_cq_events(qp_.cq(), events);
  if (const int rc = ibv_req_notify_cq(qp_.cq(), 0); rc != 0) {
    FailLocked(Error(ErrorCode::kInternal, "ibv_req_notify_cq", rc), ChannelState::kError);
  }
}

void VerbsChannel::OnCmEventsLocked() {
  rdma_cm_event* raw = nullptr;
  while (rdma_get_cm_event(events_.get(), &raw) == 0) {
    const CmEventPtr event(raw);  // acknowledged when it goes out of scope
    switch (event->event) {
      case RDMA_CM_EVENT_DISCONNECTED:
        // A goodbye that arrived just before is in the CQ: take it first, so an orderly close
        // is reported as such.
        {
          const bool by_us = disconnected_;  // then this is the answer to our own DREQ
          HarvestLocked();
          FailLocked(Error(ErrorCode::kPeerLost, "the peer disconnected without closing"),
                     ChannelState::kError);
          ResolveAccessVerdictLocked(/*peer_disconnected=*/!by_us);
        }
        break;
      case RDMA_CM_EVENT_DEVICE_REMOVAL:
        FailLocked(Error(ErrorCode::kPeerLost, "the RDMA device was removed"),
                   ChannelState::kError);
        break;
      default:
        Log().debug("verbs {}: connection-manager event {}", info_.local_uri,
                    rdma_event_str(event->event));
        break;
    }
  }
}

void VerbsChannel::KeepaliveLocked(uint64_t now_ns) {
  if (now_ns - last_rx_ns_ > peer_timeout_ns_) {
    FailLocked(Error(ErrorCode::kPeerLost,
                     fmt::format("keepalive: no message from the peer for {} ms (peer timeout {} "
                                 "ms)",
                                 (now_ns - last_rx_ns_) / 1'000'000, peer_timeout_ns_ / 1'000'000)),
               ChannelState::kError);
    return;
  }
  if (now_ns - last_tx_ns_ >= keepalive_ns_ && SendInternalLocked(MessageKind::kKeepalive)) {
    trace_rdma_verbs_keepalive(reposted_);
  }
}

void VerbsChannel::Close() {
  std::unique_lock lock(mu_);
  if (state_ != ChannelState::kConnected) {
    state_ = ChannelState::kClosed;
    DisconnectLocked();
    return;
  }
  // The goodbye follows every message already on the queue (RC order); wait until the peer's
  // device acknowledged it, so the disconnect cannot overtake it.
  if (SendInternalLocked(MessageKind::kGoodbye)) {
    const Deadline deadline(options_.peer_timeout);
    while (!goodbye_done_ && state_ == ChannelState::kConnected && !deadline.expired()) {
      HarvestLocked();
      if (!goodbye_done_) cv_.wait_for(lock, std::chrono::milliseconds(1));
    }
  }
  FailLocked(Error(ErrorCode::kClosed, "channel closed"), ChannelState::kClosed);
}

void VerbsChannel::Shutdown() {
  std::lock_guard lock(mu_);
  if (state_ == ChannelState::kConnected) {
    FailLocked(Error(ErrorCode::kAborted, "channel shut down"), ChannelState::kClosed);
  } else {
    state_ = ChannelState::kClosed;
    DisconnectLocked();
  }
  cv_.notify_all();
}

}  // namespace ftvm::rdma::verbs
