#include "ram/dirty_bitmap.h"

#include <algorithm>

#include "ram/ram_block.h"

namespace ftvm::ram {

uint64_t FindNextBit(std::span<const uint64_t> bitmap, uint64_t from, uint64_t limit, bool value) {
  if (from >= limit) return limit;
  const uint64_t flip = value ? 0 : ~uint64_t{0};
  size_t word = static_cast<size_t>(from / 64);
  uint64_t bits = (bitmap[word] ^ flip) & (~uint64_t{0} << (from % 64));
  const size_t last_word = static_cast<size_t>((limit - 1) / 64);
  while (bits == 0) {
    if (++word > last_word) return limit;
    bits = bitmap[word] ^ flip;
  }
  return std::min<uint64_t>(uint64_t{word} * 64 + static_cast<uint64_t>(std::countr_zero(bits)),
                            limit);
}

uint64_t CountDirty(std::span<const uint64_t> bitmap, uint64_t page_count) {
  const size_t words = BitmapWords(page_count);
  if (words == 0) return 0;
  uint64_t count = 0;
  for (size_t i = 0; i + 1 < words; ++i) count += static_cast<uint64_t>(std::popcount(bitmap[i]));
  return count + static_cast<uint64_t>(std::popcount(bitmap[words - 1] & TailMask(page_count)));
}

void OrInto(std::span<uint64_t> dst, std::span<const uint64_t> src, uint64_t page_count) {
  const size_t words = BitmapWords(page_count);
  if (words == 0) return;
  for (size_t i = 0; i < words; ++i) dst[i] |= src[i];
  dst[words - 1] &= TailMask(page_count);
}

void SetAll(std::span<uint64_t> bitmap, uint64_t page_count) {
  const size_t words = BitmapWords(page_count);
  if (words == 0) return;
  std::fill_n(bitmap.begin(), words, ~uint64_t{0});
  bitmap[words - 1] = TailMask(page_count);
}

bool AllSet(std::span<const uint64_t> bitmap, uint64_t first, uint64_t count) {
  return FindNextBit(bitmap, first, first + count, false) == first + count;
}

}  // namespace ftvm::ram
