// Dirty tracking is exact in every mode: the dirtier writes a known sequence of pages per
// round; each harvest must report exactly those pages in the tracked range, nothing in the
// ring block, and outside the range only the guest's own stack and status pages.
#include "vmm/dirty_log.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/vmm/test_util.h"
#include "vmm/guests/abi.h"

namespace ftvm::vmm {
namespace {

using ::ftvm::vmm::testing::TestConfig;
using std::chrono::seconds;

constexpr uint64_t kStart = 4ull << 20;
constexpr uint64_t kPages = 1024;

// The dirtier's visiting order (vmm/guests/dirtier.c): stride through the range, then shift
// the offset by one.
std::vector<uint64_t> WalkPages(uint64_t stride, uint64_t skip, uint64_t count) {
  std::vector<uint64_t> out;
  uint64_t offset = 0, pos = 0;
  for (uint64_t i = 0; i < skip + count; ++i) {
    if (i >= skip) out.push_back(kStart / kPageSize + pos);
    pos += stride;
    if (pos >= kPages) {
      offset = (offset + 1) % stride;
      pos = offset;
    }
  }
  return out;
}

std::set<uint64_t> DirtyGpaPages(const RamBlock& block, const std::vector<uint64_t>& bitmap) {
  std::set<uint64_t> pages;
  for (uint64_t i = 0; i < block.page_count(); ++i) {
    if (bitmap[i / 64] >> (i % 64) & 1) pages.insert(block.gpa() / kPageSize + i);
  }
  return pages;
}

struct Case {
  DirtyMode mode;
  uint32_t ring_entries;
  uint64_t round_pages;
};

class DirtyLogTest : public ::testing::TestWithParam<Case> {};

TEST_P(DirtyLogTest, ReportsExactlyThePagesTheGuestWrote) {
  FTVM_REQUIRE_KVM();
  const Case c = GetParam();
  constexpr uint64_t kStride = 7, kRounds = 4;
  MachineConfig config =
      TestConfig("dirtier", fmt::format("start={} size={} stride={} round_pages={}", kStart,
                                        kPages * kPageSize, kStride, c.round_pages));
  config.dirty_mode = c.mode;
  config.dirty_ring_entries = c.ring_entries;
  auto made = Machine::Create(config);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& vm = **made;
  ASSERT_EQ(vm.dirty_mode(), c.mode);
  ASSERT_TRUE(vm.StartDirtyLog().has_value());
  ASSERT_TRUE(vm.Resume().has_value());
  DirtyBitmaps bitmaps;
  for (uint64_t round = 1; round <= kRounds; ++round) {
    ASSERT_TRUE(vm.control().WaitUntil(
        [&](const ControlStatus& s) { return s.last_work_done == round || s.aborted; },
        Deadline(seconds(20))))
        << "round " << round;
    ASSERT_TRUE(vm.Pause().has_value());
    ASSERT_TRUE(vm.HarvestDirty(bitmaps).has_value());
    ASSERT_EQ(bitmaps.size(), vm.ram_blocks().size());

    const RamBlock& ram = vm.ram_blocks()[0];
    const auto expected = WalkPages(kStride, (round - 1) * c.round_pages, c.round_pages);
    std::set<uint64_t> in_range, outside;
    for (uint64_t p : DirtyGpaPages(ram, bitmaps[0])) {
      (p >= kStart / kPageSize && p < kStart / kPageSize + kPages ? in_range : outside).insert(p);
    }
    EXPECT_EQ(in_range, std::set<uint64_t>(expected.begin(), expected.end())) << "round " << round;
    for (uint64_t p : outside) {
      EXPECT_LT(p * kPageSize, FTVM_DATA_GPA) << "unexpected dirty page " << p;
    }
    EXPECT_TRUE(outside.contains(FTVM_STATUS_GPA / kPageSize)) << "status page not reported";
    // The host wrote the mailbox before every round but the first: KVM does not see that
    // write, the VMM must report it. (The first harvest also shows pages the guest only read
    // here, boot info and mailbox included: a nested-KVM artefact.)
    if (round > 1) {
      EXPECT_TRUE(outside.contains(FTVM_MAILBOX_GPA / kPageSize))
          << "round " << round << ": " << ::testing::PrintToString(outside);
    }
    EXPECT_TRUE(DirtyGpaPages(vm.ram_blocks()[1], bitmaps[1]).empty()) << "ring block dirty";

    ASSERT_TRUE(SetMailboxGo(vm, round).has_value());
    ASSERT_TRUE(vm.Resume().has_value());
  }
  ASSERT_TRUE(SetMailboxStop(vm).has_value());
  auto code = vm.WaitForExit(seconds(10));
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  EXPECT_EQ(*code, 0u);
}

// Pages written while logging is stopped are not reported after it restarts; what is
// written after the restart is, exactly.
TEST_P(DirtyLogTest, RestartForgetsWhatWasWrittenWhileStopped) {
  FTVM_REQUIRE_KVM();
  const Case c = GetParam();
  MachineConfig config = TestConfig(
      "dirtier",
      fmt::format("start={} size={} round_pages={}", kStart, kPages * kPageSize, c.round_pages));
  config.dirty_mode = c.mode;
  config.dirty_ring_entries = c.ring_entries;
  auto made = Machine::Create(config);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& vm = **made;
  auto finish_round = [&](uint64_t round) {
    ASSERT_TRUE(vm.control().WaitUntil(
        [&](const ControlStatus& s) { return s.last_work_done == round || s.aborted; },
        Deadline(seconds(20))));
    ASSERT_TRUE(vm.Pause().has_value());
  };
  ASSERT_TRUE(vm.StartDirtyLog().has_value());
  ASSERT_TRUE(vm.Resume().has_value());
  finish_round(1);  // written with logging on, never harvested
  ASSERT_TRUE(vm.StopDirtyLog().has_value());
  ASSERT_TRUE(SetMailboxGo(vm, 1).has_value());
  ASSERT_TRUE(vm.Resume().has_value());
  finish_round(2);  // written with logging off
  ASSERT_TRUE(vm.StartDirtyLog().has_value());
  ASSERT_TRUE(SetMailboxGo(vm, 2).has_value());
  ASSERT_TRUE(vm.Resume().has_value());
  finish_round(3);
  DirtyBitmaps bitmaps;
  ASSERT_TRUE(vm.HarvestDirty(bitmaps).has_value());
  const auto expected = WalkPages(1, 2 * c.round_pages, c.round_pages);
  std::set<uint64_t> in_range;
  for (uint64_t p : DirtyGpaPages(vm.ram_blocks()[0], bitmaps[0])) {
    if (p >= kStart / kPageSize) in_range.insert(p);
  }
  EXPECT_EQ(in_range, std::set<uint64_t>(expected.begin(), expected.end()));
  ASSERT_TRUE(SetMailboxStop(vm).has_value());
  ASSERT_TRUE(vm.Resume().has_value());
  EXPECT_TRUE(vm.WaitForExit(seconds(10)).has_value());
}

INSTANTIATE_TEST_SUITE_P(Modes, DirtyLogTest,
                         ::testing::Values(Case{DirtyMode::kClassic, 0, 300},
                                           Case{DirtyMode::kManualProtect, 0, 300},
                                           Case{DirtyMode::kRing, 65536, 300},
                                           // More pages per round than the ring holds: the
                                           // vCPU thread drains full rings on the way.
                                           Case{DirtyMode::kRing, 1024, 1000}),
                         [](const auto& param_info) {
                           return std::string(DirtyModeName(param_info.param.mode)) +
                                  std::to_string(param_info.param.ring_entries);
                         });

TEST(DirtyLogTest, ParsesModeNames) {
  EXPECT_EQ(*ParseDirtyMode("ring"), DirtyMode::kRing);
  EXPECT_EQ(*ParseDirtyMode("manual"), DirtyMode::kManualProtect);
  EXPECT_EQ(*ParseDirtyMode("classic"), DirtyMode::kClassic);
  EXPECT_EQ(*ParseDirtyMode("auto"), DirtyMode::kAuto);
  EXPECT_FALSE(ParseDirtyMode("fast").has_value());
}

TEST(DirtyLogTest, HarvestBeforeStartIsAnError) {
  FTVM_REQUIRE_KVM();
  auto vm = Machine::Create(TestConfig("counter", ""));
  ASSERT_TRUE(vm.has_value()) << vm.error().ToString();
  DirtyBitmaps bitmaps;
  EXPECT_FALSE((*vm)->HarvestDirty(bitmaps).has_value());
}

}  // namespace
}  // namespace ftvm::vmm
