// A Channel decorator that injects transport faults, for tests of everything above rdma/.
//
//   FaultPlan plan{.fault = Fault::kCut, .after_operations = 10};
//   FaultInjectingChannel channel(std::move(real_channel), plan);
//   ... the 11th work request finds the connection cut ...
//
// An operation is one work request: each write of a PostWrites batch, each PostSend. The post
// that would take the count past `after_operations` triggers the fault before anything of it
// is forwarded. Inject() triggers a fault at once, from any thread.
//
// Faults:
//   kFailPost  that post and every later one fail with plan.post_error (nothing is posted); the
//              connection stays up, as when ibv_post_send runs out of resources.
//   kCut       the connection is cut: the real channel is shut down without a goodbye, so the
//              peer sees kPeerLost; here outstanding work completes kFlushed, later posts fail
//              with kFlushed, and Poll() ends with kPeerLost ("injected: connection cut").
//   kDropPeer  the peer vanishes silently (a partition): posts are accepted but go nowhere and
//              never complete, incoming messages are discarded, completions stop. After
//              plan.detect_after (set it to the channel's peer_timeout) the channel reports the
//              loss as keepalive would: everything outstanding completes kFlushed and Poll()
//              fails with kPeerLost; the real channel is then cut.
//
// Threading: as Channel (one driving thread); Inject() and Shutdown() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "rdma/channel.h"

namespace ftvm::rdma {

enum class Fault : uint8_t { kNone, kFailPost, kCut, kDropPeer };

struct FaultPlan {
  Fault fault = Fault::kNone;
  uint64_t after_operations = 0;  // work requests forwarded before the fault hits
  ErrorCode post_error = ErrorCode::kResourceExhausted;  // kFailPost
  std::chrono::milliseconds detect_after{1000};          // kDropPeer
};

class FaultInjectingChannel final : public Channel {
 public:
  FaultInjectingChannel(std::unique_ptr<Channel> inner, const FaultPlan& plan);
  ~FaultInjectingChannel() override = default;

  // Triggers `fault` now (kNone is ignored; a fault already active stays).
  void Inject(Fault fault);
  uint64_t operations() const;  // work requests forwarded so far
  Channel& inner() { return *inner_; }

  const ChannelInfo& info() const override { return inner_->info(); }
  ChannelState state() const override;
  std::optional<Error> error() const override;
  Result<MemoryRegion> RegisterMemory(std::span<std::byte> memory, uint32_t access) override {
    return inner_->RegisterMemory(memory, access);
  }
  Result<void> DeregisterMemory(const MemoryRegion& region) override {
    return inner_->DeregisterMemory(region);
  }
  Result<void> PostWrites(std::span<const WriteRequest> writes) override;
  Result<void> PostSend(std::span<const std::byte> message, uint64_t wr_id,
                        bool signaled = false) override;
  Result<size_t> Poll(std::span<Completion> out, Nanos timeout) override;
  void Close() override { inner_->Close(); }
  void Shutdown() override;

 private:
  // Counts `n` operations; returns the fault that applies to this post (kNone: forward it).
  Fault Admit(size_t n);
  // Applies the fault to a post of `n` requests: true to forward it, false when it was
  // swallowed (`swallow` ran under the lock to record its completions), or the post's error.
  Result<bool> Intercept(size_t n, const std::function<void()>& swallow);
  void ActivateLocked(Fault fault);
  void CutLocked(std::string reason);
  // After the cut: what the real channel still reports (converted for kDropPeer), then the
  // requests swallowed while dropped, then the sticky error.
  Result<size_t> DrainAfterCut(std::span<Completion> out);

  std::unique_ptr<Channel> inner_;
  const FaultPlan plan_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t operations_ = 0;
  Fault active_ = Fault::kNone;
  bool cut_ = false;
  bool shut_down_ = false;
  std::chrono::steady_clock::time_point detect_at_;
  std::deque<Completion> swallowed_;  // requests posted while the peer was dropped
  std::optional<Error> error_;
};

}  // namespace ftvm::rdma
