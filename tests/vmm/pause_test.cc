// Pause/resume thousands of times: every pause returns with no vCPU in the guest (the guest's
// counter stands still), and the guest loses nothing (no heartbeat gap, no counter mismatch).
#include <gtest/gtest.h>

#include <thread>

#include "tests/vmm/test_util.h"
#include "vmm/guests/abi.h"

namespace ftvm::vmm {
namespace {

using ::ftvm::vmm::testing::TestConfig;
using std::chrono::milliseconds;
using std::chrono::seconds;

uint64_t GuestCounter(const Machine& vm) {
  return reinterpret_cast<const ftvm_status*>(vm.AbiPage(FTVM_STATUS_GPA).data())->counter;
}

TEST(PauseTest, ThousandsOfPausesLoseNothing) {
  FTVM_REQUIRE_KVM();
  MachineConfig config = TestConfig("counter", "interval_ms=1 quiet=1");
  config.vcpus = 2;  // the second vCPU spins: pause must stop both
  auto made = Machine::Create(config);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& vm = **made;
  ASSERT_TRUE(vm.Resume().has_value());
  ASSERT_TRUE(vm.control().WaitUntil([](const ControlStatus& s) { return s.heartbeats >= 3; },
                                     Deadline(seconds(10))));
  constexpr int kCycles = 2000;
  uint64_t last = 0;
  for (int i = 0; i < kCycles; ++i) {
    ASSERT_TRUE(vm.Pause().has_value()) << "cycle " << i;
    ASSERT_TRUE(vm.paused());
    if (i % 200 == 0) {
      const uint64_t before = GuestCounter(vm);
      std::this_thread::sleep_for(milliseconds(3));
      EXPECT_EQ(GuestCounter(vm), before) << "guest ran while paused, cycle " << i;
      EXPECT_GE(before, last) << "counter went backwards";
      last = before;
    }
    ASSERT_TRUE(vm.Resume().has_value()) << "cycle " << i;
  }
  // Let it run a little more: heartbeats must keep coming, in sequence.
  const uint64_t beats = vm.control().status().heartbeats;
  ASSERT_TRUE(vm.control().WaitUntil(
      [&](const ControlStatus& s) { return s.heartbeats >= beats + 3 || s.exited; },
      Deadline(seconds(10))));
  const ControlStatus s = vm.control().status();
  EXPECT_FALSE(s.exited) << "guest exited with code " << s.exit_code << ": "
                         << vm.serial().Output();
  EXPECT_EQ(s.heartbeat_gaps, 0u);
  EXPECT_FALSE(vm.error().has_value());
  EXPECT_GT(GuestCounter(vm), last);
}

TEST(PauseTest, PauseAndResumeAreIdempotent) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("counter", "quiet=1"));
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& vm = **made;
  EXPECT_TRUE(vm.paused());  // created parked
  EXPECT_TRUE(vm.Pause().has_value());
  EXPECT_TRUE(vm.Resume().has_value());
  EXPECT_TRUE(vm.Resume().has_value());
  EXPECT_TRUE(vm.Pause().has_value());
  EXPECT_TRUE(vm.Pause().has_value());
}

TEST(PauseTest, ExitedGuestCannotBeResumed) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("counter", "quiet=1 iterations=1024"));
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& vm = **made;
  ASSERT_TRUE(vm.Resume().has_value());
  ASSERT_TRUE(vm.WaitForExit(seconds(10)).has_value());
  EXPECT_TRUE(vm.Pause().has_value());
  auto resumed = vm.Resume();
  ASSERT_FALSE(resumed.has_value());
  EXPECT_EQ(resumed.error().code(), ErrorCode::kClosed);
}

}  // namespace
}  // namespace ftvm::vmm
