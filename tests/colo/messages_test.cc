#include "colo/messages.h"

#include <gtest/gtest.h>

#include "rdma/message.h"

namespace ftvm::colo {
namespace {

template <class T>
T RoundTrip(const ColoMessage& in) {
  std::vector<std::byte> bytes;
  Encode(in, &bytes);
  EXPECT_TRUE(IsColoMessage(bytes));
  auto out = DecodeColoMessage(bytes);
  EXPECT_TRUE(out) << out.error().ToString();
  EXPECT_TRUE(std::holds_alternative<T>(*out)) << MessageName(*out);
  return std::get<T>(*out);
}

TEST(ColoMessagesTest, HelloRoundTrips) {
  Hello h;
  h.guest = "dirtier";
  h.vcpus = 1;
  h.ram_bytes = 1ull << 30;
  h.registration = 1;
  h.passive = 1;
  h.heartbeat_ms = 100;
  h.guest_args = "rate=1000 range=64M";
  h.ring_bytes = 1 << 20;
  const Hello out = RoundTrip<Hello>(h);
  EXPECT_EQ(out.protocol_version, kColoProtocolVersion);
  EXPECT_EQ(out.guest, "dirtier");
  EXPECT_EQ(out.ram_bytes, 1ull << 30);
  EXPECT_EQ(out.registration, 1);
  EXPECT_EQ(out.passive, 1);
  EXPECT_EQ(out.heartbeat_ms, 100u);
  EXPECT_EQ(out.guest_args, h.guest_args);
  EXPECT_EQ(out.ring_bytes, 1u << 20);
}

TEST(ColoMessagesTest, CheckpointSequenceRoundTrips) {
  EXPECT_EQ(RoundTrip<CheckpointRequest>(CheckpointRequest{7}).seq, 7u);
  EXPECT_EQ(RoundTrip<CheckpointReply>(CheckpointReply{8}).seq, 8u);
  const auto size = RoundTrip<VmstateSize>(VmstateSize{9, 12345, 0xfeed});
  EXPECT_EQ(size.size, 12345u);
  EXPECT_EQ(size.hash, 0xfeedu);
  EXPECT_EQ(size.has_ram_hash, 0u);
  const auto with_ram = RoundTrip<VmstateSize>(VmstateSize{9, 1, 2, 1, 0xabcdef0123456789});
  EXPECT_EQ(with_ram.has_ram_hash, 1u);
  EXPECT_EQ(with_ram.ram_hash, 0xabcdef0123456789u);
  EXPECT_EQ(RoundTrip<VmstateReceived>(VmstateReceived{10}).seq, 10u);
  EXPECT_EQ(RoundTrip<VmstateLoaded>(VmstateLoaded{11}).seq, 11u);
  EXPECT_EQ(RoundTrip<Heartbeat>(Heartbeat{12, 3}).checkpoint, 3u);
  EXPECT_EQ(RoundTrip<Goodbye>(Goodbye{"quit"}).reason, "quit");
  EXPECT_EQ(RoundTrip<HelloAck>(HelloAck{0, "layout mismatch"}).reason, "layout mismatch");
  RoundTrip<CheckpointReady>(CheckpointReady{});
}

TEST(ColoMessagesTest, VmstateDataViewsIntoMessage) {
  const std::byte blob[5] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}, std::byte{5}};
  std::vector<std::byte> bytes;
  Encode(VmstateData{4, 100, blob}, &bytes);
  auto out = DecodeColoMessage(bytes);
  ASSERT_TRUE(out);
  const auto& data = std::get<VmstateData>(*out);
  EXPECT_EQ(data.offset, 100u);
  ASSERT_EQ(data.bytes.size(), 5u);
  EXPECT_EQ(data.bytes[4], std::byte{5});
  EXPECT_GE(data.bytes.data(), bytes.data());
  EXPECT_LE(data.bytes.data() + 5, bytes.data() + bytes.size());
}

TEST(ColoMessagesTest, EveryTruncationIsAProtocolError) {
  std::vector<ColoMessage> all = {Hello{.guest = "counter", .guest_args = "a=1"},
                                  HelloAck{1, "ok"},
                                  CheckpointRequest{1},
                                  CheckpointReply{1},
                                  VmstateSize{1, 2, 3},
                                  VmstateReceived{1},
                                  VmstateLoaded{1},
                                  Heartbeat{1, 2},
                                  Goodbye{"bye"}};
  for (const auto& m : all) {
    std::vector<std::byte> bytes;
    Encode(m, &bytes);
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto out = DecodeColoMessage(std::span(bytes).first(len));
      ASSERT_FALSE(out) << MessageName(m) << " truncated to " << len << " decoded";
      EXPECT_EQ(out.error().code(), ErrorCode::kProtocol);
    }
    bytes.push_back(std::byte{0});
    EXPECT_FALSE(DecodeColoMessage(bytes)) << MessageName(m) << " with a trailing byte";
  }
}

TEST(ColoMessagesTest, RejectsForeignTypesVersionsAndLimits) {
  std::vector<std::byte> bytes;
  rdma::BeginMessage(&bytes, 0x0101, 1).Put<uint64_t>(0);  // a ram/ message
  EXPECT_FALSE(IsColoMessage(bytes));
  EXPECT_FALSE(DecodeColoMessage(bytes));

  rdma::BeginMessage(&bytes, 0x02ff, 1);  // unknown colo type
  auto unknown = DecodeColoMessage(bytes);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().context(), "unknown colo message type 0x02ff");

  Encode(CheckpointRequest{1}, &bytes);
  bytes[2] = std::byte{2};  // version 2
  EXPECT_FALSE(DecodeColoMessage(bytes));

  Encode(VmstateSize{1, kMaxVmstateBytes + 1, 0}, &bytes);
  EXPECT_FALSE(DecodeColoMessage(bytes));

  Encode(VmstateSize{1, 2, 3, 2, 4}, &bytes);  // the RAM-hash flag is 0 or 1
  EXPECT_FALSE(DecodeColoMessage(bytes));

  Hello h;
  h.passive = 2;
  Encode(h, &bytes);
  EXPECT_FALSE(DecodeColoMessage(bytes));
}

}  // namespace
}  // namespace ftvm::colo
