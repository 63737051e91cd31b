#include "base/mapping.h"

#include <sys/mman.h>

#include <algorithm>

namespace ftvm {

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Result<Mapping> Mapping::Anonymous(size_t size_bytes) {
  if (size_bytes == 0) return Fail(ErrorCode::kInvalidArgument, "mmap of 0 bytes");
  void* p = ::mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return SysFail("mmap anonymous {} bytes", size_bytes);
  return Mapping(p, size_bytes);
}

Result<Mapping> Mapping::MapFd(int fd, size_t size_bytes, int prot, int flags, off_t offset) {
  if (size_bytes == 0) return Fail(ErrorCode::kInvalidArgument, "mmap of 0 bytes");
  void* p = ::mmap(nullptr, size_bytes, prot, flags, fd, offset);
  if (p == MAP_FAILED) return SysFail("mmap fd {} ({} bytes at {})", fd, size_bytes, offset);
  return Mapping(p, size_bytes);
}

void Mapping::Populate(size_t step_bytes) const {
#ifdef MADV_POPULATE_WRITE
  constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
  constexpr int kPopulateWrite = 23;  // Linux 5.14 uapi value
#endif
  for (size_t off = 0; off < size_; off += step_bytes) {
    const size_t len = std::min(step_bytes, size_ - off);
    if (::madvise(data() + off, len, kPopulateWrite) != 0) return;
  }
}

void Mapping::Reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ftvm
