// A fixed-size log-linear histogram of non-negative integer samples (nanoseconds, bytes).
//
// Values are bucketed by their power of two, each power split into 64 linear sub-buckets, so
// a percentile is within 1/64 (1.6 %) of the true sample value; count, sum, min and max are
// exact. Memory is constant (~21 KiB) however many samples are recorded. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace ftvm {

class Histogram {
 public:
  void Record(uint64_t value);
  void Reset() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  uint64_t mean() const { return count_ == 0 ? 0 : sum_ / count_; }
  // The value below which `q` (0..1) of the samples fall; 0 when empty. Percentile(1) == max().
  uint64_t Percentile(double q) const;

 private:
  static constexpr unsigned kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr unsigned kSub = 1u << kSubBits;
  static constexpr unsigned kPowers = 64 - kSubBits + 1;
  static unsigned BucketOf(uint64_t value);
  static uint64_t BucketLow(unsigned bucket);

  std::array<uint64_t, kPowers * kSub> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace ftvm
