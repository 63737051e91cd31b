// The secondary against a hand-driven (and often hostile) primary: every malformed or
// out-of-place message is rejected, the channel closed, and guest memory never touched.
#include "ram/receiver.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/ram/loopback_channel.h"
#include "tests/ram/test_util.h"

namespace ftvm::ram {
namespace {

using testing::Bitmap;
using testing::LoopbackChannel;

constexpr uint64_t kPages = 64;

class ReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [a, b] = LoopbackChannel::CreatePair();
    primary_ = std::move(a);
    secondary_ = std::move(b);
    const testing::BlockSpec specs[] = {{"pc.ram", kPages * 4096}, {"rom", 16 * 4096, 1 << 30}};
    guest_ = testing::MakeBlocks(specs);
    for (size_t i = 0; i < guest_.size(); ++i) testing::FillRandom(guest_[i].view.host, 9 + i);
    before_ = Snapshot();
    MakeReceiver(0);
  }
  void MakeReceiver(uint64_t budget) {
    auto receiver =
        RamReceiver::Create(secondary_.get(), testing::Views(guest_), ReceiverOptions{budget});
    ASSERT_TRUE(receiver);
    receiver_ = std::move(*receiver);
  }

  std::vector<std::vector<std::byte>> Snapshot() const {
    std::vector<std::vector<std::byte>> out;
    for (const auto& b : guest_) out.emplace_back(b.view.host.begin(), b.view.host.end());
    return out;
  }
  bool GuestUntouched() const { return Snapshot() == before_; }

  Result<void> Send(const Message& m) {
    std::vector<std::byte> bytes;
    Encode(m, &bytes);
    return receiver_->HandleMessage(bytes);
  }
  // The next reply the receiver sent to the primary, decoded.
  Message Reply() {
    std::vector<rdma::Completion> c(1);
    for (;;) {
      auto n = primary_->Poll(c, std::chrono::seconds(1));
      EXPECT_TRUE(n && *n == 1);
      if (!n || *n == 0) return CheckpointAck{};
      if (c[0].opcode != rdma::Opcode::kRecv) continue;
      auto m = Decode(c[0].message);
      EXPECT_TRUE(m);
      return m ? *m : Message{CheckpointAck{}};
    }
  }
  BlockTableRequest Table(RegistrationMode mode, bool verify = false) const {
    return {mode, 16, verify, 0, DescribeAll(testing::Views(guest_))};
  }
  // On-demand receivers pin at most 4 chunks of 64 KiB.
  void Configure(RegistrationMode mode, bool verify = false) {
    if (mode == RegistrationMode::kOnDemand) MakeReceiver(4 << 16);
    ASSERT_TRUE(Send(Table(mode, verify)));
    auto* result = std::get_if<BlockTableResult>(&(table_ = Reply()));
    ASSERT_TRUE(result != nullptr && result->accepted);
  }
  // Commits a full checkpoint in which every page is zero (no writes needed).
  void CommitFullZero(uint64_t id) {
    ASSERT_TRUE(Send(CheckpointBegin{id, true}));
    Bitmap all0(1, ~0ull), all1(1, 0xffff);
    ASSERT_TRUE(Send(DirtySet{id, 0, 0, all0}));
    ASSERT_TRUE(Send(DirtySet{id, 1, 0, all1}));
    ASSERT_TRUE(Send(Compress{id, {{0, 0, kPages * 4096}, {1, 0, 16 * 4096}}}));
    ASSERT_TRUE(Send(CheckpointEnd{id, 2, kPages + 16, false, 0}));
    ASSERT_TRUE(receiver_->CheckpointReceived());
    ASSERT_TRUE(receiver_->Commit({}));
    before_ = Snapshot();
    (void)Reply();  // the ack
  }
  void ExpectRejected(const Message& m) {
    auto handled = Send(m);
    ASSERT_FALSE(handled);
    EXPECT_EQ(handled.error().code(), ErrorCode::kProtocol) << handled.error().ToString();
    EXPECT_TRUE(receiver_->failed());
    EXPECT_NE(secondary_->state(), rdma::ChannelState::kConnected);  // closed on us
    EXPECT_NE(primary_->state(), rdma::ChannelState::kConnected);    // the peer sees it
    EXPECT_TRUE(GuestUntouched());
    EXPECT_FALSE(receiver_->Commit({}));
  }

  std::unique_ptr<LoopbackChannel> primary_, secondary_;
  std::vector<testing::TestBlock> guest_;
  std::vector<std::vector<std::byte>> before_;
  std::unique_ptr<RamReceiver> receiver_;
  Message table_;
};

TEST_F(ReceiverTest, ValidCheckpointWithAWriteIsCommitted) {
  Configure(RegistrationMode::kPinAll);
  CommitFullZero(1);
  const auto& remote = std::get<BlockTableResult>(table_).blocks;
  std::vector<std::byte> page(4096, std::byte{0x5a});
  auto source = primary_->RegisterMemory(page, rdma::kAccessLocalWrite);
  ASSERT_TRUE(source);
  ASSERT_TRUE(Send(CheckpointBegin{2, false}));
  ASSERT_TRUE(Send(DirtySet{2, 0, 0, {1ull << 5}}));
  ASSERT_TRUE(primary_->PostWrite({1, page.data(), source->lkey, 4096,
                                   remote[0].remote_addr + 5 * 4096, remote[0].rkey, true}));
  EXPECT_TRUE(GuestUntouched());  // the write landed in the cache only
  ASSERT_TRUE(Send(CheckpointEnd{2, 1, 1, false, 0}));
  auto committed = receiver_->Commit({});
  ASSERT_TRUE(committed) << committed.error().ToString();
  EXPECT_EQ(committed->pages, 1u);
  EXPECT_EQ(std::memcmp(guest_[0].view.host.data() + 5 * 4096, page.data(), 4096), 0);
  EXPECT_EQ(guest_[0].view.host[4 * 4096], std::byte{0});
}

TEST_F(ReceiverTest, MessageBeforeTheBlockTableIsRejected) {
  ExpectRejected(CheckpointBegin{1, true});
}

TEST_F(ReceiverTest, MismatchedBlockTableIsAnsweredWithTheReason) {
  BlockTableRequest request = Table(RegistrationMode::kPinAll);
  request.blocks[1].length = 8 * 4096;
  auto handled = Send(request);
  ASSERT_FALSE(handled);
  auto* result = std::get_if<BlockTableResult>(&(table_ = Reply()));
  ASSERT_NE(result, nullptr);
  EXPECT_FALSE(result->accepted);
  EXPECT_NE(result->reason.find("rom"), std::string::npos) << result->reason;
  EXPECT_TRUE(receiver_->failed());
}

TEST_F(ReceiverTest, SecondBlockTableIsRejected) {
  Configure(RegistrationMode::kPinAll);
  ExpectRejected(Table(RegistrationMode::kPinAll));
}

TEST_F(ReceiverTest, IncrementalCheckpointBeforeAFullOneIsRejected) {
  Configure(RegistrationMode::kPinAll);
  ExpectRejected(CheckpointBegin{1, false});
}

TEST_F(ReceiverTest, CheckpointIdsMustIncrease) {
  Configure(RegistrationMode::kPinAll);
  CommitFullZero(5);
  ExpectRejected(CheckpointBegin{5, false});
}

TEST_F(ReceiverTest, CompressOutsideTheDirtySetIsRejectedBeforeZeroingAnything) {
  Configure(RegistrationMode::kPinAll);
  CommitFullZero(1);
  testing::FillRandom(receiver_->cache().block(0), 3);  // so that zeroing would show
  const std::vector<std::byte> cache_before(receiver_->cache().block(0).begin(),
                                            receiver_->cache().block(0).end());
  ASSERT_TRUE(Send(CheckpointBegin{2, false}));
  ASSERT_TRUE(Send(DirtySet{2, 0, 0, {0b10}}));
  // The first range is fine, the second covers a clean page: nothing at all is zeroed.
  ExpectRejected(Compress{2, {{0, 4096, 4096}, {0, 8192, 4096}}});
  EXPECT_TRUE(
      std::equal(cache_before.begin(), cache_before.end(), receiver_->cache().block(0).begin()));
}

TEST_F(ReceiverTest, OutOfRangeCompressIsRejected) {
  Configure(RegistrationMode::kPinAll);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  ExpectRejected(Compress{1, {{0, ~0ull - 4095, 8192}}});
}

TEST_F(ReceiverTest, CompressIntoAMissingBlockIsRejected) {
  Configure(RegistrationMode::kPinAll);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  ExpectRejected(Compress{1, {{7, 0, 4096}}});
}

TEST_F(ReceiverTest, DirtySetBeyondTheBlockIsRejected) {
  Configure(RegistrationMode::kPinAll);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  ExpectRejected(DirtySet{1, 1, 0, {1ull << 16}});  // page 16 of a 16-page block
}

TEST_F(ReceiverTest, MessagesOfAnotherCheckpointAreRejected) {
  Configure(RegistrationMode::kPinAll);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  ExpectRejected(DirtySet{2, 0, 0, {1}});
}

TEST_F(ReceiverTest, EndWithWrongCountsIsRejectedAndNothingIsApplied) {
  Configure(RegistrationMode::kPinAll);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  ASSERT_TRUE(Send(DirtySet{1, 0, 0, {~0ull}}));
  ExpectRejected(CheckpointEnd{1, 1, kPages, false, 0});  // a full checkpoint misses block 1
}

TEST_F(ReceiverTest, CommitWithoutACompleteCheckpointIsRefused) {
  Configure(RegistrationMode::kPinAll);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  auto committed = receiver_->Commit({});
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(receiver_->failed());
  EXPECT_TRUE(GuestUntouched());
}

TEST_F(ReceiverTest, HashMismatchIsNeverApplied) {
  Configure(RegistrationMode::kPinAll, /*verify=*/true);
  ASSERT_TRUE(Send(CheckpointBegin{1, true}));
  ASSERT_TRUE(Send(DirtySet{1, 0, 0, {~0ull}}));
  ASSERT_TRUE(Send(DirtySet{1, 1, 0, {0xffff}}));
  ASSERT_TRUE(Send(Compress{1, {{0, 0, kPages * 4096}, {1, 0, 16 * 4096}}}));
  ASSERT_TRUE(Send(CheckpointEnd{1, 2, kPages + 16, true, 12345}));
  auto committed = receiver_->Commit({});
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error().code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(GuestUntouched());
  auto* ack = std::get_if<CheckpointAck>(&(table_ = Reply()));
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->status, AckStatus::kVerifyFailed);
  EXPECT_EQ(receiver_->stats().verify_failures, 1u);
}

TEST_F(ReceiverTest, RegisterRequestInPinAllModeIsRejected) {
  Configure(RegistrationMode::kPinAll);
  ExpectRejected(RegisterRequest{{{0, 0}}});
}

TEST_F(ReceiverTest, RegisterRequestForAMissingChunkIsRejected) {
  Configure(RegistrationMode::kOnDemand);
  ExpectRejected(RegisterRequest{{{0, 4}}});  // 64 pages = chunks 0..3
}

TEST_F(ReceiverTest, RegisteringBeyondTheBudgetIsRejected) {
  Configure(RegistrationMode::kOnDemand);  // budget: 4 chunks of 64 KiB
  ASSERT_TRUE(Send(RegisterRequest{{{0, 0}, {0, 1}, {0, 2}, {0, 3}}}));
  auto* result = std::get_if<RegisterResult>(&(table_ = Reply()));
  ASSERT_TRUE(result != nullptr && result->ok);
  EXPECT_EQ(result->chunks.size(), 4u);
  ExpectRejected(RegisterRequest{{{1, 0}}});
}

TEST_F(ReceiverTest, UnregisteringAnUnknownChunkIsRejected) {
  Configure(RegistrationMode::kOnDemand);
  ExpectRejected(Unregister{{{0, 1}}});
}

TEST_F(ReceiverTest, UnregisteredChunkCannotBeWrittenAnyMore) {
  Configure(RegistrationMode::kOnDemand);
  ASSERT_TRUE(Send(RegisterRequest{{{0, 2}}}));
  const auto result = std::get<RegisterResult>(Reply());
  ASSERT_TRUE(Send(Unregister{{{0, 2}}}));
  EXPECT_EQ(receiver_->stats().pinned_bytes, 0u);
  std::vector<std::byte> page(4096, std::byte{1});
  auto source = primary_->RegisterMemory(page, rdma::kAccessLocalWrite);
  ASSERT_TRUE(source);
  const uint64_t target =
      reinterpret_cast<uint64_t>(receiver_->cache().block(0).data()) + 2 * 65536;
  ASSERT_TRUE(primary_->PostWrite(
      {1, page.data(), source->lkey, 4096, target, result.chunks[0].rkey, true}));
  std::vector<rdma::Completion> c(1);
  auto n = primary_->Poll(c, std::chrono::seconds(1));
  ASSERT_TRUE(n && *n == 1);
  EXPECT_EQ(c[0].status, rdma::CompletionStatus::kRemoteAccessError);
  EXPECT_NE(receiver_->cache().block(0)[2 * 65536], std::byte{1});
}

TEST_F(ReceiverTest, MessagesOfOtherLayersAreNotTheReceiversBusiness) {
  std::vector<std::byte> colo;
  rdma::BeginMessage(&colo, 0x0204, 1).Put<uint64_t>(1);
  auto handled = receiver_->HandleMessage(colo);
  ASSERT_FALSE(handled);
  EXPECT_EQ(handled.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(receiver_->failed());
  EXPECT_EQ(secondary_->state(), rdma::ChannelState::kConnected);
}

TEST_F(ReceiverTest, FailureIsSticky) {
  Configure(RegistrationMode::kPinAll);
  ExpectRejected(CheckpointAck{1, AckStatus::kCommitted});  // a primary-bound message
  EXPECT_FALSE(Send(CheckpointBegin{1, true}));
  EXPECT_TRUE(receiver_->failed());
}

TEST_F(ReceiverTest, DiscardMidCheckpointDropsTheRestAndAcksAfterEnd) {
  Configure(RegistrationMode::kPinAll);
  CommitFullZero(1);
  ASSERT_TRUE(Send(CheckpointBegin{2, false}));
  ASSERT_TRUE(Send(DirtySet{2, 0, 0, {0b1}}));
  receiver_->Discard();
  EXPECT_EQ(receiver_->state(), ReceiverState::kDiscarding);
  testing::FillRandom(receiver_->cache().block(0).first(4096), 77);
  ASSERT_TRUE(Send(Compress{2, {{0, 0, 4096}}}));  // dropped, not applied
  EXPECT_NE(receiver_->cache().block(0)[8], std::byte{0});
  ASSERT_TRUE(Send(CheckpointEnd{2, 1, 1, false, 0}));
  EXPECT_EQ(receiver_->state(), ReceiverState::kIdle);
  auto* ack = std::get_if<CheckpointAck>(&(table_ = Reply()));
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->status, AckStatus::kDiscarded);
  EXPECT_FALSE(receiver_->Commit({}));
  EXPECT_TRUE(GuestUntouched());
}

TEST_F(ReceiverTest, RandomGarbageNeverTouchesGuestMemory) {
  Configure(RegistrationMode::kOnDemand);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000 && !receiver_->failed(); ++i) {
    std::vector<std::byte> bytes(4 + rng() % 64);
    testing::FillRandom(bytes, rng());
    const uint16_t type = 0x0101 + static_cast<uint16_t>(rng() % 10);
    const uint16_t version = 1;
    std::memcpy(bytes.data(), &type, 2);
    std::memcpy(bytes.data() + 2, &version, 2);
    (void)receiver_->HandleMessage(bytes);
  }
  EXPECT_TRUE(receiver_->failed());
  EXPECT_TRUE(GuestUntouched());
}

}  // namespace
}  // namespace ftvm::ram
