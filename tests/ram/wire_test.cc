#include "ram/wire.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ftvm::ram {
namespace {

std::vector<BlockDesc> Table() {
  return {{"pc.ram", 0, 64 << 20, 4096}, {"rom", 0xfffc0000, 256 << 10, 4096}};
}

std::vector<Message> Samples() {
  return {
      BlockTableRequest{RegistrationMode::kOnDemand, 20, true, 8 << 20, Table()},
      BlockTableResult{true, "", 8 << 20, {{0x7f0000000000, 0}, {0x7f1000000000, 0}}},
      BlockTableResult{false, "block 1: local name rom, remote name bios", 0, {}},
      RegisterRequest{{{0, 1}, {0, 63}, {1, 0}}},
      RegisterResult{true, "", {{{0, 1}, 17}, {{1, 0}, 99}}},
      RegisterResult{false, "memlock limit", {}},
      Unregister{{{0, 5}}},
      Compress{7, {{0, 4096, 8192}, {1, 0, 4096}}},
      CheckpointBegin{7, true},
      CheckpointBegin{8, false, true},
      DirtySet{7, 0, 3, {1, 0, ~0ull}},
      CheckpointEnd{7, 2, 1234, true, 0xdeadbeefcafef00dull},
      CheckpointAck{7, AckStatus::kVerifyFailed},
  };
}

std::vector<std::byte> Encoded(const Message& m) {
  std::vector<std::byte> out;
  Encode(m, &out);
  return out;
}

TEST(RamWireTest, EveryMessageRoundTrips) {
  for (const Message& m : Samples()) {
    const auto bytes = Encoded(m);
    ASSERT_TRUE(IsRamMessage(bytes));
    auto decoded = Decode(bytes);
    ASSERT_TRUE(decoded) << decoded.error().ToString();
    ASSERT_EQ(decoded->index(), m.index());
    EXPECT_EQ(Encoded(*decoded), bytes) << "message " << m.index();
  }
}

TEST(RamWireTest, EveryTruncationIsAProtocolError) {
  for (const Message& m : Samples()) {
    const auto bytes = Encoded(m);
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = Decode(std::span(bytes).first(n));
      ASSERT_FALSE(decoded) << "message " << m.index() << " cut at " << n;
      EXPECT_EQ(decoded.error().code(), ErrorCode::kProtocol);
    }
  }
}

TEST(RamWireTest, TrailingBytesAreRejected) {
  for (const Message& m : Samples()) {
    auto bytes = Encoded(m);
    bytes.push_back(std::byte{0});
    EXPECT_FALSE(Decode(bytes)) << "message " << m.index();
  }
}

TEST(RamWireTest, UnknownTypeVersionAndForeignRangeAreRejected) {
  auto bytes = Encoded(CheckpointAck{1, AckStatus::kCommitted});
  auto with_header = [&](uint16_t type, uint16_t version) {
    auto copy = bytes;
    std::memcpy(copy.data(), &type, 2);
    std::memcpy(copy.data() + 2, &version, 2);
    return copy;
  };
  EXPECT_FALSE(Decode(with_header(0x01ff, kWireVersion)));
  EXPECT_FALSE(Decode(with_header(0x010a, kWireVersion + 1)));
  EXPECT_FALSE(IsRamMessage(with_header(0x0201, kWireVersion)));
  EXPECT_FALSE(Decode(with_header(0x0201, kWireVersion)));
  EXPECT_TRUE(Decode(with_header(0x010a, kWireVersion)));
}

TEST(RamWireTest, OutOfRangeEnumsAndFlagsAreRejected) {
  auto ack = Encoded(CheckpointAck{1, AckStatus::kCommitted});
  ack.back() = std::byte{3};
  EXPECT_FALSE(Decode(ack));
  auto begin = Encoded(CheckpointBegin{1, false});
  begin.back() = std::byte{0x80};  // unknown flag bit
  EXPECT_FALSE(Decode(begin));
  begin = Encoded(CheckpointBegin{1, true});
  begin[begin.size() - 4] = std::byte{3};  // full and sync round at once
  EXPECT_FALSE(Decode(begin));
  auto request = Encoded(BlockTableRequest{RegistrationMode::kPinAll, 20, false, 0, Table()});
  request[4] = std::byte{2};  // mode
  EXPECT_FALSE(Decode(request));
  request = Encoded(BlockTableRequest{RegistrationMode::kPinAll, 20, false, 0, Table()});
  request[6] = std::byte{2};  // verify is a boolean
  EXPECT_FALSE(Decode(request));
  request[6] = std::byte{0};
  request[5] = std::byte{40};  // chunk shift
  EXPECT_FALSE(Decode(request));
}

TEST(RamWireTest, HugeCountsAreRejectedBeforeAllocating) {
  std::vector<std::byte> out;
  WireWriter w =
      rdma::BeginMessage(&out, static_cast<uint16_t>(MessageType::kCompress), kWireVersion);
  w.Put<uint64_t>(1).Put<uint32_t>(0xffffffff);
  auto decoded = Decode(out);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().context().find("count"), std::string::npos);
}

TEST(RamWireTest, BlockTableWithInvalidBlocksIsAProtocolError) {
  auto table = Table();
  table[1].length = 1000;  // not a page multiple
  auto decoded = Decode(Encoded(BlockTableRequest{RegistrationMode::kPinAll, 20, false, 0, table}));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code(), ErrorCode::kProtocol);
}

TEST(RamWireTest, GeometryChecksCatchOutOfRangeValues) {
  const auto table = Table();
  auto g = ChunkGeometry::Create(20, table);
  ASSERT_TRUE(g);
  EXPECT_TRUE(CheckChunk(*g, {0, 63}));
  EXPECT_FALSE(CheckChunk(*g, {0, 64}));
  EXPECT_FALSE(CheckChunk(*g, {2, 0}));
  EXPECT_TRUE(CheckZeroRange(table, {1, 0, 256 << 10}));
  EXPECT_FALSE(CheckZeroRange(table, {1, 4096, 256 << 10}));     // past the end
  EXPECT_FALSE(CheckZeroRange(table, {1, 100, 4096}));           // unaligned
  EXPECT_FALSE(CheckZeroRange(table, {1, 0, 0}));                // empty
  EXPECT_FALSE(CheckZeroRange(table, {0, ~0ull - 4095, 8192}));  // wraps
  EXPECT_FALSE(CheckZeroRange(table, {2, 0, 4096}));             // no such block
  EXPECT_TRUE(CheckDirtySet(table, {1, 1, 0, {~0ull}}));         // 64 pages: full word
  EXPECT_FALSE(CheckDirtySet(table, {1, 1, 1, {1}}));            // word 1 of 1
  EXPECT_FALSE(CheckDirtySet(table, {1, 0, 0, {}}));             // empty
  EXPECT_FALSE(CheckDirtySet(table, {1, 0, 0xffffffff, {1}}));   // far out
  const std::vector<BlockDesc> odd{{"odd", 0, 10 * 4096, 4096}};
  EXPECT_TRUE(CheckDirtySet(odd, {1, 0, 0, {0x3ff}}));
  EXPECT_FALSE(CheckDirtySet(odd, {1, 0, 0, {0x400}}));  // page 10 of 10
}

}  // namespace
}  // namespace ftvm::ram
