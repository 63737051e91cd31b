#include "base/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ftvm {

// Values below 64 map one-to-one onto bucket [0, 64). Above, a value with its highest bit at
// position p (p >= 6) lands in power group p - 5, sub-bucket = the 6 bits below the highest.
unsigned Histogram::BucketOf(uint64_t value) {
  if (value < kSub) return static_cast<unsigned>(value);
  const unsigned p = 63u - static_cast<unsigned>(std::countl_zero(value));
  const unsigned group = p - kSubBits + 1;
  const unsigned sub = static_cast<unsigned>((value >> (p - kSubBits)) & (kSub - 1));
  return group * kSub + sub;
}

uint64_t Histogram::BucketLow(unsigned bucket) {
  const unsigned group = bucket / kSub;
  const uint64_t sub = bucket % kSub;
  if (group == 0) return sub;
  const unsigned p = group + kSubBits - 1;
  return (uint64_t{1} << p) | (sub << (p - kSubBits));
}

void Histogram::Record(uint64_t value) {
  ++buckets_[BucketOf(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

uint64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Rank of the sample wanted, 1-based: the smallest sample with at least q of all at or below.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  if (rank >= count_) return max_;
  uint64_t seen = 0;
  for (unsigned b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      // Report the middle of the bucket, clamped to what was really seen.
      const uint64_t low = BucketLow(b);
      const uint64_t high = b + 1 < buckets_.size() ? BucketLow(b + 1) - 1 : UINT64_MAX;
      const uint64_t mid = low + (high - low) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace ftvm
