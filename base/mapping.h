// A move-only owner of an mmap()ed region; munmap() on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "base/result.h"

namespace ftvm {

class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { Reset(); }

  // Private anonymous read/write memory, zero-filled.
  static Result<Mapping> Anonymous(size_t size_bytes);
  // Maps `fd` (e.g. a memfd) at `offset`; `prot`/`flags` as for mmap(2).
  static Result<Mapping> MapFd(int fd, size_t size_bytes, int prot, int flags, off_t offset = 0);
  // Takes ownership of an existing mapping.
  static Mapping Adopt(void* data, size_t size_bytes) { return Mapping(data, size_bytes); }

  std::byte* data() const { return static_cast<std::byte*>(data_); }
  size_t size() const { return size_; }
  std::span<std::byte> bytes() const { return {data(), size_}; }
  bool valid() const { return data_ != nullptr; }

  void Reset();

  // Faults in every page for writing now (MADV_POPULATE_WRITE), `step_bytes` at a time so the
  // process's address-space lock is released between steps: other threads (a transport's
  // keepalive, say) never stall behind a multi-second populate. Advisory: kernels before 5.14
  // and failures leave the memory to fault in on first use.
  void Populate(size_t step_bytes = 32u << 20) const;

 private:
  Mapping(void* data, size_t size) : data_(data), size_(size) {}
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ftvm
