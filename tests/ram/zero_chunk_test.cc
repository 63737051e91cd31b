#include "ram/zero_chunk.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

namespace ftvm::ram {
namespace {

TEST(ZeroChunkTest, FindsANonZeroByteAtEveryPositionAndAlignment) {
  std::vector<std::byte> buffer(1200);
  for (size_t start = 0; start < 9; ++start) {
    for (size_t length : {0u, 1u, 7u, 8u, 9u, 255u, 256u, 257u, 600u, 1100u}) {
      auto view = std::span<std::byte>(buffer).subspan(start, length);
      EXPECT_TRUE(IsZero(view));
      for (size_t at = 0; at < length; ++at) {
        view[at] = std::byte{0x80};
        ASSERT_FALSE(IsZero(view)) << "start " << start << " length " << length << " at " << at;
        view[at] = std::byte{0};
      }
    }
  }
}

TEST(ZeroChunkTest, SplitsARunIntoZeroAndDataSegments) {
  constexpr uint32_t kPage = 4096;
  std::vector<std::byte> run(8 * kPage);
  for (size_t page : {2u, 3u, 6u}) run[page * kPage + 100] = std::byte{1};
  std::vector<std::tuple<size_t, size_t, bool>> segments;
  ForEachZeroSegment(run, kPage, [&](size_t at, size_t len, bool zero) {
    segments.emplace_back(at / kPage, len / kPage, zero);
    return true;
  });
  EXPECT_EQ(segments, (std::vector<std::tuple<size_t, size_t, bool>>{
                          {0, 2, true}, {2, 2, false}, {4, 2, true}, {6, 1, false}, {7, 1, true}}));
}

TEST(ZeroChunkTest, AllZeroRunIsOneSegment) {
  std::vector<std::byte> run(4 * 4096);
  int calls = 0;
  ForEachZeroSegment(run, 4096, [&](size_t at, size_t len, bool zero) {
    EXPECT_EQ(at, 0u);
    EXPECT_EQ(len, run.size());
    EXPECT_TRUE(zero);
    ++calls;
    return true;
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ftvm::ram
