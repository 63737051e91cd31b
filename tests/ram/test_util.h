// Guest-memory stand-ins for ram/ tests: owned blocks, dirty-set generators, page mutators.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/mapping.h"
#include "ram/ram_block.h"

namespace ftvm::ram::testing {

struct TestBlock {
  Mapping memory;
  RamBlock view;
};

struct BlockSpec {
  std::string name;
  uint64_t length;
  uint64_t offset = 0;
};

// Anonymous zero-filled blocks; aborts the test binary if memory cannot be mapped.
std::vector<TestBlock> MakeBlocks(std::span<const BlockSpec> specs);
std::vector<RamBlock> Views(const std::vector<TestBlock>& blocks);

using Bitmap = std::vector<uint64_t>;
std::vector<DirtyBitmap> Spans(const std::vector<Bitmap>& bitmaps);

inline void SetPage(Bitmap& bitmap, uint64_t page) { bitmap[page / 64] |= 1ull << (page % 64); }
inline bool TestPage(const Bitmap& bitmap, uint64_t page) {
  return (bitmap[page / 64] >> (page % 64)) & 1;
}

// About fraction * pages pages, uniformly scattered.
Bitmap RandomDirty(uint64_t pages, double fraction, std::mt19937_64& rng);
// About fraction * pages pages in clusters of cluster_pages contiguous pages.
Bitmap ClusteredDirty(uint64_t pages, double fraction, uint64_t cluster_pages,
                      std::mt19937_64& rng);

// Gives every dirty page new content: all zero with probability zero_fraction, else random.
void Mutate(const RamBlock& block, const Bitmap& dirty, double zero_fraction, std::mt19937_64& rng);
// Fills a whole range with pseudo-random bytes (fast; not cryptographic).
void FillRandom(std::span<std::byte> bytes, uint64_t seed);

struct DirtyPattern {
  double fraction = 0.05;
  bool clustered = false;
  double zero_fraction = 0.2;
};

// The guest of the end-to-end tests (both processes of a kill test build the same one).
std::vector<BlockSpec> E2eBlocks();

// The pattern of round i (1-based) in multi-round tests: scattered and clustered, sparse and
// dense, with and without zero pages.
DirtyPattern RoundPattern(uint64_t round);

// The primary's guest in tests: blocks filled with seeded random data, and a deterministic
// sequence of "guest runs" (pages dirtied and rewritten). Two scripts built with the same specs
// and fed the same patterns hold byte-identical memory: a parent process can replay what a
// child primary did before it was killed.
class PrimaryScript {
 public:
  explicit PrimaryScript(std::span<const BlockSpec> specs, uint64_t seed = 42);
  // Dirties and rewrites pages per `pattern`; returns the dirty bitmaps (one per block).
  std::vector<Bitmap> Run(const DirtyPattern& pattern);
  std::vector<TestBlock>& blocks() { return blocks_; }
  const std::vector<TestBlock>& blocks() const { return blocks_; }
  std::vector<RamBlock> views() const { return Views(blocks_); }

 private:
  std::vector<TestBlock> blocks_;
  std::mt19937_64 rng_;
};

}  // namespace ftvm::ram::testing
