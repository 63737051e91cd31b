#include "vmm/machine.h"

#include <gtest/gtest.h>

#include <cstring>
#include "tests/vmm/test_util.h"

#include "vmm/guests/abi.h"
#include "vmm/guests/guests.h"

namespace ftvm::vmm {
namespace {

using ::ftvm::vmm::testing::TestConfig;
using std::chrono::seconds;

TEST(MachineTest, CounterRunsAndExitsWithItsCode) {
  FTVM_REQUIRE_KVM();
  auto vm = Machine::Create(TestConfig("counter", "iterations=2000000 interval_ms=5"));
  ASSERT_TRUE(vm.has_value()) << vm.error().ToString();
  ASSERT_TRUE((*vm)->Resume().has_value());
  auto code = (*vm)->WaitForExit(seconds(20));
  ASSERT_TRUE(code.has_value()) << code.error().ToString() << "\n" << (*vm)->serial().Output();
  EXPECT_EQ(*code, 0u) << (*vm)->serial().Output();
  EXPECT_NE((*vm)->serial().Output().find("counter: done after"), std::string::npos)
      << (*vm)->serial().Output();
}

}  // namespace
}  // namespace ftvm::vmm

namespace ftvm::vmm {
namespace {

using ::ftvm::vmm::testing::TestConfig;
using std::chrono::seconds;

TEST(MachineTest, DirtierStampsVerifiablePages) {
  FTVM_REQUIRE_KVM();
  // 3000 stamps over 1000 pages: three generations.
  auto vm = Machine::Create(TestConfig("dirtier", "start=4M size=4000K pages=3000"));
  ASSERT_TRUE(vm.has_value()) << vm.error().ToString();
  ASSERT_TRUE((*vm)->Resume().has_value());
  auto code = (*vm)->WaitForExit(seconds(20));
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  EXPECT_EQ(*code, 0u) << (*vm)->serial().Output();
  const RamBlock& ram = (*vm)->ram_blocks()[0];
  const auto data = ram.bytes().subspan(FTVM_DATA_GPA);
  const DirtierReport report = VerifyDirtierPages(data, FTVM_DATA_GPA);
  EXPECT_TRUE(report.ok()) << report.first_bad_reason << " at " << report.first_bad_gpa;
  EXPECT_EQ(report.stamped, 1000u);
  EXPECT_EQ(report.max_generation, 3u);
  const auto* status = reinterpret_cast<const ftvm_status*>((*vm)->AbiPage(FTVM_STATUS_GPA).data());
  EXPECT_EQ(status->pages_written, 3000u);
}

TEST(MachineTest, RingGuestSendsEveryRecordWithOneDoorbellPerBatch) {
  FTVM_REQUIRE_KVM();
  uint64_t next = 0, bad = 0;
  MachineConfig config = TestConfig("ringtest", "records=5000 batch=50 size=40");
  config.ring_bytes = 64 * 1024;  // small: the guest must wait for space
  config.ring_handler = [&](uint32_t type, std::span<const std::byte> payload) {
    uint64_t seq = 0;
    std::memcpy(&seq, payload.data(), sizeof(seq));
    bad += (type != 1 || payload.size() != 40 || seq != next ||
            payload[39] != std::byte((seq + 39) & 0xff));
    ++next;
  };
  auto vm = Machine::Create(config);
  ASSERT_TRUE(vm.has_value()) << vm.error().ToString();
  ASSERT_TRUE((*vm)->Resume().has_value());
  auto code = (*vm)->WaitForExit(seconds(20));
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  EXPECT_EQ(*code, 0u) << (*vm)->serial().Output();
  EXPECT_EQ(next, 5000u);
  EXPECT_EQ(bad, 0u);
  const RingStats stats = (*vm)->ring_stats();
  EXPECT_EQ(stats.records, 5000u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_LE(stats.doorbells, 5000u / 50 + 100);  // batches plus waits for space
}

TEST(MachineTest, RefusesBadConfigurations) {
  MachineConfig c = TestConfig("counter", "");
  c.ram_bytes = 3ull << 20;
  EXPECT_EQ(Machine::Create(c).error().code(), ErrorCode::kInvalidArgument);
  c = TestConfig("no-such-guest", "");
  EXPECT_EQ(Machine::Create(c).error().code(), ErrorCode::kNotFound);
  c = TestConfig("counter", std::string(300, 'x'));
  EXPECT_EQ(Machine::Create(c).error().code(), ErrorCode::kInvalidArgument);
  c = TestConfig("counter", "");
  c.vcpus = 0;
  EXPECT_EQ(Machine::Create(c).error().code(), ErrorCode::kInvalidArgument);
}

TEST(MachineTest, GuestCrashIsAnErrorNotAnExitCode) {
  FTVM_REQUIRE_KVM();
  auto vm = Machine::Create(TestConfig("counter", "crash=1"));
  ASSERT_TRUE(vm.has_value());
  ASSERT_TRUE((*vm)->Resume().has_value());
  auto code = (*vm)->WaitForExit(seconds(10));
  ASSERT_FALSE(code.has_value());
  EXPECT_NE(code.error().context().find("shut down"), std::string::npos) << code.error().ToString();
  ASSERT_TRUE((*vm)->error().has_value());
  EXPECT_FALSE((*vm)->Resume().has_value());
}

TEST(MachineTest, GuestErrorExitCodeAndOutputAreReported) {
  FTVM_REQUIRE_KVM();
  // A range outside RAM makes the dirtier refuse with exit code 3.
  auto vm = Machine::Create(TestConfig("dirtier", "start=64M size=4K"));
  ASSERT_TRUE(vm.has_value());
  ASSERT_TRUE((*vm)->Resume().has_value());
  auto code = (*vm)->WaitForExit(seconds(10));
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  EXPECT_EQ(*code, 3u);
  EXPECT_NE((*vm)->serial().Output().find("bad range"), std::string::npos);
}

}  // namespace
}  // namespace ftvm::vmm
