#include "ram/ram_cache.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ram/verify.h"
#include "tests/ram/test_util.h"

namespace ftvm::ram {
namespace {

using testing::Bitmap;

class RamCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::BlockSpec specs[] = {{"a", 64 * 4096}, {"b", 10 * 4096, 1 << 20}};
    guest_ = testing::MakeBlocks(specs);
    auto cache = RamCache::Create(testing::Views(guest_));
    ASSERT_TRUE(cache) << cache.error().ToString();
    cache_.emplace(std::move(*cache));
    for (uint32_t b = 0; b < 2; ++b) testing::FillRandom(cache_->block(b), 100 + b);
  }
  bool PageEqual(uint32_t b, uint64_t page) const {
    return std::memcmp(guest_[b].view.host.data() + page * 4096,
                       cache_->block(b).data() + page * 4096, 4096) == 0;
  }

  std::vector<testing::TestBlock> guest_;
  std::optional<RamCache> cache_;
};

TEST_F(RamCacheTest, CopiesOnlyTheDirtyPages) {
  std::vector<Bitmap> dirty{Bitmap(1), Bitmap(1)};
  testing::SetPage(dirty[0], 3);
  testing::SetPage(dirty[0], 4);
  testing::SetPage(dirty[0], 63);
  testing::SetPage(dirty[1], 9);
  const CopyStats stats = cache_->CopyToGuest(dirty, {});
  EXPECT_EQ(stats.pages, 4u);
  EXPECT_EQ(stats.runs, 3u);
  EXPECT_EQ(stats.bytes, 4u * 4096);
  for (uint64_t p = 0; p < 64; ++p) EXPECT_EQ(PageEqual(0, p), testing::TestPage(dirty[0], p)) << p;
  for (uint64_t p = 0; p < 10; ++p) EXPECT_EQ(PageEqual(1, p), p == 9) << p;
}

TEST_F(RamCacheTest, LocalDirtyPagesAreRestoredFromTheCacheToo) {
  std::vector<Bitmap> dirty{Bitmap(1), Bitmap(1)};
  testing::SetPage(dirty[0], 1);
  std::vector<Bitmap> local{Bitmap(1), Bitmap(1)};
  testing::SetPage(local[0], 2);
  testing::SetPage(local[1], 0);
  const auto spans = testing::Spans(local);
  const CopyStats stats = cache_->CopyToGuest(dirty, spans);
  EXPECT_EQ(stats.pages, 3u);
  EXPECT_TRUE(PageEqual(0, 1));
  EXPECT_TRUE(PageEqual(0, 2));
  EXPECT_TRUE(PageEqual(1, 0));
  EXPECT_FALSE(PageEqual(0, 0));
  EXPECT_FALSE(PageEqual(1, 1));
}

TEST_F(RamCacheTest, ZeroClearsTheRange) {
  cache_->Zero(0, 4096, 8192);
  std::vector<std::byte> zeros(8192);
  EXPECT_EQ(std::memcmp(cache_->block(0).data() + 4096, zeros.data(), 8192), 0);
  EXPECT_NE(cache_->block(0)[0], std::byte{0});  // random data before the range survives...
  EXPECT_FALSE(std::memcmp(cache_->block(0).data() + 3 * 4096, zeros.data(), 4096) == 0);
}

TEST(VerifyTest, HashCoversExactlyTheDirtyPagesInOrder) {
  std::vector<std::byte> mem(8 * 4096);
  testing::FillRandom(mem, 5);
  const std::vector<std::span<const std::byte>> blocks{mem};
  const std::vector<uint32_t> pages{4096};
  std::vector<Bitmap> dirty{Bitmap{0b1011}};
  const uint64_t h = HashDirtyPages(blocks, pages, dirty);

  PageHasher streamed;  // the sender's way: one update per run
  streamed.Update(std::span(mem).first(2 * 4096));
  streamed.Update(std::span(mem).subspan(3 * 4096, 4096));
  EXPECT_EQ(streamed.Digest(), h);

  mem[2 * 4096] ^= std::byte{1};  // a clean page changes: same hash
  EXPECT_EQ(HashDirtyPages(blocks, pages, dirty), h);
  mem[3 * 4096 + 4095] ^= std::byte{1};  // a dirty page changes: different hash
  EXPECT_NE(HashDirtyPages(blocks, pages, dirty), h);
}

}  // namespace
}  // namespace ftvm::ram
