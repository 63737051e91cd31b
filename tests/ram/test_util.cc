#include "tests/ram/test_util.h"

#include <cstring>

#include "base/check.h"

namespace ftvm::ram::testing {

std::vector<TestBlock> MakeBlocks(std::span<const BlockSpec> specs) {
  std::vector<TestBlock> out;
  for (const BlockSpec& s : specs) {
    auto memory = Mapping::Anonymous(s.length);
    FTVM_CHECK(memory.has_value(), "map {} bytes", s.length);
    RamBlock view{s.name, memory->bytes(), s.offset, kDefaultPageSize};
    out.push_back(TestBlock{std::move(*memory), view});
  }
  return out;
}

std::vector<RamBlock> Views(const std::vector<TestBlock>& blocks) {
  std::vector<RamBlock> out;
  for (const TestBlock& b : blocks) out.push_back(b.view);
  return out;
}

std::vector<DirtyBitmap> Spans(const std::vector<Bitmap>& bitmaps) {
  return {bitmaps.begin(), bitmaps.end()};
}

Bitmap RandomDirty(uint64_t pages, double fraction, std::mt19937_64& rng) {
  Bitmap bitmap(BitmapWords(pages));
  std::bernoulli_distribution pick(fraction);
  for (uint64_t p = 0; p < pages; ++p) {
    if (pick(rng)) SetPage(bitmap, p);
  }
  return bitmap;
}

Bitmap ClusteredDirty(uint64_t pages, double fraction, uint64_t cluster_pages,
                      std::mt19937_64& rng) {
  Bitmap bitmap(BitmapWords(pages));
  const uint64_t clusters = static_cast<uint64_t>(static_cast<double>(pages) * fraction) /
                            std::max<uint64_t>(cluster_pages, 1);
  for (uint64_t c = 0; c < clusters; ++c) {
    const uint64_t start = rng() % pages;
    for (uint64_t p = start; p < std::min(pages, start + cluster_pages); ++p) SetPage(bitmap, p);
  }
  return bitmap;
}

void FillRandom(std::span<std::byte> bytes, uint64_t seed) {
  uint64_t x = seed | 1;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    x ^= x << 13;  // xorshift64: ~1 ns per word, plenty for test data
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(bytes.data() + i, &x, 8);
  }
  for (; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(x >> (8 * (i % 8)));
}

void Mutate(const RamBlock& block, const Bitmap& dirty, double zero_fraction,
            std::mt19937_64& rng) {
  std::bernoulli_distribution zero(zero_fraction);
  for (uint64_t p = 0; p < block.page_count(); ++p) {
    if (!TestPage(dirty, p)) continue;
    auto page = block.host.subspan(p * block.page_size, block.page_size);
    if (zero(rng)) {
      std::memset(page.data(), 0, page.size());
    } else {
      FillRandom(page, rng());
    }
  }
}

std::vector<BlockSpec> E2eBlocks() {
  return {{"pc.ram", (8 << 20) + 20 * 4096, 0}, {"vga", 256 << 10, 0xa0000}};
}

DirtyPattern RoundPattern(uint64_t round) {
  static constexpr DirtyPattern kPatterns[] = {{0.1, true, 0.0},  {0.02, false, 0.1},
                                               {0.3, true, 0.3},  {0.005, false, 0.0},
                                               {0.6, false, 0.5}, {0.05, true, 0.9}};
  return kPatterns[round % std::size(kPatterns)];
}

PrimaryScript::PrimaryScript(std::span<const BlockSpec> specs, uint64_t seed)
    : blocks_(MakeBlocks(specs)), rng_(seed) {
  for (size_t b = 0; b < blocks_.size(); ++b) FillRandom(blocks_[b].view.host, 1000 + b);
}

std::vector<Bitmap> PrimaryScript::Run(const DirtyPattern& pattern) {
  std::vector<Bitmap> dirty;
  for (const TestBlock& b : blocks_) {
    const uint64_t pages = b.view.page_count();
    dirty.push_back(pattern.clustered ? ClusteredDirty(pages, pattern.fraction, 37, rng_)
                                      : RandomDirty(pages, pattern.fraction, rng_));
    Mutate(b.view, dirty.back(), pattern.zero_fraction, rng_);
  }
  return dirty;
}

}  // namespace ftvm::ram::testing
