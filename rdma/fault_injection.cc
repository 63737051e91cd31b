#include "rdma/fault_injection.h"

#include <algorithm>

#include "rdma/log.h"

namespace ftvm::rdma {

FaultInjectingChannel::FaultInjectingChannel(std::unique_ptr<Channel> inner, const FaultPlan& plan)
    : inner_(std::move(inner)), plan_(plan) {}

void FaultInjectingChannel::Inject(Fault fault) {
  std::lock_guard lock(mu_);
  ActivateLocked(fault);
}

uint64_t FaultInjectingChannel::operations() const {
  std::lock_guard lock(mu_);
  return operations_;
}

void FaultInjectingChannel::ActivateLocked(Fault fault) {
  if (fault == Fault::kNone || active_ != Fault::kNone) return;
  active_ = fault;
  Log().warn("fault injection: {} after {} operations",
             fault == Fault::kFailPost ? "failing posts"
             : fault == Fault::kCut    ? "cutting the connection"
                                       : "dropping the peer",
             operations_);
  if (fault == Fault::kCut) CutLocked("injected fault: connection cut");
  if (fault == Fault::kDropPeer) {
    detect_at_ = std::chrono::steady_clock::now() + plan_.detect_after;
  }
  cv_.notify_all();
}

void FaultInjectingChannel::CutLocked(std::string reason) {
  if (cut_) return;
  cut_ = true;
  error_ = Error(ErrorCode::kPeerLost, std::move(reason));
  inner_->Shutdown();  // no goodbye: the peer sees the connection drop
}

Fault FaultInjectingChannel::Admit(size_t n) {
  std::lock_guard lock(mu_);
  if (active_ == Fault::kNone && plan_.fault != Fault::kNone &&
      operations_ + n > plan_.after_operations) {
    ActivateLocked(plan_.fault);
  }
  if (active_ == Fault::kNone) operations_ += n;
  return active_;
}

ChannelState FaultInjectingChannel::state() const {
  {
    std::lock_guard lock(mu_);
    if (cut_ && !shut_down_) return ChannelState::kError;
    if (active_ == Fault::kDropPeer && !shut_down_) return ChannelState::kConnected;
  }
  return inner_->state();
}

std::optional<Error> FaultInjectingChannel::error() const {
  {
    std::lock_guard lock(mu_);
    if (error_) return error_;
  }
  return inner_->error();
}

Result<bool> FaultInjectingChannel::Intercept(size_t n, const std::function<void()>& swallow) {
  switch (Admit(n)) {
    case Fault::kNone:
      return true;
    case Fault::kFailPost:
      return Fail(plan_.post_error, "injected fault: post failed after {} operations",
                  operations());
    case Fault::kCut:
      return Fail(ErrorCode::kFlushed, "injected fault: connection cut");
    case Fault::kDropPeer:
      break;
  }
  std::lock_guard lock(mu_);
  if (cut_) return Fail(ErrorCode::kFlushed, "injected fault: peer lost");
  swallow();
  return false;
}

Result<void> FaultInjectingChannel::PostWrites(std::span<const WriteRequest> writes) {
  FTVM_ASSIGN_OR_RETURN(
      const bool forward, Intercept(writes.size(), [&] {
        for (const WriteRequest& w : writes) {
          swallowed_.push_back(Completion{w.wr_id, Opcode::kWrite, CompletionStatus::kFlushed, {}});
        }
      }));
  if (forward) return inner_->PostWrites(writes);
  return {};
}

Result<void> FaultInjectingChannel::PostSend(std::span<const std::byte> message, uint64_t wr_id,
                                             bool signaled) {
  FTVM_ASSIGN_OR_RETURN(
      const bool forward, Intercept(1, [&] {
        swallowed_.push_back(Completion{wr_id, Opcode::kSend, CompletionStatus::kFlushed, {}});
      }));
  if (forward) return inner_->PostSend(message, wr_id, signaled);
  return {};
}

Result<size_t> FaultInjectingChannel::Poll(std::span<Completion> out, Nanos timeout) {
  {
    std::unique_lock lock(mu_);
    if (active_ == Fault::kDropPeer && !cut_ && !shut_down_) {
      // Silence until the loss is "detected", as keepalive would after peer_timeout.
      const auto now = std::chrono::steady_clock::now();
      const auto until =
          timeout.count() < 0 || timeout >= detect_at_ - now ? detect_at_ : now + timeout;
      cv_.wait_until(lock, until, [&] { return shut_down_ || cut_; });
      if (!cut_ && !shut_down_) {
        if (std::chrono::steady_clock::now() < detect_at_) return size_t{0};
        CutLocked("injected fault: peer dropped, no sign of life");
      }
    }
    if (!cut_) {
      lock.unlock();
      auto n = inner_->Poll(out, timeout);
      lock.lock();
      // A cut injected while we were blocked shows up as the real channel's kAborted.
      if (n || !cut_) return n;
    }
  }
  return DrainAfterCut(out);
}

Result<size_t> FaultInjectingChannel::DrainAfterCut(std::span<Completion> out) {
  const bool dropped = active_ == Fault::kDropPeer;  // set before the cut, never changes after
  for (;;) {
    auto n = inner_->Poll(out, Nanos(0));
    if (!n || *n == 0) break;
    size_t kept = 0;
    for (size_t i = 0; i < *n; ++i) {
      // While the peer was gone no acknowledgement or message could have arrived.
      if (dropped && out[i].opcode == Opcode::kRecv) continue;
      if (dropped) out[i].status = CompletionStatus::kFlushed;
      if (kept != i) std::swap(out[kept], out[i]);
      ++kept;
    }
    if (kept > 0) return kept;
  }
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (; n < out.size() && !swallowed_.empty(); ++n) {
    out[n] = std::move(swallowed_.front());
    swallowed_.pop_front();
  }
  if (n > 0) return n;
  return Fail(*error_);
}

void FaultInjectingChannel::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
  }
  inner_->Shutdown();
}

}  // namespace ftvm::rdma
