#include "base/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace ftvm {
namespace {

TEST(HistogramTest, EmptyIsAllZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0u);
  EXPECT_EQ(h.Percentile(0.99), 0u);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 25u);
  EXPECT_EQ(h.Percentile(1.0), 50u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.sum(), 50u * 51 / 2);
}

TEST(HistogramTest, PercentilesWithinTwoPercentOfSortedSamples) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(14.0, 1.5);  // ~1 ms median, long tail
  std::vector<uint64_t> samples;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact = samples[static_cast<size_t>(q * samples.size()) - 1];
    const auto approx = h.Percentile(q);
    EXPECT_NEAR(static_cast<double>(approx), static_cast<double>(exact), exact * 0.02) << "q=" << q;
  }
  EXPECT_EQ(h.Percentile(1.0), samples.back());
  EXPECT_EQ(h.max(), samples.back());
}

TEST(HistogramTest, HugeValuesDoNotOverflowBuckets) {
  Histogram h;
  h.Record(UINT64_MAX);
  h.Record(1ull << 63);
  EXPECT_EQ(h.max(), UINT64_MAX);
  const uint64_t p50 = h.Percentile(0.5);  // in the bucket of 2^63: [2^63, 2^63 + 2^57)
  EXPECT_GE(p50, 1ull << 63);
  EXPECT_LT(p50, (1ull << 63) + (1ull << 57));
}

}  // namespace
}  // namespace ftvm
