// Dirty bitmaps in KVM layout (bit i % 64 of word i / 64 = page i) and the runs they describe.
//
// Contiguous dirty pages merge into one run; a run never crosses a multiple of `split_pages`
// (the chunk size, or a smaller power-of-two write limit), so each run is one RDMA WRITE into one
// registered chunk. Bits at or beyond `page_count` are ignored everywhere.
// Pure functions on caller-owned spans; thread-compatible.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <type_traits>

namespace ftvm::ram {

struct PageRun {
  uint64_t first_page = 0;
  uint64_t page_count = 0;
  bool operator==(const PageRun&) const = default;
};

// First page >= `from` whose bit equals `value`, or `limit` if none is below it.
uint64_t FindNextBit(std::span<const uint64_t> bitmap, uint64_t from, uint64_t limit, bool value);

// Calls fn(PageRun) for each run of set bits in pages [0, page_count), in increasing order, each
// split at multiples of split_pages (a power of two). The bitmap holds BitmapWords(page_count).
// If fn returns bool, returning false stops the walk.
template <class Fn>
void ForEachDirtyRun(std::span<const uint64_t> bitmap, uint64_t page_count, uint64_t split_pages,
                     Fn&& fn) {
  uint64_t page = 0;
  while (page < page_count) {
    page = FindNextBit(bitmap, page, page_count, true);
    if (page >= page_count) break;
    const uint64_t end = FindNextBit(bitmap, page, page_count, false);
    while (page < end) {
      const uint64_t boundary = (page & ~(split_pages - 1)) + split_pages;
      const uint64_t stop = end < boundary ? end : boundary;
      const PageRun run{page, stop - page};
      if constexpr (std::is_same_v<decltype(fn(run)), bool>) {
        if (!fn(run)) return;
      } else {
        fn(run);
      }
      page = stop;
    }
  }
}

// Number of set bits among pages [0, page_count).
uint64_t CountDirty(std::span<const uint64_t> bitmap, uint64_t page_count);

// dst |= src over pages [0, page_count); bits beyond page_count in dst's last word are cleared.
void OrInto(std::span<uint64_t> dst, std::span<const uint64_t> src, uint64_t page_count);

// Sets pages [0, page_count), clearing the bits beyond.
void SetAll(std::span<uint64_t> bitmap, uint64_t page_count);

// True if no page in [first, first + count) is clear, i.e. every page of the range is set.
bool AllSet(std::span<const uint64_t> bitmap, uint64_t first, uint64_t count);

// Mask of the valid bits of the last word for `page_count` pages (all ones if it is full).
constexpr uint64_t TailMask(uint64_t page_count) {
  const uint64_t rem = page_count % 64;
  return rem == 0 ? ~uint64_t{0} : (uint64_t{1} << rem) - 1;
}

}  // namespace ftvm::ram
