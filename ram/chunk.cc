#include "ram/chunk.h"

#include <algorithm>
#include <bit>

namespace ftvm::ram {

Result<ChunkGeometry> ChunkGeometry::Create(uint32_t chunk_shift,
                                            std::span<const BlockDesc> table) {
  if (chunk_shift < kMinChunkShift || chunk_shift > kMaxChunkShift) {
    return Fail(ErrorCode::kInvalidArgument, "chunk shift {} outside [{}, {}]", chunk_shift,
                kMinChunkShift, kMaxChunkShift);
  }
  FTVM_TRY(ValidateTable(table));
  ChunkGeometry g;
  g.chunk_shift_ = chunk_shift;
  uint64_t total = 0;
  for (const BlockDesc& desc : table) {
    if (std::countr_zero(desc.page_size) > static_cast<int>(chunk_shift)) {
      return Fail(ErrorCode::kInvalidArgument, "block {}: page size {} exceeds chunk size {}",
                  desc.name, desc.page_size, g.chunk_bytes());
    }
    total += (desc.length + g.chunk_bytes() - 1) >> chunk_shift;
    if (total > UINT32_MAX) {
      return Fail(ErrorCode::kInvalidArgument, "more than 2^32 chunks; use a larger chunk size");
    }
    g.lengths_.push_back(desc.length);
    g.first_.push_back(static_cast<uint32_t>(total));
  }
  return g;
}

ChunkRef ChunkGeometry::FromGlobal(uint32_t id) const {
  // first_ is sorted; the block is the last entry <= id.
  const auto it = std::upper_bound(first_.begin(), first_.end(), id);
  const auto block = static_cast<uint32_t>(it - first_.begin() - 1);
  return ChunkRef{block, id - first_[block]};
}

uint64_t ChunkGeometry::ChunkLength(ChunkRef c) const {
  return std::min(chunk_bytes(), lengths_[c.block] - ChunkOffset(c));
}

}  // namespace ftvm::ram
