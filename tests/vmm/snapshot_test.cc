// Snapshot -> restore: RAM comes back byte for byte (zero pages skipped), the guest continues,
// and a damaged file is refused.
#include "vmm/snapshot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/io.h"
#include "tests/vmm/test_util.h"
#include "vmm/guests/abi.h"
#include "vmm/guests/guests.h"

namespace ftvm::vmm {
namespace {

using ::ftvm::vmm::testing::TestConfig;
using std::chrono::seconds;

std::string TempPath(const char* name) {
  return fmt::format("/tmp/ftvm-{}-{}-{}.snap", name, ::getpid(),
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

void QuietSerial(MachineConfig& c) { c.serial.to_log = false; }

class SnapshotTest : public ::testing::Test {
 protected:
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_ = TempPath("snapshot");
};

TEST_F(SnapshotTest, RestoresRamExactlyAndSkipsZeroPages) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("dirtier", "start=4M size=2M round_pages=700"));
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  Machine& vm = **made;
  ASSERT_TRUE(vm.Resume().has_value());
  ASSERT_TRUE(vm.control().WaitUntil([](const ControlStatus& s) { return s.last_work_done == 1; },
                                     Deadline(seconds(10))));
  ASSERT_TRUE(vm.Pause().has_value());
  auto stats = WriteSnapshot(vm, path_);
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(stats->ram_bytes, vm.memory().total_bytes());
  EXPECT_GT(stats->zero_pages, stats->stored_pages);  // 16 MiB of RAM, ~3 MiB used
  EXPECT_LT(stats->file_bytes, stats->ram_bytes / 2);

  SnapshotStats restored_stats;
  auto restored = RestoreSnapshot(path_, QuietSerial, &restored_stats);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  EXPECT_EQ(restored_stats.stored_pages, stats->stored_pages);
  for (size_t i = 0; i < vm.ram_blocks().size(); ++i) {
    const auto a = vm.ram_blocks()[i].bytes(), b = (*restored)->ram_blocks()[i].bytes();
    EXPECT_TRUE(std::ranges::equal(a, b)) << vm.ram_blocks()[i].name();
  }
  const auto report =
      VerifyDirtierPages((*restored)->ram_blocks()[0].bytes().subspan(4 << 20, 2 << 20), 4 << 20);
  EXPECT_TRUE(report.ok()) << report.first_bad_reason;
  EXPECT_EQ(report.stamped, 512u);  // 700 stamps over 512 pages

  // The restored guest finishes its work from where it stopped.
  ASSERT_TRUE(SetMailboxGo(**restored, 1).has_value());
  ASSERT_TRUE((*restored)->Resume().has_value());
  ASSERT_TRUE((*restored)->control().WaitUntil(
      [](const ControlStatus& s) { return s.last_work_done == 2 || s.aborted; },
      Deadline(seconds(10))));
  const auto* status =
      reinterpret_cast<const ftvm_status*>((*restored)->AbiPage(FTVM_STATUS_GPA).data());
  EXPECT_EQ(status->pages_written, 1400u);
}

TEST_F(SnapshotTest, CounterContinuesAfterRestore) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("counter", "interval_ms=2 quiet=1"));
  ASSERT_TRUE(made.has_value());
  ASSERT_TRUE((*made)->Resume().has_value());
  ASSERT_TRUE((*made)->control().WaitUntil([](const ControlStatus& s) { return s.heartbeats >= 3; },
                                           Deadline(seconds(10))));
  ASSERT_TRUE((*made)->Pause().has_value());
  const uint32_t last = (*made)->control().status().last_heartbeat;
  ASSERT_TRUE(WriteSnapshot(**made, path_).has_value());
  made->reset();
  auto restored = RestoreSnapshot(path_, QuietSerial);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  ASSERT_TRUE((*restored)->Resume().has_value());
  ASSERT_TRUE((*restored)->control().WaitUntil(
      [&](const ControlStatus& s) { return s.last_heartbeat >= last + 3 || s.exited; },
      Deadline(seconds(10))));
  EXPECT_FALSE((*restored)->control().status().exited);
  EXPECT_EQ((*restored)->control().status().heartbeat_gaps, 0u);
}

TEST_F(SnapshotTest, DamagedFilesAreRefused) {
  FTVM_REQUIRE_KVM();
  auto made = Machine::Create(TestConfig("dirtier", "start=4M size=1M pages=256"));
  ASSERT_TRUE(made.has_value());
  ASSERT_TRUE((*made)->Resume().has_value());
  ASSERT_TRUE((*made)->WaitForExit(seconds(10)).has_value());
  auto stats = WriteSnapshot(**made, path_);
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  auto read = ReadFileToString(path_.c_str());
  ASSERT_TRUE(read.has_value());
  const std::string good = *read;
  auto expect_refused = [&](const std::string& bytes, const char* what, const char* why) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
    auto r = RestoreSnapshot(path_, QuietSerial);
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt) << what << ": " << r.error().ToString();
    EXPECT_NE(r.error().context().find(why), std::string::npos)
        << what << ": " << r.error().ToString();
  };
  std::string bad = good;
  bad[bad.size() - 100] ^= 1;  // a byte of guest RAM
  expect_refused(bad, "flipped RAM byte", "checksum mismatch");
  expect_refused(good.substr(0, good.size() - 4096), "truncated", "bad bounds");
  expect_refused(good + std::string(4096, 0), "extended", "header describes");
  bad = good;
  bad[20] ^= 1;  // inside the header
  expect_refused(bad, "damaged header", "header checksum");
  bad = good;
  bad[8] = 9;
  expect_refused(bad, "other version", "version 9");
  expect_refused("FTVMSNAP", "tiny", "too short");
}

}  // namespace
}  // namespace ftvm::vmm
