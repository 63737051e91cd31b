// Verify mode: an XXH3-64 hash of a checkpoint's dirty pages, computed by the primary from guest
// memory while it sends them and by the secondary from its RAM cache before Commit() copies
// anything. A mismatch fails the commit; the checkpoint is never applied.
//
// The hashed byte stream is the content of every dirty page, blocks in table order, pages in
// increasing order; how it is split into Update() calls does not change the result.
// PageHasher is move-only and not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ftvm::ram {

class PageHasher {
 public:
  PageHasher();
  ~PageHasher();
  PageHasher(PageHasher&&) noexcept;
  PageHasher& operator=(PageHasher&&) noexcept;

  void Reset();
  void Update(std::span<const std::byte> bytes);
  uint64_t Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The hash of the pages set in bitmaps[b] of memory[b] (page size page_sizes[b]) for every block.
uint64_t HashDirtyPages(std::span<const std::span<const std::byte>> memory,
                        std::span<const uint32_t> page_sizes,
                        std::span<const std::vector<uint64_t>> bitmaps);

}  // namespace ftvm::ram
