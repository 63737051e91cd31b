// Conformance suite, part 1: registration, writes, ordering, queues and credits. Every provider
// must pass it unchanged (tests/rdma/channel_test_util.h selects providers).
#include <thread>

#include "tests/rdma/conformance_fixture.h"

namespace ftvm::rdma::testing {
namespace {

using std::chrono::milliseconds;
constexpr uint32_t kRw = kAccessLocalWrite | kAccessRemoteWrite;

TEST_P(ConformanceTest, RegistrationReturnsKeysAndDeregistrationInvalidatesThem) {
  ASSERT_TRUE(Connect());
  const Mapping& memory = Memory(8192);
  auto region = client_->RegisterMemory(memory.bytes(), kRw);
  ASSERT_TRUE(region) << region.error().ToString();
  EXPECT_EQ(region->addr, memory.data());
  EXPECT_EQ(region->length, 8192u);
  EXPECT_EQ(region->access, kRw);
  EXPECT_EQ(region->remote_addr(), reinterpret_cast<uint64_t>(memory.data()));
  auto second = client_->RegisterMemory(memory.bytes().first(4096), kAccessLocalWrite);
  ASSERT_TRUE(second);
  EXPECT_NE(second->lkey, region->lkey);
  EXPECT_NE(second->rkey, region->rkey);
  ASSERT_TRUE(client_->DeregisterMemory(*second));
  ASSERT_TRUE(client_->DeregisterMemory(*region));
  auto again = client_->DeregisterMemory(*region);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(ConformanceTest, RegistrationRejectsEmptyMemoryAndRemoteWriteWithoutLocalWrite) {
  ASSERT_TRUE(Connect());
  const Mapping& memory = Memory(4096);
  auto empty = client_->RegisterMemory(memory.bytes().first(0), kRw);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  auto remote_only = client_->RegisterMemory(memory.bytes(), kAccessRemoteWrite);
  ASSERT_FALSE(remote_only);
  EXPECT_EQ(remote_only.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(ConformanceTest, WritesOfEverySizeClassLandExactly) {
  ASSERT_TRUE(Connect());
  constexpr size_t kMax = 16 << 20;
  const size_t guard = 64;
  const Mapping& source = Memory(kMax + 64);
  const Mapping& target = Memory(kMax + 2 * guard, std::byte{0xEE});
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  struct Case {
    uint32_t length;
    size_t local_offset;
    size_t remote_offset;
  };
  const Case cases[] = {{0, 0, guard},       {1, 0, guard},       {4096, 0, guard},
                        {65536, 0, guard},   {1 << 20, 0, guard}, {16 << 20, 0, guard},
                        {4097, 3, guard + 5}};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "length " << c.length << " at +" << c.remote_offset);
    std::fill(target.data(), target.data() + target.size(), std::byte{0xEE});
    FillPattern(source.bytes().subspan(c.local_offset, c.length), seed);
    ASSERT_TRUE(
        client_->PostWrite(Write(seed, src, c.local_offset, dst, c.remote_offset, c.length)));
    auto done = PollFor(*client_, 1, milliseconds(20000));
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].wr_id, seed);
    EXPECT_EQ(done[0].opcode, Opcode::kWrite);
    EXPECT_EQ(done[0].status, CompletionStatus::kSuccess);
    SyncClientToServer();
    const auto landed = target.bytes().subspan(c.remote_offset, c.length);
    EXPECT_TRUE(MatchesPattern(landed, seed));
    EXPECT_TRUE(AllEqual(target.bytes().first(c.remote_offset), std::byte{0xEE}));
    EXPECT_TRUE(AllEqual(target.bytes().subspan(c.remote_offset + c.length), std::byte{0xEE}));
    ++seed;
  }
}

TEST_P(ConformanceTest, BatchOfScatteredWritesCompletesOnceWhenOnlyTheLastIsSignaled) {
  ASSERT_TRUE(Connect());
  constexpr int kWrites = 64;
  const Mapping& source = Memory(kWrites * 4096);
  const Mapping& target = Memory(kWrites * 4096);
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  std::vector<WriteRequest> batch;
  for (int i = 0; i < kWrites; ++i) {
    FillPattern(source.bytes().subspan(i * 4096, 4096), 100 + i);
    // Source page i goes to target page (kWrites - 1 - i): a reversing scatter.
    batch.push_back(Write(i, src, i * 4096, dst, (kWrites - 1 - i) * 4096, 4096,
                          /*signaled=*/i == kWrites - 1));
  }
  ASSERT_TRUE(client_->PostWrites(batch));
  auto done = PollFor(*client_, 1, milliseconds(10000));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].wr_id, kWrites - 1u);
  EXPECT_EQ(done[0].status, CompletionStatus::kSuccess);
  EXPECT_TRUE(PollFor(*client_, 1, milliseconds(100)).empty());
  SyncClientToServer();
  for (int i = 0; i < kWrites; ++i) {
    EXPECT_TRUE(MatchesPattern(target.bytes().subspan((kWrites - 1 - i) * 4096, 4096), 100 + i))
        << "page " << i;
  }
}

TEST_P(ConformanceTest, SignaledCompletionsArriveInPostOrder) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(1 << 20);
  const Mapping& target = Memory(1 << 20);
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  for (uint64_t i = 0; i < 32; ++i) {
    const uint32_t len = i % 2 == 0 ? 65536 : 16;  // large and small interleaved
    ASSERT_TRUE(client_->PostWrite(Write(i, src, 0, dst, (i % 8) * 65536, len, i % 3 != 1)));
  }
  auto done = PollFor(*client_, 21, milliseconds(10000));
  ASSERT_EQ(done.size(), 21u);
  uint64_t expect = 0;
  for (const Completion& c : done) {
    if (expect % 3 == 1) ++expect;
    EXPECT_EQ(c.wr_id, expect++);
    EXPECT_EQ(c.status, CompletionStatus::kSuccess);
  }
}

// Writes then a message, over several streams where the provider has them (tcp: 4): the
// message must not overtake the writes, whichever streams carried them.
TEST_P(ConformanceTest, MessageIsDeliveredOnlyAfterEarlierWritesAreVisible) {
  ChannelOptions options = TestOptions();
  options.streams = 4;
  ASSERT_TRUE(Connect(options, options));
  constexpr size_t kChunk = 256 << 10;
  constexpr int kChunks = 32;
  const Mapping& source = Memory(kChunk * kChunks);
  const Mapping& target = Memory(kChunk * kChunks);
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  for (uint32_t round = 0; round < 8; ++round) {
    std::vector<WriteRequest> writes;
    for (int i = 0; i < kChunks; ++i) {
      FillPattern(source.bytes().subspan(i * kChunk, kChunk), round * 1000 + i);
      writes.push_back(Write(i, src, i * kChunk, dst, i * kChunk, kChunk, false));
    }
    // One large batch, then single posts: both must stay ordered before the message.
    ASSERT_TRUE(client_->PostWrites(std::span(writes).first(kChunks / 2)));
    for (int i = kChunks / 2; i < kChunks; ++i) ASSERT_TRUE(client_->PostWrite(writes[i]));
    ASSERT_TRUE(client_->PostSend(Bytes("written"), 500 + round, /*signaled=*/true));
    auto got = PollFor(*server_, 1, milliseconds(20000));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(Text(got[0].message), "written");
    for (int i = 0; i < kChunks; ++i) {
      ASSERT_TRUE(MatchesPattern(target.bytes().subspan(i * kChunk, kChunk), round * 1000 + i))
          << "round " << round << " chunk " << i;
    }
    auto sent = PollFor(*client_, 1, milliseconds(10000));
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].wr_id, 500 + round);
    EXPECT_EQ(sent[0].opcode, Opcode::kSend);
  }
}

TEST_P(ConformanceTest, MessagesFlowBothWaysInOrderUpToTheMaximumSize) {
  ASSERT_TRUE(Connect());
  const uint32_t max = client_->info().max_message_bytes;
  ASSERT_GE(max, 4096u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client_->PostSend(Bytes(fmt::format("c{}", i)), i));
    ASSERT_TRUE(server_->PostSend(Bytes(fmt::format("s{}", i)), i));
  }
  std::vector<std::byte> big(max);
  FillPattern(big, 77);
  ASSERT_TRUE(client_->PostSend(big, 10));
  std::vector<std::byte> empty;
  ASSERT_TRUE(client_->PostSend(empty, 11));
  auto at_server = PollFor(*server_, 12, milliseconds(10000));
  auto at_client = PollFor(*client_, 10, milliseconds(10000));
  ASSERT_EQ(at_server.size(), 12u);
  ASSERT_EQ(at_client.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Text(at_server[i].message), fmt::format("c{}", i));
    EXPECT_EQ(Text(at_client[i].message), fmt::format("s{}", i));
    EXPECT_EQ(at_client[i].opcode, Opcode::kRecv);
  }
  EXPECT_EQ(at_server[10].message.size(), max);
  EXPECT_TRUE(MatchesPattern(at_server[10].message, 77));
  EXPECT_TRUE(at_server[11].message.empty());
  std::vector<std::byte> too_big(max + 1);
  auto rejected = client_->PostSend(too_big, 12);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client_->state(), ChannelState::kConnected);
}

TEST_P(ConformanceTest, SendQueueBoundRefusesPostsUntilASignaledCompletionIsPolled) {
  ChannelOptions options = TestOptions();
  options.send_queue_depth = 8;
  ASSERT_TRUE(Connect(options, TestOptions()));
  EXPECT_EQ(client_->info().send_queue_depth, 8u);
  const Mapping& source = Memory(4096);
  const Mapping& target = Memory(4096);
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  std::vector<WriteRequest> writes;
  for (int i = 0; i < 8; ++i) writes.push_back(Write(i, src, 0, dst, 0, 64, i == 7));
  ASSERT_TRUE(client_->PostWrites(std::span(writes).first(5)));
  ASSERT_TRUE(client_->PostWrites(std::span(writes).subspan(5, 3)));  // exactly 8: fits
  auto full = client_->PostWrite(Write(8, src, 0, dst, 0, 64));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), ErrorCode::kResourceExhausted);
  auto msg = client_->PostSend(Bytes("x"), 9);
  ASSERT_FALSE(msg);
  EXPECT_EQ(msg.error().code(), ErrorCode::kResourceExhausted);
  auto done = PollFor(*client_, 1, milliseconds(10000));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].wr_id, 7u);
  // Polling the signaled completion freed all eight slots; a batch of 9 still does not fit and
  // is refused whole.
  writes.push_back(Write(8, src, 0, dst, 0, 64, true));
  auto nine = client_->PostWrites(writes);
  ASSERT_FALSE(nine);
  EXPECT_EQ(nine.error().code(), ErrorCode::kResourceExhausted);
  ASSERT_TRUE(client_->PostWrites(std::span(writes).first(8)));
  done = PollFor(*client_, 1, milliseconds(10000));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].wr_id, 7u);
  EXPECT_TRUE(PollFor(*client_, 1, milliseconds(50)).empty());
}

TEST_P(ConformanceTest, CreditWindowHoldsSendsUntilTheReceiverPolls) {
  ChannelOptions server_options = TestOptions();
  server_options.recv_credits = 4;
  ASSERT_TRUE(Connect(TestOptions(), server_options));
  EXPECT_EQ(client_->info().recv_credits, 4u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client_->PostSend(Bytes(fmt::format("m{}", i)), i, /*signaled=*/true));
  }
  // Only the four sends that found a receive buffer complete; the rest wait, never fail.
  auto first = PollFor(*client_, 10, milliseconds(300));
  ASSERT_EQ(first.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(first[i].wr_id, static_cast<uint64_t>(i));
    EXPECT_EQ(first[i].status, CompletionStatus::kSuccess);
  }
  auto received = PollFor(*server_, 10, milliseconds(10000));
  ASSERT_EQ(received.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Text(received[i].message), fmt::format("m{}", i));
  auto rest = PollFor(*client_, 6, milliseconds(10000));
  ASSERT_EQ(rest.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(rest[i].wr_id, static_cast<uint64_t>(4 + i));
}

TEST_P(ConformanceTest, LocalKeyAndRangeAreCheckedAtPostTime) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(4096);
  const Mapping& target = Memory(4096);
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  WriteRequest bad_key = Write(1, src, 0, dst, 0, 16);
  bad_key.lkey = src.lkey + 12345;
  auto r1 = client_->PostWrite(bad_key);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code(), ErrorCode::kInvalidArgument);
  auto r2 = client_->PostWrite(Write(2, src, 4000, dst, 0, 200));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client_->state(), ChannelState::kConnected);
  ASSERT_TRUE(client_->PostWrite(Write(3, src, 0, dst, 0, 16)));
  auto done = PollFor(*client_, 1, milliseconds(10000));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].wr_id, 3u);
}

TEST_P(ConformanceTest, ShutdownWakesABlockedPoll) {
  ASSERT_TRUE(Connect());
  std::optional<Error> error;
  std::thread poller([&] { error = PollUntilError(*client_, milliseconds(20000)); });
  std::this_thread::yield();
  client_->Shutdown();
  poller.join();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kAborted);
  EXPECT_EQ(client_->state(), ChannelState::kClosed);
  auto post = client_->PostSend(Bytes("late"), 1);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().code(), ErrorCode::kFlushed);
}

TEST_P(ConformanceTest, CloseIsSeenByThePeerAfterEarlierMessages) {
  ASSERT_TRUE(Connect());
  ASSERT_TRUE(client_->PostSend(Bytes("bye"), 1));
  auto got = PollFor(*server_, 1, milliseconds(10000));
  ASSERT_EQ(got.size(), 1u);
  client_->Close();
  EXPECT_EQ(client_->state(), ChannelState::kClosed);
  auto error = PollUntilError(*server_, milliseconds(10000));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kClosed) << error->ToString();
  EXPECT_EQ(server_->state(), ChannelState::kClosed);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Providers, ConformanceTest, ::testing::ValuesIn(SelectedProviders()),
                         ProviderTestName);

}  // namespace ftvm::rdma::testing
