// The secondary's RAM cache: a full copy of guest RAM that receives the primary's RDMA WRITEs
// and compress messages. Guest memory changes only in CopyToGuest(), which RamReceiver calls at
// Commit() with the checkpoint's dirty set plus the secondary's own local dirty pages, and only
// those pages are copied (never the whole cache).
//
// Ownership: the cache owns its memory (anonymous, zero-filled, THP-advised, populated at
// Create() so the first checkpoint does not pay the page faults); the guest blocks
// are views the caller keeps mapped. Move-only; not thread-safe (the receiver's thread).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/mapping.h"
#include "base/result.h"
#include "ram/ram_block.h"

namespace ftvm::ram {

struct CopyStats {
  uint64_t pages = 0;
  uint64_t bytes = 0;
  uint64_t runs = 0;
  uint64_t ns = 0;
};

class RamCache {
 public:
  // One cache block per guest block, same size. The blocks must be valid (ValidateBlocks).
  static Result<RamCache> Create(std::span<const RamBlock> guest);

  size_t block_count() const { return guest_.size(); }
  const RamBlock& guest(uint32_t block) const { return guest_[block]; }
  std::span<std::byte> block(uint32_t b) const { return memory_[b].bytes(); }
  std::vector<std::span<const std::byte>> Blocks() const;

  // Zeroes [offset, offset + length) of a cache block; the range must be valid.
  void Zero(uint32_t block, uint64_t offset, uint64_t length);

  // Copies every page set in dirty[b] or in local[b] (if local is not empty) from the cache to
  // guest memory. Bitmaps hold BitmapWords(page_count) words each (checked by the caller).
  CopyStats CopyToGuest(std::span<const std::vector<uint64_t>> dirty,
                        std::span<const std::span<const uint64_t>> local);

 private:
  std::vector<RamBlock> guest_;
  std::vector<Mapping> memory_;
  std::vector<uint64_t> scratch_;  // dirty | local of one block
};

}  // namespace ftvm::ram
