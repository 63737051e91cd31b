#include "ram/chunk.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ram/dirty_bitmap.h"
#include "ram/ram_block.h"

namespace ftvm::ram {
namespace {

std::vector<BlockDesc> Table() {
  return {{"pc.ram", 0, 3 * (1 << 20) + 8192, 4096}, {"vga", 1ull << 32, 4096, 4096}};
}

TEST(RamBlockTest, RejectsBadDescriptions) {
  EXPECT_TRUE(ValidateTable(Table()));
  auto bad = Table();
  bad[1].name = "pc.ram";
  EXPECT_FALSE(ValidateTable(bad));
  bad = Table();
  bad[0].length = 4097;
  EXPECT_FALSE(ValidateTable(bad));
  bad = Table();
  bad[0].page_size = 3000;
  EXPECT_FALSE(ValidateTable(bad));
  bad = Table();
  bad[0].name = "";
  EXPECT_FALSE(ValidateTable(bad));
  bad = Table();
  bad[0].length = kMaxBlockBytes + 4096;
  EXPECT_FALSE(ValidateTable(bad));
  EXPECT_FALSE(ValidateTable({}));
}

TEST(RamBlockTest, MatchTablesNamesTheDifference) {
  EXPECT_TRUE(MatchTables(Table(), Table()));
  auto other = Table();
  other[1].length = 8192;
  auto match = MatchTables(Table(), other);
  ASSERT_FALSE(match);
  EXPECT_NE(match.error().context().find("vga"), std::string::npos);
  other = Table();
  other.pop_back();
  EXPECT_FALSE(MatchTables(Table(), other));
}

TEST(ChunkGeometryTest, CutsBlocksIntoChunksWithAShortLastOne) {
  auto g = ChunkGeometry::Create(20, Table());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->chunks_in(0), 4u);  // 3 MiB + 8 KiB
  EXPECT_EQ(g->chunks_in(1), 1u);
  EXPECT_EQ(g->total_chunks(), 5u);
  EXPECT_EQ(g->ChunkLength({0, 3}), 8192u);
  EXPECT_EQ(g->ChunkLength({0, 2}), 1u << 20);
  EXPECT_EQ(g->ChunkLength({1, 0}), 4096u);
  for (uint32_t id = 0; id < g->total_chunks(); ++id) {
    EXPECT_EQ(g->GlobalId(g->FromGlobal(id)), id);
  }
  EXPECT_EQ(g->FromGlobal(4), (ChunkRef{1, 0}));
  EXPECT_FALSE(g->Valid({0, 4}));
  EXPECT_FALSE(g->Valid({2, 0}));
  EXPECT_FALSE(ChunkGeometry::Create(11, Table()));
  EXPECT_FALSE(ChunkGeometry::Create(31, Table()));
}

std::vector<PageRun> Runs(const std::vector<uint64_t>& bitmap, uint64_t pages, uint64_t split) {
  std::vector<PageRun> runs;
  ForEachDirtyRun(bitmap, pages, split, [&](PageRun r) { runs.push_back(r); });
  return runs;
}

TEST(DirtyBitmapTest, MergesContiguousPagesAcrossWords) {
  std::vector<uint64_t> bitmap(3, 0);
  bitmap[0] = 0xf000'0000'0000'0001ull;  // page 0, pages 60..63
  bitmap[1] = 0x0000'0000'0000'000full;  // pages 64..67
  bitmap[2] = 1ull << 10;                // page 138
  EXPECT_EQ(Runs(bitmap, 192, 1 << 20), (std::vector<PageRun>{{0, 1}, {60, 8}, {138, 1}}));
  EXPECT_EQ(CountDirty(bitmap, 192), 10u);
}

TEST(DirtyBitmapTest, SplitsRunsAtChunkBoundaries) {
  std::vector<uint64_t> bitmap(2, ~0ull);
  EXPECT_EQ(Runs(bitmap, 100, 32), (std::vector<PageRun>{{0, 32}, {32, 32}, {64, 32}, {96, 4}}));
}

TEST(DirtyBitmapTest, IgnoresBitsBeyondThePageCount) {
  std::vector<uint64_t> bitmap(1, ~0ull);
  EXPECT_EQ(Runs(bitmap, 10, 256), (std::vector<PageRun>{{0, 10}}));
  EXPECT_EQ(CountDirty(bitmap, 10), 10u);
  std::vector<uint64_t> dst(1, 0);
  OrInto(dst, bitmap, 10);
  EXPECT_EQ(dst[0], 0x3ffull);
  SetAll(dst, 64);
  EXPECT_EQ(dst[0], ~0ull);
}

TEST(DirtyBitmapTest, StopsWhenTheCallbackSaysSo) {
  std::vector<uint64_t> bitmap(1, 0x5555);
  int calls = 0;
  ForEachDirtyRun(bitmap, 64, 64, [&](PageRun) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
}

TEST(DirtyBitmapTest, RunsMatchAPageByPageScanOnRandomBitmaps) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const uint64_t pages = 1 + rng() % 700;
    std::vector<uint64_t> bitmap(BitmapWords(pages));
    for (auto& w : bitmap) w = rng() & rng();
    const uint64_t split = uint64_t{1} << (rng() % 8);
    std::vector<bool> seen(pages, false);
    for (const PageRun& r : Runs(bitmap, pages, split)) {
      ASSERT_GT(r.page_count, 0u);
      ASSERT_LE(r.first_page + r.page_count, pages);
      // Never crosses a split boundary.
      ASSERT_EQ(r.first_page / split, (r.first_page + r.page_count - 1) / split);
      for (uint64_t p = r.first_page; p < r.first_page + r.page_count; ++p) seen[p] = true;
    }
    for (uint64_t p = 0; p < pages; ++p) {
      ASSERT_EQ(seen[p], ((bitmap[p / 64] >> (p % 64)) & 1) == 1) << "page " << p;
    }
    EXPECT_EQ(AllSet(bitmap, 0, pages), CountDirty(bitmap, pages) == pages);
  }
}

}  // namespace
}  // namespace ftvm::ram
