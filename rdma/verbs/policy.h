// The verbs provider's tuning rules and credit arithmetic: pure functions, no verbs types, so
// they are unit-tested anywhere.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "base/result.h"

namespace ftvm::rdma::verbs {

// Receive buffers posted beyond the user's window, for keepalive, credit and goodbye messages.
inline constexpr uint32_t kReserveBuffers = 8;
// Send-queue slots beyond options.send_queue_depth for those internal messages.
inline constexpr uint32_t kInternalSendSlots = 16;
// Registered send buffers for messages too large to post inline (more wait for a free one).
inline constexpr uint32_t kMaxSendBuffers = 16;
// Transport retries before a work request fails with "retry exceeded" (the 3-bit maximum).
inline constexpr uint8_t kRetryCount = 7;
// RNR retries: with credits a receiver is never short of buffers; this only bounds a bug.
inline constexpr uint8_t kRnrRetryCount = 3;

// The ACK timeout exponent t (timeout 4.096 us * 2^t per try) such that all kRetryCount + 1
// tries of a work request to a dead host end within `peer_timeout`. Clamped to [10, 20]
// (4 ms .. 4.3 s per try).
inline uint8_t AckTimeoutExponent(std::chrono::milliseconds peer_timeout) {
  const double per_try_us = static_cast<double>(peer_timeout.count()) * 1000.0 / (kRetryCount + 1);
  int t = 0;
  while (t < 31 && 4.096 * static_cast<double>(1ull << (t + 1)) <= per_try_us) ++t;
  return static_cast<uint8_t>(std::clamp(t, 10, 20));
}

// How often this side sends keepalives when idle: its own interval, but often enough for the
// peer's timeout (four chances per peer timeout), and never below 1 ms.
inline std::chrono::milliseconds KeepaliveInterval(std::chrono::milliseconds own,
                                                   std::chrono::milliseconds peer_timeout) {
  return std::max(std::chrono::milliseconds(1), std::min(own, peer_timeout / 4));
}

// Consumed user messages after which the receiver returns credits with an explicit message
// instead of waiting for one to ride on.
inline uint32_t CreditReturnThreshold(uint32_t user_window) {
  return std::max<uint32_t>(1, user_window / 4);
}

// The sender's view of the peer's receive buffers. Counts are cumulative mod 2^32.
class SendCredits {
 public:
  SendCredits() = default;
  // `start`: where both cumulative counts begin (0 on a new connection; tests use others).
  SendCredits(uint32_t peer_buffers, uint32_t peer_user_window, uint32_t start = 0)
      : buffers_(peer_buffers),
        reserve_(peer_buffers - peer_user_window),
        sent_(start),
        reposted_(start) {}

  uint32_t available() const { return buffers_ - (sent_ - reposted_); }
  bool CanSendUser() const { return available() > reserve_; }
  bool CanSendInternal() const { return available() > 0; }
  void OnSent() { ++sent_; }
  uint32_t sent() const { return sent_; }

  // Applies a header's cumulative count. kProtocol if the peer claims to have re-posted more
  // buffers than we sent messages into.
  Result<void> OnReposted(uint32_t reposted) {
    if (static_cast<int32_t>(reposted - sent_) > 0) {
      return Fail(ErrorCode::kProtocol, "peer returned {} credits for {} messages sent", reposted,
                  sent_);
    }
    if (static_cast<int32_t>(reposted - reposted_) > 0) reposted_ = reposted;
    return {};
  }

 private:
  uint32_t buffers_ = 0;
  uint32_t reserve_ = 0;
  uint32_t sent_ = 0;
  uint32_t reposted_ = 0;
};

}  // namespace ftvm::rdma::verbs
