#include "base/wire.h"

#include <gtest/gtest.h>

namespace ftvm {
namespace {

TEST(WireTest, RoundTripsLittleEndianFields) {
  WireWriter w;
  w.Put<uint8_t>(0xab).Put<uint16_t>(0x1234).Put<uint32_t>(0xdeadbeef).Put<uint64_t>(1ull << 40);
  w.PutString16("pc.ram");
  auto& bytes = w.buffer();
  ASSERT_EQ(bytes.size(), 1u + 2 + 4 + 8 + 2 + 6);
  EXPECT_EQ(bytes[1], std::byte{0x34});  // little-endian
  WireReader r(bytes);
  EXPECT_EQ(r.Get<uint8_t>(), 0xab);
  EXPECT_EQ(r.Get<uint16_t>(), 0x1234);
  EXPECT_EQ(r.Get<uint32_t>(), 0xdeadbeefu);
  EXPECT_EQ(r.Get<uint64_t>(), 1ull << 40);
  EXPECT_EQ(r.GetString16(), "pc.ram");
  EXPECT_TRUE(r.Finish("test"));
}

TEST(WireTest, ShortInputFailsStickyWithPosition) {
  const std::byte data[3] = {};
  WireReader r(data);
  EXPECT_EQ(r.Get<uint16_t>(), 0);
  EXPECT_EQ(r.Get<uint32_t>(), 0u);  // fails: only 1 byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.Get<uint8_t>(), 0);  // sticky even though a byte remains
  auto f = r.Finish("header");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), ErrorCode::kProtocol);
  EXPECT_EQ(f.error().context(), "decode header: 4 bytes needed at offset 2, only 1 left");
}

TEST(WireTest, StringLengthBeyondInputFails) {
  WireWriter w;
  w.Put<uint16_t>(100);
  WireReader r(w.buffer());
  EXPECT_TRUE(r.GetString16().empty());
  EXPECT_FALSE(r.Finish("name"));
}

TEST(WireTest, TrailingBytesAreAnError) {
  const std::byte data[5] = {};
  WireReader r(data);
  (void)r.Get<uint32_t>();
  EXPECT_FALSE(r.Finish("msg"));
  EXPECT_TRUE(r.Finish("msg", /*allow_trailing=*/true));
}

TEST(WireTest, DecoderCanInvalidate) {
  const std::byte data[1] = {std::byte{9}};
  WireReader r(data);
  if (r.Get<uint8_t>() > 8) r.Invalidate("count 9 > max 8");
  auto f = r.Finish("table");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().context(), "decode table: count 9 > max 8");
}

}  // namespace
}  // namespace ftvm
