#include "ram/unregister_queue.h"

#include <gtest/gtest.h>

namespace ftvm::ram {
namespace {

TEST(UnregisterQueueTest, OldestIdleIsLeastRecentlyUsed) {
  UnregisterQueue q(8);
  for (uint32_t id : {3u, 1u, 5u}) q.Insert(id);
  auto never = [](uint32_t) { return false; };
  EXPECT_EQ(q.OldestIdle(never), 3u);
  q.Touch(3);
  EXPECT_EQ(q.OldestIdle(never), 1u);
  q.Remove(1);
  EXPECT_EQ(q.OldestIdle(never), 5u);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_FALSE(q.Contains(1));
  q.Insert(1);
  EXPECT_EQ(q.OldestIdle(never), 5u);
}

TEST(UnregisterQueueTest, KeepsChunkWithWriteInFlight) {
  UnregisterQueue q(4);
  for (uint32_t id : {0u, 1u, 2u}) q.Insert(id);
  EXPECT_EQ(q.OldestIdle([](uint32_t id) { return id == 0; }), 1u);
  EXPECT_EQ(q.OldestIdle([](uint32_t) { return true; }), std::nullopt);
}

TEST(UnregisterQueueTest, EmptyQueueHasNoVictim) {
  UnregisterQueue q(2);
  EXPECT_EQ(q.OldestIdle([](uint32_t) { return false; }), std::nullopt);
}

}  // namespace
}  // namespace ftvm::ram
