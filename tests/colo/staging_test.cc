// The primary's checkpoint orders hand the secondary exactly the guest as it was at the pause,
// including the staged order with precapture, where dirty pages are copied into the mirror
// while the guest keeps writing. Both engines run in this process over tcp loopback; the
// dirtier writes scattered pages (stride 7) flat out, and verify mode makes the secondary
// compare a hash of all its guest RAM after every commit with the primary's hash taken in the
// pause: one wrong or missing page stops replication (and fails the test).
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "base/time.h"
#include "colo/primary.h"
#include "colo/secondary.h"

namespace ftvm::colo {
namespace {

struct Order {
  const char* name;
  bool staging;
  uint32_t precapture_ms;
  vmm::DirtyMode dirty_mode = vmm::DirtyMode::kAuto;  // precapture relies on each mode's re-arm
};

class StagingTest : public ::testing::TestWithParam<Order> {};

// Waits until `done` or the deadline; false on timeout.
template <class F>
bool WaitFor(F done, std::chrono::seconds timeout) {
  const Deadline deadline(timeout);
  while (!done()) {
    if (deadline.expired()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST_P(StagingTest, EveryCommitMatchesThePausedGuest) {
  if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/kvm";
  SecondaryOptions so;
  so.listen_uri = "tcp://127.0.0.1:0";
  so.accept_timeout = std::chrono::seconds(30);
  so.serial.to_log = false;
  so.parameters.heartbeat_timeout_ms = 20'000;
  auto secondary = Secondary::Create(so);
  ASSERT_TRUE(secondary) << secondary.error().ToString();

  PrimaryOptions po;
  po.peer_uri = (*secondary)->listen_uri();
  po.machine.ram_bytes = 64ull << 20;
  po.machine.guest = "dirtier";
  po.machine.guest_args = "stride=7";
  po.machine.serial.to_log = false;
  po.machine.dirty_mode = GetParam().dirty_mode;
  po.passive = true;
  po.staging = GetParam().staging;
  po.precapture_ms = GetParam().precapture_ms;
  po.ram.verify = true;
  po.parameters.checkpoint_delay_ms = 20;
  po.parameters.heartbeat_timeout_ms = 20'000;
  auto primary = Primary::Create(po);
  ASSERT_TRUE(primary) << primary.error().ToString();

  Result<void> secondary_result, primary_result;
  std::thread st([&] { secondary_result = (*secondary)->Run(); });
  std::thread pt([&] { primary_result = (*primary)->Run(); });
  EngineControl& p = (*primary)->control();
  EngineControl& s = (*secondary)->control();
  constexpr uint64_t kCheckpoints = 25;
  auto running = [&] {
    const Status status = p.state().status;
    return status == Status::kSetup || status == Status::kSync || status == Status::kColo;
  };
  const bool reached = WaitFor([&] { return s.last_checkpoint() >= kCheckpoints || !running(); },
                               std::chrono::seconds(120));
  const ColoState primary_state = p.state();
  const ColoState secondary_state = s.state();
  p.RequestQuit();
  s.RequestQuit();
  pt.join();
  st.join();
  EXPECT_TRUE(reached) << "only " << s.last_checkpoint() << " checkpoints committed";
  EXPECT_EQ(primary_state.status, Status::kColo) << Name(primary_state.status);
  EXPECT_EQ(secondary_state.status, Status::kColo) << Name(secondary_state.status);
  EXPECT_TRUE(primary_result) << primary_result.error().ToString();
  EXPECT_TRUE(secondary_result) << secondary_result.error().ToString();
  // The guest really wrote between checkpoints (a test of idle checkpoints would prove little).
  EXPECT_GT(p.Stats().ram_size, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Orders, StagingTest,
    ::testing::Values(Order{"staged", true, 0}, Order{"staged_precapture", true, 1},
                      Order{"staged_precapture_classic", true, 1, vmm::DirtyMode::kClassic},
                      Order{"staged_precapture_ring", true, 1, vmm::DirtyMode::kRing},
                      Order{"direct", false, 0}),
    [](const ::testing::TestParamInfo<Order>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace ftvm::colo
