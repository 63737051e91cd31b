// Monotonic time in nanoseconds, and a deadline type for bounded waits.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace ftvm {

using Nanos = std::chrono::nanoseconds;

inline uint64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Wall-clock time for stamps shown to people and in QMP events.
inline uint64_t RealtimeNs() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

class Deadline {
 public:
  // A deadline `timeout` from now; negative means "never".
  explicit Deadline(Nanos timeout)
      : at_ns_(timeout.count() < 0 ? UINT64_MAX
                                   : MonotonicNs() + static_cast<uint64_t>(timeout.count())) {}
  static Deadline Never() { return Deadline(Nanos(-1)); }

  bool never() const { return at_ns_ == UINT64_MAX; }
  bool expired() const { return !never() && MonotonicNs() >= at_ns_; }
  // Remaining time, clamped to zero; Nanos::max() when never.
  Nanos remaining() const {
    if (never()) return Nanos::max();
    const uint64_t now = MonotonicNs();
    return Nanos(now >= at_ns_ ? 0 : at_ns_ - now);
  }
  // Remaining time in ms for poll(2): -1 when never, rounded up so we never spin early.
  int poll_timeout_ms() const {
    if (never()) return -1;
    const auto ms = (remaining().count() + 999'999) / 1'000'000;
    return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
  }

 private:
  uint64_t at_ns_;
};

class Stopwatch {
 public:
  Stopwatch() : start_ns_(MonotonicNs()) {}
  uint64_t ElapsedNs() const { return MonotonicNs() - start_ns_; }
  void Restart() { start_ns_ = MonotonicNs(); }

 private:
  uint64_t start_ns_;
};

}  // namespace ftvm
