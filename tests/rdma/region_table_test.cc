#include "rdma/tcp/region_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ftvm::rdma::tcp {
namespace {

constexpr uint32_t kRw = kAccessLocalWrite | kAccessRemoteWrite;

uint64_t Addr(const std::vector<std::byte>& v, size_t offset = 0) {
  return reinterpret_cast<uint64_t>(v.data() + offset);
}

TEST(RegionTableTest, TargetChecksKeyAccessAndBoundsInOrderAndStopsAtTheFirstFailure) {
  RegionTable table;
  std::vector<std::byte> a(4096), b(4096);
  auto ra = table.Register(a, kRw);
  auto rb = table.Register(b, kAccessLocalWrite);
  ASSERT_TRUE(ra && rb);
  std::vector<RegionPin> pins;
  const WriteDescriptor good{Addr(a, 100), ra->rkey, 200};
  const WriteDescriptor whole{Addr(a), ra->rkey, 4096};
  const WriteDescriptor past_end{Addr(a, 4000), ra->rkey, 97};
  const WriteDescriptor before{Addr(a) - 1, ra->rkey, 1};
  const WriteDescriptor no_access{Addr(b), rb->rkey, 1};
  const WriteDescriptor bad_key{Addr(a), ra->rkey + 1, 1};
  const WriteDescriptor empty_bad_key{0, 12345, 0};

  auto check = [&](std::vector<WriteDescriptor> w) {
    pins.clear();
    return table.PinTargets(w, &pins);
  };
  auto c = check({good, whole, empty_bad_key});
  EXPECT_EQ(c.valid, 3u);
  EXPECT_EQ(pins.size(), 1u);  // one pin per run of writes into one region
  c = check({good, past_end, good});
  EXPECT_EQ(c.valid, 1u);
  EXPECT_EQ(c.reason, NakReason::kOutOfBounds);
  EXPECT_EQ(check({before}).reason, NakReason::kOutOfBounds);
  EXPECT_EQ(check({no_access}).reason, NakReason::kNoAccess);
  c = check({bad_key});
  EXPECT_EQ(c.valid, 0u);
  EXPECT_EQ(c.reason, NakReason::kBadKey);
  EXPECT_TRUE(pins.empty());
  EXPECT_FALSE(c.detail.empty());
  pins.clear();
}

TEST(RegionTableTest, SourcesAreCheckedByLocalKeyAndRange) {
  RegionTable table;
  std::vector<std::byte> a(4096);
  auto ra = table.Register(a, kAccessLocalWrite);
  ASSERT_TRUE(ra);
  WriteRequest w{.wr_id = 1, .local_addr = a.data() + 10, .lkey = ra->lkey, .length = 4086};
  EXPECT_TRUE(table.CheckSources({&w, 1}));
  w.length = 4087;
  EXPECT_EQ(table.CheckSources({&w, 1}).error().code(), ErrorCode::kInvalidArgument);
  w.length = 1;
  w.lkey = ra->rkey == ra->lkey ? ra->lkey + 1 : ra->rkey;  // an rkey is not an lkey
  EXPECT_EQ(table.CheckSources({&w, 1}).error().code(), ErrorCode::kInvalidArgument);
}

TEST(RegionTableTest, RegistrationValidatesItsArguments) {
  RegionTable table;
  std::vector<std::byte> a(16);
  EXPECT_FALSE(table.Register(std::span(a).first(0), kRw));
  EXPECT_FALSE(table.Register(a, 1u << 7));
  EXPECT_FALSE(table.Register(a, kAccessRemoteWrite));
  auto r = table.Register(a, kRw);
  ASSERT_TRUE(r);
  EXPECT_NE(r->lkey, 0u);
  EXPECT_NE(r->rkey, 0u);
  MemoryRegion forged = *r;
  forged.length = 8;
  EXPECT_FALSE(table.Deregister(forged));
  EXPECT_TRUE(table.Deregister(*r));
  EXPECT_EQ(table.size(), 0u);
}

// Deregistration waits for pins: the "write" holding a pin finishes before Deregister returns,
// and no write can pin the region afterwards.
TEST(RegionTableTest, DeregisterWaitsForInFlightWritesAndRejectsLaterOnes) {
  RegionTable table;
  std::vector<std::byte> a(4096);
  auto r = table.Register(a, kRw);
  ASSERT_TRUE(r);
  const WriteDescriptor w{Addr(a), r->rkey, 4096};
  std::vector<RegionPin> pins;
  ASSERT_EQ(table.PinTargets({&w, 1}, &pins).valid, 1u);
  std::atomic<bool> write_done{false};
  std::atomic<bool> deregistered{false};
  std::thread dereg([&] {
    ASSERT_TRUE(table.Deregister(*r));
    EXPECT_TRUE(write_done.load());  // the pinned write finished first
    deregistered.store(true);
  });
  // Deregistration is pending: new writes are already rejected.
  std::vector<RegionPin> late;
  while (table.size() != 0) std::this_thread::yield();
  EXPECT_EQ(table.PinTargets({&w, 1}, &late).valid, 0u);
  EXPECT_FALSE(deregistered.load());
  a[0] = std::byte{1};  // the in-flight write touches the memory
  write_done.store(true);
  pins.clear();
  dereg.join();
  EXPECT_TRUE(deregistered.load());
}

}  // namespace
}  // namespace ftvm::rdma::tcp
