#include "rdma/tcp/frame.h"

#include <gtest/gtest.h>

namespace ftvm::rdma::tcp {
namespace {

const FrameLimits kLimits{.max_message_bytes = 4096, .handshake = false};

TEST(FrameTest, HeaderRoundTripsEveryField) {
  const FrameHeader h{.type = FrameType::kWrites,
                      .flags = kFlagAckRequested,
                      .count = 3,
                      .body_bytes = 3 * kWriteDescriptorBytes,
                      .seq = 0x1122334455667788ull,
                      .aux = 99};
  const HeaderBytes bytes = EncodeFrameHeader(h);
  EXPECT_EQ(bytes[0], std::byte{2});
  EXPECT_EQ(bytes[8], std::byte{0x88});  // little-endian seq
  auto d = DecodeFrameHeader(bytes, kLimits);
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->type, h.type);
  EXPECT_EQ(d->flags, h.flags);
  EXPECT_EQ(d->count, h.count);
  EXPECT_EQ(d->body_bytes, h.body_bytes);
  EXPECT_EQ(d->seq, h.seq);
  EXPECT_EQ(d->aux, h.aux);
}

void ExpectRejected(const FrameHeader& h, const FrameLimits& limits = kLimits) {
  auto d = DecodeFrameHeader(EncodeFrameHeader(h), limits);
  ASSERT_FALSE(d) << "type " << static_cast<int>(h.type) << " count " << h.count << " body "
                  << h.body_bytes;
  EXPECT_EQ(d.error().code(), ErrorCode::kProtocol);
}

TEST(FrameTest, HeaderDecoderRejectsEveryInconsistency) {
  HeaderBytes raw{};
  raw[0] = std::byte{0};
  EXPECT_FALSE(DecodeFrameHeader(raw, kLimits));  // type 0
  raw[0] = std::byte{7};
  EXPECT_FALSE(DecodeFrameHeader(raw, kLimits));  // unknown type
  raw[0] = std::byte{4};
  raw[1] = std::byte{0x80};
  EXPECT_FALSE(DecodeFrameHeader(raw, kLimits));  // unknown flag
  ExpectRejected({.type = FrameType::kWrites, .count = 0, .body_bytes = 0});
  ExpectRejected({.type = FrameType::kWrites,
                  .count = kMaxWritesPerFrame + 1,
                  .body_bytes = (kMaxWritesPerFrame + 1) * kWriteDescriptorBytes});
  ExpectRejected({.type = FrameType::kWrites, .count = 2, .body_bytes = 16});
  ExpectRejected({.type = FrameType::kSend, .body_bytes = 4097});
  ExpectRejected({.type = FrameType::kSend, .count = 1, .body_bytes = 10});
  ExpectRejected({.type = FrameType::kAck, .body_bytes = 1});
  ExpectRejected({.type = FrameType::kClose, .body_bytes = 8});
  ExpectRejected({.type = FrameType::kNak, .body_bytes = 10, .aux = 0});
  ExpectRejected({.type = FrameType::kNak, .body_bytes = kMaxNakTextBytes + 1, .aux = 1});
  ExpectRejected({.type = FrameType::kHello, .body_bytes = kHelloBytes});  // after handshake
  ExpectRejected({.type = FrameType::kAck}, FrameLimits{.handshake = true});
  ExpectRejected({.type = FrameType::kHello, .body_bytes = 12}, FrameLimits{.handshake = true});
  ExpectRejected({.type = FrameType::kSend, .body_bytes = 1, .aux = 5});  // aux without a run
  ExpectRejected({.type = FrameType::kSend, .flags = kFlagSendRun, .body_bytes = 1, .aux = 0});
  ExpectRejected({.type = FrameType::kSend, .flags = kFlagSendRun, .aux = kMaxSendRunBytes + 1});
  ExpectRejected({.type = FrameType::kAck, .flags = kFlagSendRun, .aux = 24});
  HeaderBytes run = EncodeFrameHeader({.type = FrameType::kSend, .body_bytes = 4});
  MarkSendRun(&run, 48);
  auto marked = DecodeFrameHeader(run, kLimits);
  ASSERT_TRUE(marked);
  EXPECT_EQ(marked->flags, kFlagSendRun);
  EXPECT_EQ(marked->aux, 48u);
  EXPECT_TRUE(DecodeFrameHeader(EncodeFrameHeader({.type = FrameType::kSend, .body_bytes = 4096}),
                                kLimits));
  EXPECT_TRUE(DecodeFrameHeader(
      EncodeFrameHeader({.type = FrameType::kNak, .body_bytes = 3, .aux = 4}), kLimits));
}

TEST(FrameTest, WriteDescriptorsRoundTripAndMustAddUp) {
  std::vector<std::byte> body;
  AppendWriteDescriptor(&body, {0x1000, 7, 4096});
  AppendWriteDescriptor(&body, {0x9000, 8, 1});
  ASSERT_EQ(body.size(), 2 * kWriteDescriptorBytes);
  FrameHeader h{.type = FrameType::kWrites, .count = 2, .body_bytes = 32, .aux = 4097};
  std::vector<WriteDescriptor> out;
  ASSERT_TRUE(DecodeWriteDescriptors(h, body, &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].remote_addr, 0x1000u);
  EXPECT_EQ(out[0].rkey, 7u);
  EXPECT_EQ(out[1].length, 1u);
  h.aux = 4096;
  EXPECT_EQ(DecodeWriteDescriptors(h, body, &out).error().code(), ErrorCode::kProtocol);
  h.aux = 4097;
  EXPECT_FALSE(DecodeWriteDescriptors(h, std::span(body).first(16), &out));
  std::vector<std::byte> wrap;
  AppendWriteDescriptor(&wrap, {UINT64_MAX - 10, 1, 100});
  const FrameHeader one{.type = FrameType::kWrites, .count = 1, .body_bytes = 16, .aux = 100};
  EXPECT_EQ(DecodeWriteDescriptors(one, wrap, &out).error().code(), ErrorCode::kProtocol);
}

TEST(FrameTest, HelloRoundTripsAndRejectsBadValues) {
  Hello h;
  h.stream_index = 2;
  h.streams = 4;
  h.connection_id = 0xabcdef;
  h.recv_credits = 64;
  h.max_message_bytes = 65536;
  h.send_queue_depth = 1024;
  h.peer_timeout_ms = 1000;
  h.keepalive_interval_ms = 100;
  auto bytes = EncodeHello(h);
  auto d = DecodeHello(bytes);
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->stream_index, 2);
  EXPECT_EQ(d->streams, 4);
  EXPECT_EQ(d->connection_id, 0xabcdefu);
  EXPECT_EQ(d->recv_credits, 64u);
  EXPECT_EQ(d->keepalive_interval_ms, 100u);
  auto corrupt = [&](auto mutate) {
    Hello bad = h;
    mutate(bad);
    return DecodeHello(EncodeHello(bad));
  };
  EXPECT_FALSE(corrupt([](Hello& x) { x.version = 2; }));
  EXPECT_FALSE(corrupt([](Hello& x) { x.stream_index = 4; }));
  EXPECT_FALSE(corrupt([](Hello& x) { x.streams = kMaxStreams + 1; }));
  EXPECT_FALSE(corrupt([](Hello& x) { x.recv_credits = 0; }));
  EXPECT_FALSE(corrupt([](Hello& x) { x.max_message_bytes = kMaxMessageBytesLimit + 1; }));
  bytes[0] = std::byte{'X'};
  EXPECT_FALSE(DecodeHello(bytes));
  EXPECT_FALSE(DecodeHello(std::span(bytes).first(40)));
}

}  // namespace
}  // namespace ftvm::rdma::tcp
