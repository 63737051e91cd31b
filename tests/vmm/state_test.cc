// Save -> load into a fresh VM -> continue: the counter guest carries on without a heartbeat
// gap or a register/SSE/stack/memory mismatch; a state that lost something is caught.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "tests/vmm/test_util.h"
#include "vmm/guests/abi.h"
#include "vmm/kvm_headers.h"
#include "vmm/vm_state.h"

namespace ftvm::vmm {
namespace {

using ::ftvm::vmm::testing::TestConfig;
using std::chrono::seconds;

// Runs the counter until `beats` heartbeats, pauses it and returns the VM.
std::unique_ptr<Machine> RunCounter(bool irqchip, uint64_t beats) {
  MachineConfig config = TestConfig("counter", "interval_ms=2 quiet=1");
  config.irqchip = irqchip;
  auto made = Machine::Create(config);
  EXPECT_TRUE(made.has_value()) << made.error().ToString();
  if (!made) return nullptr;
  Machine& vm = **made;
  EXPECT_TRUE(vm.Resume().has_value());
  EXPECT_TRUE(vm.control().WaitUntil(
      [&](const ControlStatus& s) { return s.heartbeats >= beats || s.exited; },
      Deadline(seconds(10))));
  EXPECT_TRUE(vm.Pause().has_value());
  return std::move(*made);
}

// A fresh VM from `blob` with the RAM of `source`.
Result<std::unique_ptr<Machine>> Clone(const Machine& source, std::span<const std::byte> blob) {
  FTVM_ASSIGN_OR_RETURN(MachineConfig config, ConfigFromState(blob));
  config.serial.to_log = false;
  FTVM_ASSIGN_OR_RETURN(auto copy, Machine::Create(config));
  for (size_t i = 0; i < source.ram_blocks().size(); ++i) {
    const auto from = source.ram_blocks()[i].bytes();
    std::memcpy(copy->ram_blocks()[i].hva(), from.data(), from.size());
  }
  FTVM_TRY(copy->LoadState(blob));
  return copy;
}

class StateTest : public ::testing::TestWithParam<bool> {};

TEST_P(StateTest, CounterContinuesInAFreshVmWithoutAJump) {
  FTVM_REQUIRE_KVM();
  auto original = RunCounter(/*irqchip=*/GetParam(), 5);
  ASSERT_NE(original, nullptr);
  const ControlStatus before = original->control().status();
  ASSERT_FALSE(before.exited) << original->serial().Output();
  auto blob = original->SaveState();
  ASSERT_TRUE(blob.has_value()) << blob.error().ToString();

  auto copy = Clone(*original, *blob);
  ASSERT_TRUE(copy.has_value()) << copy.error().ToString();
  original.reset();  // the copy must not depend on it
  Machine& vm = **copy;
  EXPECT_EQ(vm.control().status().last_heartbeat, before.last_heartbeat);

  // What was loaded is what was saved.
  auto again = vm.SaveState();
  ASSERT_TRUE(again.has_value());
  auto saved = VmState::Decode(*blob), loaded = VmState::Decode(*again);
  ASSERT_TRUE(saved.has_value() && loaded.has_value());
  for (const char* part : {"cpu0.regs", "cpu0.sregs", "cpu0.xsave", "cpu0.xcrs", "dev.control"}) {
    const auto a = *saved->Get(part), b = *loaded->Get(part);
    EXPECT_TRUE(std::ranges::equal(a, b)) << part;
  }

  ASSERT_TRUE(vm.Resume().has_value());
  ASSERT_TRUE(vm.control().WaitUntil(
      [&](const ControlStatus& s) { return s.heartbeats >= before.heartbeats + 5 || s.exited; },
      Deadline(seconds(10))));
  const ControlStatus after = vm.control().status();
  EXPECT_FALSE(after.exited) << "exit code " << after.exit_code << ": " << vm.serial().Output();
  EXPECT_EQ(after.heartbeat_gaps, 0u);
  EXPECT_GE(after.last_heartbeat, before.last_heartbeat + 5);
}

INSTANTIATE_TEST_SUITE_P(Irqchip, StateTest, ::testing::Bool(), [](const auto& param_info) {
  return param_info.param ? "WithIrqchip" : "NoIrqchip";
});

// The same transfer with one register damaged must be caught by the guest: proof that the
// test above would notice lost state.
TEST(StateTest, CounterCatchesALostRegister) {
  FTVM_REQUIRE_KVM();
  auto original = RunCounter(false, 2);
  ASSERT_NE(original, nullptr);
  auto blob = original->SaveState();
  ASSERT_TRUE(blob.has_value());
  auto state = VmState::Decode(*blob);
  ASSERT_TRUE(state.has_value());
  VmState damaged;
  for (const auto& s : state->sections()) {
    auto data = s.data;
    if (s.name == "cpu0.regs") {
      kvm_regs regs;
      std::memcpy(&regs, data.data(), sizeof(regs));
      regs.r15 += 12345;  // the counter's register copy
      std::memcpy(data.data(), &regs, sizeof(regs));
    }
    damaged.Put(s.name, std::move(data));
  }
  auto copy = Clone(*original, damaged.Encode());
  ASSERT_TRUE(copy.has_value()) << copy.error().ToString();
  ASSERT_TRUE((*copy)->Resume().has_value());
  auto code = (*copy)->WaitForExit(seconds(10));
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  EXPECT_EQ(*code, 2u);
  EXPECT_NE((*copy)->serial().Output().find("MISMATCH r15"), std::string::npos);
}

// A state saved after the guest exited carries the exit: the copy reports it at once and
// refuses to run (its vCPU would otherwise idle after the exit port write forever).
TEST(StateTest, AnExitedGuestStaysExitedInAFreshVm) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("counter", "interval_ms=1 iterations=3 quiet=1"));
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& original = **made;
  ASSERT_TRUE(original.Resume().has_value());
  auto code = original.WaitForExit(seconds(10));
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  auto blob = original.SaveState();
  ASSERT_TRUE(blob.has_value()) << blob.error().ToString();

  auto copy = Clone(original, *blob);
  ASSERT_TRUE(copy.has_value()) << copy.error().ToString();
  EXPECT_TRUE((*copy)->control().status().exited);
  auto again = (*copy)->WaitForExit(std::chrono::milliseconds(100));
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(*again, *code);
  auto resumed = (*copy)->Resume();
  ASSERT_FALSE(resumed.has_value());
  EXPECT_EQ(resumed.error().code(), ErrorCode::kClosed);
}

TEST(StateTest, SaveWhileRunningIsRefused) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("counter", "quiet=1"));
  ASSERT_TRUE(made.has_value());
  ASSERT_TRUE((*made)->Resume().has_value());
  auto blob = (*made)->SaveState();
  ASSERT_FALSE(blob.has_value());
  EXPECT_EQ(blob.error().code(), ErrorCode::kInvalidArgument);
}

TEST(StateTest, StateOfAnotherShapeIsRefused) {
  FTVM_REQUIRE_KVM();
  auto original = RunCounter(false, 1);
  ASSERT_NE(original, nullptr);
  auto blob = original->SaveState();
  ASSERT_TRUE(blob.has_value());
  MachineConfig config = TestConfig("counter", "");
  config.ram_bytes = 32ull << 20;
  config.boot = false;
  auto other = Machine::Create(config);
  ASSERT_TRUE(other.has_value());
  auto loaded = (*other)->LoadState(*blob);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().context().find("state is for"), std::string::npos);
}

}  // namespace
}  // namespace ftvm::vmm
