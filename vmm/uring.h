// A small io_uring (liburing) queue for large sequential file I/O: queue reads and writes of
// caller-owned buffers at file offsets, keep at most `depth` in flight, finish short
// transfers, and report the first error naming the operation. Used by the snapshot writer
// and reader.
//
// Buffers must stay valid until Drain() returns. Not thread-safe (one owner).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace ftvm::vmm {

class Uring {
 public:
  static Result<Uring> Create(unsigned depth);
  Uring(Uring&& other) noexcept;
  Uring& operator=(Uring&&) = delete;
  Uring(const Uring&) = delete;
  ~Uring();

  // Queues a write of `bytes` at `offset` of `fd` (waits for a free slot if all are busy).
  Result<void> Write(int fd, std::span<const std::byte> bytes, uint64_t offset);
  Result<void> Read(int fd, std::span<std::byte> bytes, uint64_t offset);
  // Submits everything queued and waits until all of it completed.
  Result<void> Drain();

 private:
  struct Op {
    std::byte* data;
    uint64_t length;
    uint64_t offset;
    int fd;
    bool write;
  };
  explicit Uring(unsigned depth) : depth_(depth), ops_(depth) {}
  Result<void> Queue(const Op& op);
  Result<void> Prepare(unsigned slot);
  Result<void> Reap(bool wait);

  io_uring ring_{};
  bool live_ = false;
  unsigned depth_;
  std::vector<Op> ops_;
  std::vector<unsigned> free_;
  unsigned in_flight_ = 0;
};

}  // namespace ftvm::vmm
