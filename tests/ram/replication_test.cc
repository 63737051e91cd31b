// Whole checkpoints over the in-process loopback channel: many rounds, both registration modes,
// pinned budgets, zero-heavy data, verify mode, discards and faults.
#include <gtest/gtest.h>

#include <bit>

#include "tests/ram/loopback_channel.h"
#include "tests/ram/replication_fixture.h"

namespace ftvm::ram {
namespace {

using testing::Bitmap;
using testing::DirtyPattern;
using testing::LoopbackChannel;
using testing::ReplicationPair;
using testing::Spans;

const testing::BlockSpec kBlocks[] = {{"pc.ram", (3 << 20) + 12 * 4096, 0},
                                      {"vga", 256 << 10, 0xa0000}};

struct Loopback {
  std::unique_ptr<ReplicationPair> pair;
  LoopbackChannel* primary = nullptr;
};

Loopback MakePair(ReceiverOptions receiver_options = {}) {
  auto [a, b] = LoopbackChannel::CreatePair();
  Loopback out;
  out.primary = a.get();
  out.pair =
      std::make_unique<ReplicationPair>(std::move(a), std::move(b), kBlocks, receiver_options);
  return out;
}

SenderOptions Options(RegistrationMode mode) {
  SenderOptions o;
  o.mode = mode;
  o.chunk_shift = 16;  // 64 KiB: many chunks in a few MiB
  o.reply_timeout = std::chrono::seconds(10);
  return o;
}

void RunRounds(ReplicationPair& pair, int rounds) {
  const DirtyPattern patterns[] = {{0.02, false, 0.1},
                                   {0.3, true, 0.3},
                                   {0.005, false, 0.0},
                                   {0.6, false, 0.5},
                                   {0.1, true, 0.0}};
  for (int i = 1; i <= rounds; ++i) {
    auto ack = pair.Round(static_cast<uint64_t>(i), patterns[i % 5]);
    ASSERT_TRUE(ack) << "round " << i << ": " << ack.error().ToString();
    ASSERT_EQ(*ack, AckStatus::kCommitted) << "round " << i;
    ASSERT_TRUE(pair.Mirrored()) << "round " << i;
  }
}

TEST(ReplicationTest, PinAllMirrorsThePrimaryAfterEveryCommit) {
  auto p = MakePair();
  ASSERT_TRUE(p.pair->StartSender(Options(RegistrationMode::kPinAll)));
  RunRounds(*p.pair, 25);
  const RamStats& s = p.pair->sender().stats();
  EXPECT_EQ(s.commits, 25u);
  EXPECT_EQ(s.registrations, 2u);  // one per block
  EXPECT_GT(s.zero_pages, 0u);
  EXPECT_GT(s.merged_runs, 0u);
  EXPECT_LT(s.merged_runs, s.pages_written);  // contiguous pages merged
}

TEST(ReplicationTest, OnDemandMirrorsThePrimaryAfterEveryCommit) {
  auto p = MakePair();
  ASSERT_TRUE(p.pair->StartSender(Options(RegistrationMode::kOnDemand)));
  RunRounds(*p.pair, 25);
  const RamStats& s = p.pair->sender().stats();
  EXPECT_GT(s.registrations, 2u);
  EXPECT_EQ(s.unregistrations, 0u);
  EXPECT_LE(s.register_requests, s.registrations);  // batched
  p.pair->StopLoop();
  EXPECT_EQ(p.pair->receiver().stats().registrations, s.registrations);
  EXPECT_EQ(p.pair->receiver().stats().pinned_bytes, s.pinned_bytes);
}

TEST(ReplicationTest, SmallPinnedBudgetForcesUnregistrationOnBothSides) {
  auto p = MakePair();
  SenderOptions o = Options(RegistrationMode::kOnDemand);
  o.max_pinned_bytes = 4 << 16;  // 4 chunks of 64 KiB for 3.3 MiB of RAM
  ASSERT_TRUE(p.pair->StartSender(o));
  RunRounds(*p.pair, 10);
  const RamStats& s = p.pair->sender().stats();
  EXPECT_GT(s.unregistrations, 0u);
  EXPECT_LE(s.peak_pinned_bytes, o.max_pinned_bytes);
  p.pair->StopLoop();
  const RamStats& r = p.pair->receiver().stats();
  EXPECT_EQ(r.unregistrations, s.unregistrations);
  EXPECT_LE(r.peak_pinned_bytes, o.max_pinned_bytes);
  EXPECT_EQ(r.pinned_bytes, s.pinned_bytes);
}

TEST(ReplicationTest, TheSmallerBudgetOfBothSidesWins) {
  auto p = MakePair(ReceiverOptions{2 << 16});
  SenderOptions o = Options(RegistrationMode::kOnDemand);
  o.max_pinned_bytes = 0;  // unlimited on the primary
  ASSERT_TRUE(p.pair->StartSender(o));
  EXPECT_EQ(p.pair->sender().max_pinned_bytes(), 2u << 16);
  RunRounds(*p.pair, 3);
  EXPECT_LE(p.pair->sender().stats().peak_pinned_bytes, 2u << 16);
}

TEST(ReplicationTest, ZeroPagesTravelAsCompressMessagesInBothModes) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    auto p = MakePair();
    ASSERT_TRUE(p.pair->StartSender(Options(mode)));
    ASSERT_TRUE(p.pair->Round(1, {1.0, false, 0.0}));  // full sync first
    const RamStats before = p.pair->sender().stats();
    auto ack = p.pair->Round(2, {0.5, true, 1.0});  // every dirtied page becomes zero
    ASSERT_TRUE(ack);
    ASSERT_TRUE(p.pair->Mirrored());
    const RamStats& s = p.pair->sender().stats();
    EXPECT_EQ(s.bytes_written, before.bytes_written);
    EXPECT_GT(s.zero_pages, before.zero_pages);
    EXPECT_GT(s.compress_messages, before.compress_messages);
  }
}

TEST(ReplicationTest, FirstCheckpointCarriesEveryPage) {
  auto p = MakePair();
  ASSERT_TRUE(p.pair->StartSender(Options(RegistrationMode::kPinAll)));
  ASSERT_FALSE(p.pair->Mirrored());                // both sides start with different random memory
  auto ack = p.pair->Round(1, {0.0, false, 0.0});  // nothing dirty
  ASSERT_TRUE(ack);
  EXPECT_TRUE(p.pair->Mirrored());
}

TEST(ReplicationTest, SyncRoundsLetTheFirstCheckpointSendOnlyWhatChangedSince) {
  for (bool verify : {false, true}) {
    auto p = MakePair();
    SenderOptions o = Options(RegistrationMode::kOnDemand);
    o.verify = verify;
    ASSERT_TRUE(p.pair->StartSender(o));
    // Round 1: every page; round 2: what the "guest" wrote during round 1.
    auto r1 = p.pair->sender().SendSyncRound(1, Spans(p.pair->AllPages()));
    ASSERT_TRUE(r1) << r1.error().ToString();
    auto r2 = p.pair->sender().SendSyncRound(2, Spans(p.pair->Dirty({0.1, true, 0.2})));
    ASSERT_TRUE(r2) << r2.error().ToString();
    EXPECT_FALSE(p.pair->Mirrored());  // rounds fill the cache, never guest memory
    // Checkpoint 3 (full): only the pages dirtied since round 2 travel; the commit copies all.
    const std::vector<Bitmap> last = p.pair->Dirty({0.01, false, 0.0});
    uint64_t last_pages = 0;
    for (const Bitmap& b : last) {
      for (uint64_t w : b) last_pages += static_cast<uint64_t>(std::popcount(w));
    }
    auto sent = p.pair->sender().SendCheckpoint(3, Spans(last));
    ASSERT_TRUE(sent) << sent.error().ToString();
    EXPECT_TRUE(sent->full);
    EXPECT_EQ(sent->pages_written + sent->zero_pages, last_pages);
    auto ack = p.pair->sender().WaitForAck(std::chrono::seconds(10));
    ASSERT_TRUE(ack) << ack.error().ToString();
    EXPECT_EQ(*ack, AckStatus::kCommitted) << "verify " << verify;
    EXPECT_TRUE(p.pair->Mirrored()) << "verify " << verify;
    // Incremental checkpoints follow; a sync round is refused now.
    for (uint64_t id = 4; id <= 6; ++id) {
      auto incremental = p.pair->Round(id, {0.05, true, 0.1});
      ASSERT_TRUE(incremental) << incremental.error().ToString();
      EXPECT_EQ(*incremental, AckStatus::kCommitted);
      EXPECT_TRUE(p.pair->Mirrored());
    }
    auto late = p.pair->sender().SendSyncRound(10, Spans(p.pair->AllPages()));
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ReplicationTest, PartialSyncRoundsStillGiveAFullFirstCheckpoint) {
  auto p = MakePair();
  ASSERT_TRUE(p.pair->StartSender(Options(RegistrationMode::kPinAll)));
  // The round misses most pages: the first checkpoint must then carry every page.
  ASSERT_TRUE(p.pair->sender().SendSyncRound(1, Spans(p.pair->Dirty({0.05, false, 0.0}))));
  auto ack = p.pair->Round(2, {0.0, false, 0.0});
  ASSERT_TRUE(ack) << ack.error().ToString();
  EXPECT_EQ(*ack, AckStatus::kCommitted);
  EXPECT_TRUE(p.pair->Mirrored());
}

TEST(ReplicationTest, VerifyModeCommitsMatchingHashes) {
  auto p = MakePair();
  SenderOptions o = Options(RegistrationMode::kOnDemand);
  o.verify = true;
  ASSERT_TRUE(p.pair->StartSender(o));
  RunRounds(*p.pair, 5);
  EXPECT_EQ(p.pair->sender().stats().verify_failures, 0u);
}

TEST(ReplicationTest, DiscardedCheckpointIsNeverAppliedAndIsResent) {
  auto p = MakePair();
  ASSERT_TRUE(p.pair->StartSender(Options(RegistrationMode::kPinAll)));
  RunRounds(*p.pair, 2);
  const auto before = p.pair->SnapshotSecondary();
  p.pair->loop().DiscardCheckpoint(3);
  auto ack = p.pair->Round(3, {0.2, false, 0.2});
  ASSERT_TRUE(ack);
  EXPECT_EQ(*ack, AckStatus::kDiscarded);
  EXPECT_TRUE(p.pair->SecondaryEquals(before));  // still at checkpoint 2
  EXPECT_FALSE(p.pair->Mirrored());
  // Checkpoint 4 dirties little but carries checkpoint 3's pages too.
  auto next = p.pair->Round(4, {0.001, false, 0.0});
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, AckStatus::kCommitted);
  EXPECT_TRUE(p.pair->Mirrored());
  EXPECT_EQ(p.pair->sender().stats().discards, 1u);
}

TEST(ReplicationTest, PeerLostMidCheckpointLeavesThePreviousCheckpoint) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    auto p = MakePair();
    ASSERT_TRUE(p.pair->StartSender(Options(mode)));
    RunRounds(*p.pair, 3);
    const auto before = p.pair->SnapshotSecondary();
    p.primary->FailAfterWrites(5);
    auto sent = p.pair->Send(4, {0.5, false, 0.0});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), ErrorCode::kPeerLost) << sent.error().ToString();
    EXPECT_TRUE(p.pair->sender().broken());
    EXPECT_FALSE(p.pair->sender().SendCheckpoint(5, {}));  // sticky
    EXPECT_TRUE(p.pair->loop().WaitForError(std::chrono::seconds(5)));
    p.pair->StopLoop();
    EXPECT_TRUE(p.pair->SecondaryEquals(before));
    EXPECT_EQ(p.pair->receiver().last_committed(), 3u);
    EXPECT_FALSE(p.pair->receiver().CheckpointReceived());
  }
}

TEST(ReplicationTest, ForeignMessagesAreHandedBackNotDropped) {
  auto p = MakePair();
  ASSERT_TRUE(p.pair->StartSender(Options(RegistrationMode::kOnDemand)));
  std::vector<std::byte> colo;
  rdma::BeginMessage(&colo, 0x0201, 1).Put<uint64_t>(77);
  p.pair->loop().SendForeignOnBegin(colo);
  ASSERT_TRUE(p.pair->Round(1, {0.5, false, 0.0}));
  auto foreign = p.pair->sender().TakeForeign();
  ASSERT_EQ(foreign.size(), 1u);
  EXPECT_EQ(foreign[0].opcode, rdma::Opcode::kRecv);
  EXPECT_EQ(foreign[0].message, colo);
  EXPECT_TRUE(p.pair->sender().TakeForeign().empty());
}

TEST(ReplicationTest, BlockTableMismatchFailsSetupWithTheReason) {
  auto [a, b] = LoopbackChannel::CreatePair();
  const testing::BlockSpec other[] = {{"pc.ram", (3 << 20) + 12 * 4096, 0},
                                      {"vga", 128 << 10, 0xa0000}};
  ReplicationPair pair(std::move(a), std::move(b), other);
  auto primary_blocks = testing::MakeBlocks(kBlocks);
  auto sender = RamSender::Start(pair.primary_channel(), testing::Views(primary_blocks),
                                 Options(RegistrationMode::kPinAll));
  ASSERT_FALSE(sender);
  EXPECT_EQ(sender.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(sender.error().context().find("vga"), std::string::npos) << sender.error().ToString();
}

TEST(ReplicationTest, ChannelWithTinyMessagesIsRefusedClearly) {
  auto [a, b] = LoopbackChannel::CreatePair(/*max_message_bytes=*/128);
  ReplicationPair pair(std::move(a), std::move(b), kBlocks);
  auto started = pair.StartSender(Options(RegistrationMode::kPinAll));
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ReplicationTest, SmallMessagesAndWriteLimitStillWork) {
  auto [a, b] = LoopbackChannel::CreatePair(/*max_message_bytes=*/512);
  ReplicationPair pair(std::move(a), std::move(b), kBlocks);
  SenderOptions o = Options(RegistrationMode::kOnDemand);
  o.max_write_bytes = 16 << 10;
  o.register_batch = 3;
  o.max_writes_in_flight = 8;
  o.signal_interval = 3;
  ASSERT_TRUE(pair.StartSender(o));
  RunRounds(pair, 6);
  EXPECT_LE(pair.sender().stats().peak_writes_in_flight, 8u);
}

}  // namespace
}  // namespace ftvm::ram
