// SendQueue (initiator bookkeeping) and ReceiveOrder (target ordering): pure logic.
#include <gtest/gtest.h>

#include "rdma/tcp/receive_order.h"
#include "rdma/tcp/send_queue.h"

namespace ftvm::rdma::tcp {
namespace {

TEST(SendQueueTest, AcknowledgementCompletesOnlySignaledRequestsInOrder) {
  SendQueue sq(4);
  EXPECT_EQ(sq.Push(10, Opcode::kWrite, false), 0u);
  EXPECT_EQ(sq.Push(11, Opcode::kWrite, true), 1u);
  EXPECT_EQ(sq.Push(12, Opcode::kSend, true), 2u);
  EXPECT_EQ(sq.free_slots(), 1u);
  std::deque<QueuedCompletion> cq;
  ASSERT_TRUE(sq.Acknowledge(2, &cq));
  ASSERT_EQ(cq.size(), 1u);
  EXPECT_EQ(cq[0].completion.wr_id, 11u);
  EXPECT_EQ(cq[0].release_seq, 1u);
  EXPECT_EQ(sq.free_slots(), 1u);       // not freed until polled
  ASSERT_TRUE(sq.Acknowledge(1, &cq));  // stale: ignored
  EXPECT_EQ(cq.size(), 1u);
  sq.Release(1);
  EXPECT_EQ(sq.free_slots(), 3u);
  EXPECT_EQ(sq.Acknowledge(5, &cq).error().code(), ErrorCode::kProtocol);
}

TEST(SendQueueTest, UnsignaledSlotsStayTakenUntilALaterSignaledCompletionIsPolled) {
  SendQueue sq(2);
  sq.Push(1, Opcode::kWrite, false);
  sq.Push(2, Opcode::kWrite, false);
  std::deque<QueuedCompletion> cq;
  ASSERT_TRUE(sq.Acknowledge(2, &cq));
  EXPECT_TRUE(cq.empty());
  EXPECT_EQ(sq.free_slots(), 0u);
}

TEST(SendQueueTest, FlushCompletesEverythingOutstandingAndFreesAllSlots) {
  SendQueue sq(8);
  for (uint64_t i = 0; i < 5; ++i) sq.Push(100 + i, Opcode::kWrite, i == 0);
  std::deque<QueuedCompletion> cq;
  ASSERT_TRUE(sq.Acknowledge(1, &cq));
  sq.Flush(3, CompletionStatus::kRemoteAccessError, &cq);
  ASSERT_EQ(cq.size(), 5u);  // one success, four from the flush (unsignaled included)
  EXPECT_EQ(cq[1].completion.wr_id, 101u);
  EXPECT_EQ(cq[1].completion.status, CompletionStatus::kFlushed);
  EXPECT_EQ(cq[3].completion.wr_id, 103u);
  EXPECT_EQ(cq[3].completion.status, CompletionStatus::kRemoteAccessError);
  EXPECT_EQ(cq[4].completion.status, CompletionStatus::kFlushed);
  EXPECT_EQ(sq.free_slots(), 8u);
  sq.Release(0);  // polling the old success after the flush is harmless
  EXPECT_EQ(sq.free_slots(), 8u);
}

TEST(ReceiveOrderTest, MessageWaitsForEveryEarlierSeq) {
  ReceiveOrder order(16, 4);
  std::vector<MessageBuffer> ready;
  ASSERT_TRUE(order.Add(3, 1, MessageBuffer{std::byte{7}}, &ready));
  EXPECT_TRUE(ready.empty());
  ASSERT_TRUE(order.Add(1, 2, std::nullopt, &ready));
  EXPECT_TRUE(ready.empty());
  EXPECT_EQ(order.watermark(), 0u);
  ASSERT_TRUE(order.Add(0, 1, std::nullopt, &ready));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0][0], std::byte{7});
  EXPECT_EQ(order.watermark(), 4u);
}

TEST(ReceiveOrderTest, RejectsDuplicatesAndSeqsOutsideTheWindow) {
  ReceiveOrder order(8, 4);
  std::vector<MessageBuffer> ready;
  ASSERT_TRUE(order.Add(2, 2, std::nullopt, &ready));
  EXPECT_FALSE(order.Add(3, 1, std::nullopt, &ready));  // overlaps [2,4)
  EXPECT_FALSE(order.Add(1, 2, std::nullopt, &ready));  // overlaps from below
  EXPECT_FALSE(order.Add(6, 3, std::nullopt, &ready));  // beyond watermark + 8
  EXPECT_FALSE(order.Add(0, 0, std::nullopt, &ready));  // empty
  ASSERT_TRUE(order.Add(0, 2, std::nullopt, &ready));
  EXPECT_EQ(order.watermark(), 4u);
  auto stale = order.Add(1, 1, std::nullopt, &ready);  // below the watermark
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kProtocol);
}

TEST(ReceiveOrderTest, MessagesBeyondTheCreditWindowAreAProtocolError) {
  ReceiveOrder order(64, 2);
  std::vector<MessageBuffer> ready;
  ASSERT_TRUE(order.Add(0, 1, MessageBuffer{}, &ready));
  ASSERT_TRUE(order.Add(1, 1, MessageBuffer{}, &ready));
  EXPECT_EQ(order.Add(2, 1, MessageBuffer{}, &ready).error().code(), ErrorCode::kProtocol);
  order.Consume();
  EXPECT_TRUE(order.Add(2, 1, MessageBuffer{}, &ready));
  EXPECT_EQ(ready.size(), 3u);
}

}  // namespace
}  // namespace ftvm::rdma::tcp
