// ram/ end to end over a real provider (tcp by default; FTVM_TEST_PROVIDERS=verbs in the
// Soft-RoCE lane): many rounds in both registration modes, pinned budgets, zero-heavy data,
// verify mode, hostile messages, and connection faults injected in every phase. The invariant
// after anything: the secondary's guest memory equals the primary's memory at the checkpoint
// the secondary last committed: never a mix, never a partial checkpoint.
#include <gtest/gtest.h>

#include <map>

#include "rdma/fault_injection.h"
#include "tests/ram/replication_fixture.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::ram {
namespace {

using rdma::testing::ProviderSpec;
using testing::ReplicationPair;
using testing::RoundPattern;
using Snapshot = std::vector<std::vector<std::byte>>;

SenderOptions Options(RegistrationMode mode) {
  SenderOptions o;
  o.mode = mode;
  o.chunk_shift = 18;  // 256 KiB: 34 chunks in the 8.3 MiB guest
  return o;
}

class RamE2eTest : public ::testing::TestWithParam<ProviderSpec> {
 protected:
  // A pair over the provider; `primary_fault` / `secondary_fault` wrap that side's channel.
  std::unique_ptr<ReplicationPair> MakePair(const rdma::FaultPlan& primary_fault = {},
                                            const rdma::FaultPlan& secondary_fault = {},
                                            ReceiverOptions receiver_options = {}) {
    auto pair = rdma::testing::ConnectPair(GetParam(), rdma::testing::TestOptions(),
                                           rdma::testing::TestOptions());
    if (!pair && pair.error().code() == ErrorCode::kUnsupported) return nullptr;
    EXPECT_TRUE(pair) << pair.error().ToString();
    if (!pair) return nullptr;
    auto primary =
        std::make_unique<rdma::FaultInjectingChannel>(std::move(pair->client), primary_fault);
    auto secondary =
        std::make_unique<rdma::FaultInjectingChannel>(std::move(pair->server), secondary_fault);
    primary_fault_ = primary.get();
    secondary_fault_ = secondary.get();
    const auto blocks = testing::E2eBlocks();
    return std::make_unique<ReplicationPair>(std::move(primary), std::move(secondary), blocks,
                                             receiver_options);
  }

  // Setup and `rounds` checkpoints, stopping at the first failure; returns the primary's memory
  // at every checkpoint it started (index 0: the secondary's memory before anything).
  std::map<uint64_t, Snapshot> Session(ReplicationPair& p, RegistrationMode mode, int rounds) {
    std::map<uint64_t, Snapshot> snapshots{{0, p.SnapshotSecondary()}};
    if (!p.StartSender(Options(mode))) return snapshots;
    for (int id = 1; id <= rounds; ++id) {
      auto sent = p.Send(static_cast<uint64_t>(id), RoundPattern(static_cast<uint64_t>(id)));
      snapshots[static_cast<uint64_t>(id)] = p.SnapshotPrimary();
      if (!sent || !p.sender().WaitForAck(std::chrono::seconds(20))) break;
    }
    return snapshots;
  }

  // After a fault: the secondary must hold exactly the checkpoint it last committed. A planned
  // fault that the session ended before reaching is injected now (the idle phase).
  void ExpectLastCommitIntact(ReplicationPair& p, const std::map<uint64_t, Snapshot>& snapshots,
                              rdma::FaultInjectingChannel* faulty) {
    faulty->Inject(rdma::Fault::kCut);
    EXPECT_TRUE(p.loop().WaitForError(std::chrono::seconds(10)));
    p.StopLoop();
    const uint64_t last = p.receiver().last_committed();
    ASSERT_TRUE(snapshots.contains(last)) << "committed " << last;
    EXPECT_TRUE(p.SecondaryEquals(snapshots.at(last))) << "last committed " << last;
    EXPECT_NE(p.receiver().state(), ReceiverState::kComplete);
  }

  // Work requests each side posts in a fault-free Session(mode, 3): {primary, secondary}; 0
  // when the provider is unavailable.
  std::pair<uint64_t, uint64_t> CountOperations(RegistrationMode mode) {
    auto dry = MakePair();
    if (!dry) return {0, 0};
    Session(*dry, mode, 3);
    return {primary_fault_->operations(), secondary_fault_->operations()};
  }

  rdma::FaultInjectingChannel* primary_fault_ = nullptr;
  rdma::FaultInjectingChannel* secondary_fault_ = nullptr;
};

TEST_P(RamE2eTest, ManyRoundsMirrorThePrimaryInBothModes) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    auto p = MakePair();
    if (!p) GTEST_SKIP() << GetParam().name << " provider unavailable";
    ASSERT_TRUE(p->StartSender(Options(mode)));
    for (uint64_t id = 1; id <= 30; ++id) {
      auto ack = p->Round(id, RoundPattern(id));
      ASSERT_TRUE(ack) << "round " << id << ": " << ack.error().ToString();
      ASSERT_EQ(*ack, AckStatus::kCommitted);
      ASSERT_TRUE(p->Mirrored()) << "round " << id;
    }
    const RamStats& s = p->sender().stats();
    EXPECT_EQ(s.commits, 30u);
    EXPECT_GT(s.zero_pages, 0u);
    EXPECT_GT(s.peak_writes_in_flight, 1u);
  }
}

TEST_P(RamE2eTest, SmallPinnedBudgetForcesUnregistrationOnBothSides) {
  auto p = MakePair();
  if (!p) GTEST_SKIP() << GetParam().name << " provider unavailable";
  SenderOptions o = Options(RegistrationMode::kOnDemand);
  o.max_pinned_bytes = 3 << 18;  // 3 of 34 chunks
  ASSERT_TRUE(p->StartSender(o));
  for (uint64_t id = 1; id <= 12; ++id) {
    auto ack = p->Round(id, RoundPattern(id));
    ASSERT_TRUE(ack) << ack.error().ToString();
    ASSERT_TRUE(p->Mirrored()) << "round " << id;
  }
  const RamStats s = p->sender().stats();
  p->StopLoop();
  const RamStats& r = p->receiver().stats();
  EXPECT_GT(s.unregistrations, 10u);
  EXPECT_EQ(r.unregistrations, s.unregistrations);
  EXPECT_LE(s.peak_pinned_bytes, o.max_pinned_bytes);
  EXPECT_LE(r.peak_pinned_bytes, o.max_pinned_bytes);
}

TEST_P(RamE2eTest, ZeroHeavyDataWithVerifyMode) {
  auto p = MakePair();
  if (!p) GTEST_SKIP() << GetParam().name << " provider unavailable";
  SenderOptions o = Options(RegistrationMode::kOnDemand);
  o.verify = true;
  ASSERT_TRUE(p->StartSender(o));
  for (uint64_t id = 1; id <= 6; ++id) {
    auto ack = p->Round(id, {0.4, id % 2 == 0, 0.9});
    ASSERT_TRUE(ack && *ack == AckStatus::kCommitted);
    ASSERT_TRUE(p->Mirrored()) << "round " << id;
  }
  EXPECT_GT(p->sender().stats().zero_pages, p->sender().stats().pages_written);
}

TEST_P(RamE2eTest, ConnectionCutInEveryPhaseLeavesTheLastCommit) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    const uint64_t total = CountOperations(mode).first;
    if (total == 0) GTEST_SKIP() << GetParam().name << " provider unavailable";
    ASSERT_GT(total, 20u);
    // Setup, the first full checkpoint, and a spread over everything after it.
    std::vector<uint64_t> cuts{0, 1, 2, 3, 4};
    for (uint64_t k = 6; k < total; k += std::max<uint64_t>(1, total / 14)) cuts.push_back(k);
    for (const uint64_t k : cuts) {
      SCOPED_TRACE(::testing::Message() << "cut after " << k << " of " << total << " operations");
      auto p = MakePair({rdma::Fault::kCut, k});
      const auto snapshots = Session(*p, mode, 3);
      ExpectLastCommitIntact(*p, snapshots, primary_fault_);
    }
  }
}

TEST_P(RamE2eTest, SecondaryCutInEveryPhaseLeavesTheLastCommit) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    const uint64_t total = CountOperations(mode).second;  // its replies and acks
    if (total == 0) GTEST_SKIP() << GetParam().name << " provider unavailable";
    for (uint64_t k = 0; k < total; ++k) {
      SCOPED_TRACE(::testing::Message() << "secondary cut after " << k << " operations");
      auto p = MakePair({}, {rdma::Fault::kCut, k});
      const auto snapshots = Session(*p, mode, 3);
      ExpectLastCommitIntact(*p, snapshots, secondary_fault_);
    }
  }
}

TEST_P(RamE2eTest, SilentlyVanishedPeerIsDetectedAndNothingIsHalfApplied) {
  const uint64_t total = CountOperations(RegistrationMode::kOnDemand).first;
  if (total == 0) GTEST_SKIP() << GetParam().name << " provider unavailable";
  auto p = MakePair({rdma::Fault::kDropPeer, total * 3 / 4, {}, std::chrono::milliseconds(500)});
  const auto start = std::chrono::steady_clock::now();
  const auto snapshots = Session(*p, RegistrationMode::kOnDemand, 3);
  EXPECT_TRUE(p->sender().broken().has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  ExpectLastCommitIntact(*p, snapshots, primary_fault_);
}

TEST_P(RamE2eTest, HostileMessagesCloseTheConnectionAndWriteNothing) {
  std::vector<Message> hostile{
      Compress{2, {{0, (8 << 20) + 20 * 4096, 4096}}},  // past the block
      CheckpointBegin{1, true},                         // id not above the last
      DirtySet{2, 1, 0, {~0ull, ~0ull}},                // beyond the vga block
      RegisterRequest{{{0, 0}}},                        // pin-all: no registration
      CheckpointEnd{9, 0, 0, false, 0},                 // no such checkpoint
  };
  for (const Message& m : hostile) {
    SCOPED_TRACE(MessageName(m));
    auto p = MakePair();
    if (!p) GTEST_SKIP() << GetParam().name << " provider unavailable";
    ASSERT_TRUE(p->StartSender(Options(RegistrationMode::kPinAll)));
    ASSERT_TRUE(p->Round(1, RoundPattern(1)));
    const Snapshot committed = p->SnapshotPrimary();
    std::vector<std::byte> bytes;
    Encode(m, &bytes);
    if (std::holds_alternative<Compress>(m) || std::holds_alternative<DirtySet>(m)) {
      // Inside a checkpoint the secondary has begun (so only the payload is wrong).
      Encode(CheckpointBegin{2, false}, &bytes);
      ASSERT_TRUE(p->primary_channel()->PostSend(bytes, 0, false));
      Encode(m, &bytes);
    }
    ASSERT_TRUE(p->primary_channel()->PostSend(bytes, 0, false));
    ASSERT_TRUE(p->loop().WaitForError(std::chrono::seconds(10)));
    EXPECT_EQ(p->loop().error()->code(), ErrorCode::kProtocol) << p->loop().error()->ToString();
    // The secondary closed the connection: the primary learns it.
    rdma::testing::PollUntilError(*p->primary_channel(), std::chrono::seconds(10), nullptr);
    EXPECT_NE(p->primary_channel()->state(), rdma::ChannelState::kConnected);
    p->StopLoop();
    EXPECT_TRUE(p->SecondaryEquals(committed));
    EXPECT_TRUE(p->receiver().failed());
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, RamE2eTest,
                         ::testing::ValuesIn(rdma::testing::SelectedProviders()),
                         rdma::testing::ProviderTestName);

}  // namespace
}  // namespace ftvm::ram
