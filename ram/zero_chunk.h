// Zero detection: runs that are entirely zero travel as a compress message (block, offset,
// length) instead of data, in both registration modes; the receiver zeroes the range.
//
// IsZero() reads at memory bandwidth (bench/ram/zero_bench.cc measures it beside a plain read)
// and returns at the first non-zero word, so random data costs one load per page. Pure
// functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ftvm::ram {

bool IsZero(std::span<const std::byte> bytes);

// Splits `bytes` (a whole number of pages of `page_size`) into maximal segments of all-zero pages
// and of pages holding data, in order: fn(offset_bytes, length_bytes, is_zero) -> bool; returning
// false stops the walk.
template <class Fn>
void ForEachZeroSegment(std::span<const std::byte> bytes, uint32_t page_size, Fn&& fn) {
  size_t start = 0;
  bool zero = false;
  for (size_t at = 0; at < bytes.size(); at += page_size) {
    const bool page_zero = IsZero(bytes.subspan(at, page_size));
    if (at == 0) {
      zero = page_zero;
    } else if (page_zero != zero) {
      if (!fn(start, at - start, zero)) return;
      start = at;
      zero = page_zero;
    }
  }
  if (start < bytes.size()) (void)fn(start, bytes.size() - start, zero);
}

}  // namespace ftvm::ram
