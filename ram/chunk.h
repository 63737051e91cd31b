// Chunk geometry: every block is cut into chunks of 2^chunk_shift bytes (the last one may be
// shorter). Chunks are the unit of on-demand registration, of the unregister queue and the upper
// bound of one merged write. A chunk is named by (block, index) on the wire and by a dense global
// id (all chunks of block 0, then block 1, ...) inside ram/.
//
// Value type; immutable after Create(); safe to share between threads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "ram/ram_block.h"

namespace ftvm::ram {

inline constexpr uint32_t kDefaultChunkShift = 20;  // 1 MiB
inline constexpr uint32_t kMinChunkShift = 12;
inline constexpr uint32_t kMaxChunkShift = 30;

struct ChunkRef {
  uint32_t block = 0;
  uint32_t index = 0;
  bool operator==(const ChunkRef&) const = default;
};

class ChunkGeometry {
 public:
  ChunkGeometry() = default;
  // chunk_shift in [kMinChunkShift, kMaxChunkShift] and at least every block's page shift;
  // the table must be valid (ValidateTable). kInvalidArgument otherwise.
  static Result<ChunkGeometry> Create(uint32_t chunk_shift, std::span<const BlockDesc> table);

  uint32_t chunk_shift() const { return chunk_shift_; }
  uint64_t chunk_bytes() const { return uint64_t{1} << chunk_shift_; }
  size_t block_count() const { return lengths_.size(); }
  uint64_t block_length(uint32_t block) const { return lengths_[block]; }
  uint32_t chunks_in(uint32_t block) const { return first_[block + 1] - first_[block]; }
  uint32_t total_chunks() const { return first_.back(); }

  bool Valid(ChunkRef c) const { return c.block < block_count() && c.index < chunks_in(c.block); }
  uint32_t GlobalId(ChunkRef c) const { return first_[c.block] + c.index; }
  ChunkRef FromGlobal(uint32_t id) const;

  uint64_t ChunkOffset(ChunkRef c) const { return uint64_t{c.index} << chunk_shift_; }
  uint64_t ChunkLength(ChunkRef c) const;
  uint32_t ChunkOf(uint64_t offset) const { return static_cast<uint32_t>(offset >> chunk_shift_); }

 private:
  uint32_t chunk_shift_ = kDefaultChunkShift;
  std::vector<uint64_t> lengths_;
  std::vector<uint32_t> first_{0};  // first_[b] = global id of block b's chunk 0; back() = total
};

}  // namespace ftvm::ram
