#include "colo/stats.h"

#include <gtest/gtest.h>

namespace ftvm::colo {
namespace {

TEST(CheckpointStatsTest, EmptySnapshotHasNoDivisionByZero) {
  CheckpointStats stats;
  const StatsSnapshot s = stats.Snapshot("setup");
  EXPECT_EQ(s.tot_num, 0u);
  EXPECT_EQ(s.avg_time, 0u);
  EXPECT_EQ(s.avg(Phase::kRam), 0u);
  EXPECT_EQ(s.dev_size, 0u);
  EXPECT_EQ(s.downtime.p99, 0u);
  EXPECT_EQ(s.info.status, "setup");
  EXPECT_EQ(s.info.page_size, 4096u);
}

TEST(CheckpointStatsTest, AveragesAndPercentilesPerCheckpoint) {
  CheckpointStats stats;
  for (uint64_t i = 1; i <= 100; ++i) {
    CheckpointSample sample;
    sample[Phase::kRam] = i * 1000;     // 1..100 us
    sample[Phase::kWait] = 50'000'000;  // 50 ms
    sample.downtime_ns = i * 10'000;    // 10 us .. 1 ms
    sample.ram_bytes = 4096 * i;
    sample.dev_bytes = 8192;
    sample.normal_pages = i;
    sample.zero_pages = 1;
    stats.RecordCheckpoint(sample, /*total_ns=*/2 * i * 10'000);
  }
  stats.SetInitTime(123);
  const StatsSnapshot s = stats.Snapshot("colo");
  EXPECT_EQ(s.tot_num, 100u);
  EXPECT_EQ(s.tot_time, 2u * 10'000 * 5050);
  EXPECT_EQ(s.avg_time, 2u * 10'000 * 5050 / 100);
  EXPECT_EQ(s.init_time, 123u);
  EXPECT_EQ(s.avg(Phase::kRam), 50'500u);
  EXPECT_EQ(s.avg(Phase::kWait), 50'000'000u);
  EXPECT_EQ(s.avg(Phase::kLoad), 0u);
  EXPECT_EQ(s.dev_size, 8192u);
  EXPECT_EQ(s.ram_size, 4096u * 5050 / 100);
  EXPECT_NEAR(static_cast<double>(s.downtime.p50), 500'000.0, 500'000 * 0.02);
  EXPECT_NEAR(static_cast<double>(s.downtime.p99), 990'000.0, 990'000 * 0.02);
  EXPECT_EQ(s.downtime.max, 1'000'000u);
  EXPECT_EQ(s.pct(Phase::kRam).max, 100'000u);
  EXPECT_EQ(s.last_downtime_ns, 1'000'000u);
  EXPECT_EQ(s.info.transferred, 4096u * 5050);
  EXPECT_EQ(s.info.normal, 5050u);
  EXPECT_EQ(s.info.normal_bytes, 5050u * 4096);
  EXPECT_EQ(s.info.duplicate, 100u);
}

TEST(CheckpointStatsTest, ResetKeepsInitTimeAndZeroesCounters) {
  CheckpointStats stats;
  stats.SetInitTime(7);
  CheckpointSample sample;
  sample.downtime_ns = 5;
  stats.RecordCheckpoint(sample, 10);
  stats.RecordSync(4096, 0, 1);
  stats.RecordDirtySync(1000, 1'000'000'000);
  EXPECT_EQ(stats.Snapshot("colo").info.dirty_pages_rate, 1000u);
  stats.Reset();
  const StatsSnapshot s = stats.Snapshot("colo");
  EXPECT_EQ(s.tot_num, 0u);
  EXPECT_EQ(s.tot_time, 0u);
  EXPECT_EQ(s.downtime.max, 0u);
  EXPECT_EQ(s.info.transferred, 0u);
  EXPECT_EQ(s.info.dirty_sync_count, 0u);
  EXPECT_EQ(s.init_time, 7u);
}

TEST(CheckpointStatsTest, PhaseNamesMatchTheControlProtocol) {
  EXPECT_EQ(PhaseStatName(Phase::kWait), "wait_time");
  EXPECT_EQ(PhaseStatName(Phase::kStat), "stat_time");
  EXPECT_EQ(PhaseStatName(Phase::kRam), "ram_time");
  EXPECT_EQ(PhaseStatName(Phase::kDev), "dev_time");
  EXPECT_EQ(PhaseStatName(Phase::kPut), "put_time");
  EXPECT_EQ(PhaseStatName(Phase::kRecv), "recv_time");
  EXPECT_EQ(PhaseStatName(Phase::kLoad), "load_time");
  EXPECT_EQ(PhaseStatName(Phase::kResume), "resume_time");
}

}  // namespace
}  // namespace ftvm::colo
