// Pinned-memory accounting for RDMA registrations.
//
// Registering memory pins its pages, and the kernel refuses to pin more than RLIMIT_MEMLOCK per
// process unless it has CAP_IPC_LOCK; the verbs call then fails with a bare ENOMEM. The provider
// counts what it pinned (process-wide, every channel) and checks each registration first, so
// the error names the limit and how to raise it.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "base/result.h"

namespace ftvm::rdma::verbs {

struct MemlockLimit {
  bool unlimited = true;  // RLIM_INFINITY, or CAP_IPC_LOCK (the limit does not apply)
  uint64_t bytes = 0;     // the soft limit otherwise
};

// This process's limit now.
MemlockLimit CurrentMemlockLimit();

// kResourceExhausted naming the request, what is pinned, RLIMIT_MEMLOCK and the three ways to
// raise it (ulimit -l, limits.conf, systemd LimitMEMLOCK).
Error MemlockError(uint64_t request_bytes, uint64_t pinned_bytes, uint64_t limit_bytes);
// Ok when `request_bytes` more fit under `limit` with `pinned_bytes` already pinned.
Result<void> CheckMemlock(uint64_t request_bytes, uint64_t pinned_bytes, const MemlockLimit& limit);

// Bytes the kernel pins for `memory`: every page it touches.
uint64_t PinnedSize(std::span<const std::byte> memory);

// A reservation against the process-wide account, released on destruction. Reserve() fails
// with MemlockError when the limit would be exceeded.
class PinnedBytes {
 public:
  PinnedBytes() = default;
  static Result<PinnedBytes> Reserve(std::span<const std::byte> memory);
  PinnedBytes(PinnedBytes&& other) noexcept : bytes_(std::exchange(other.bytes_, 0)) {}
  PinnedBytes& operator=(PinnedBytes&& other) noexcept;
  PinnedBytes(const PinnedBytes&) = delete;
  PinnedBytes& operator=(const PinnedBytes&) = delete;
  ~PinnedBytes() { Release(); }

  uint64_t bytes() const { return bytes_; }
  void Release();

  // What all live reservations of this process hold.
  static uint64_t InUse();

 private:
  explicit PinnedBytes(uint64_t bytes) : bytes_(bytes) {}
  uint64_t bytes_ = 0;
};

}  // namespace ftvm::rdma::verbs
