#include "rdma/fault_injection.h"

#include <gtest/gtest.h>

#include <thread>

#include "base/time.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::rdma {
namespace {

using std::chrono::milliseconds;
using testing::Bytes;
using testing::PollFor;
using testing::PollUntilError;

struct Faulty {
  std::unique_ptr<FaultInjectingChannel> channel;
  std::unique_ptr<Channel> peer;
};

Faulty Make(const FaultPlan& plan) {
  auto pair =
      testing::ConnectPair(testing::kProviders[0], testing::TestOptions(), testing::TestOptions());
  EXPECT_TRUE(pair) << pair.error().ToString();
  return {std::make_unique<FaultInjectingChannel>(std::move(pair->client), plan),
          std::move(pair->server)};
}

TEST(FaultInjectionTest, FailPostFailsFromTheNthOperationButKeepsTheConnection) {
  Faulty f = Make({.fault = Fault::kFailPost, .after_operations = 3});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.channel->PostSend(Bytes("x"), i));
  auto fourth = f.channel->PostSend(Bytes("x"), 3);
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_FALSE(f.channel->PostSend(Bytes("x"), 4));
  EXPECT_EQ(f.channel->operations(), 3u);
  EXPECT_EQ(f.channel->state(), ChannelState::kConnected);
  EXPECT_EQ(PollFor(*f.peer, 3, milliseconds(5000)).size(), 3u);
}

TEST(FaultInjectionTest, CutFlushesOutstandingWorkAndThePeerSeesPeerLost) {
  Faulty f = Make({.fault = Fault::kCut, .after_operations = 2});
  ASSERT_TRUE(f.channel->PostSend(Bytes("1"), 1, true));
  ASSERT_TRUE(f.channel->PostSend(Bytes("2"), 2, true));
  auto third = f.channel->PostSend(Bytes("3"), 3, true);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), ErrorCode::kFlushed);
  std::vector<Completion> seen;
  auto error = PollUntilError(*f.channel, milliseconds(5000), &seen);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kPeerLost);
  EXPECT_EQ(f.channel->state(), ChannelState::kError);
  EXPECT_LE(seen.size(), 2u);  // each of the two completed or was flushed, nothing else
  auto peer_error = PollUntilError(*f.peer, milliseconds(5000));
  ASSERT_TRUE(peer_error);
  EXPECT_EQ(peer_error->code(), ErrorCode::kPeerLost) << peer_error->ToString();
}

TEST(FaultInjectionTest, InjectedCutWakesABlockedPoll) {
  Faulty f = Make({});
  std::optional<Error> error;
  std::thread poller([&] { error = PollUntilError(*f.channel, milliseconds(20000)); });
  f.channel->Inject(Fault::kCut);
  poller.join();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kPeerLost);
}

TEST(FaultInjectionTest, DroppedPeerGoesSilentThenIsReportedLostAfterTheDetectionTime) {
  Faulty f =
      Make({.fault = Fault::kDropPeer, .after_operations = 1, .detect_after = milliseconds(300)});
  ASSERT_TRUE(f.channel->PostSend(Bytes("before"), 1));
  ASSERT_EQ(PollFor(*f.peer, 1, milliseconds(5000)).size(), 1u);
  const Stopwatch clock;
  ASSERT_TRUE(f.channel->PostSend(Bytes("lost"), 2, true));  // accepted, goes nowhere
  ASSERT_TRUE(f.peer->PostSend(Bytes("unheard"), 9));
  std::vector<Completion> seen;
  auto error = PollUntilError(*f.channel, milliseconds(5000), &seen);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kPeerLost);
  EXPECT_GE(clock.ElapsedNs(), 250'000'000u);
  ASSERT_EQ(seen.size(), 1u);  // the swallowed send, flushed; the peer's message never arrived
  EXPECT_EQ(seen[0].wr_id, 2u);
  EXPECT_EQ(seen[0].status, CompletionStatus::kFlushed);
  EXPECT_TRUE(PollFor(*f.peer, 1, milliseconds(100)).empty());  // "lost" never reached it
}

}  // namespace
}  // namespace ftvm::rdma
