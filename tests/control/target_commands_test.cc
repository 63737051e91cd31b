#include "control/target_commands.h"

#include <gtest/gtest.h>

#include <string>

#include "control/session.h"
#include "tests/control/fake_target.h"
#include "tests/control/session_harness.h"

namespace ftvm::control {
namespace {

using testing::FakeTarget;

class TargetCommandsTest : public testing::SessionHarness {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterTargetCommands(registry_, target_).has_value());
    ASSERT_EQ(Run("qmp_capabilities"), Ok(Json::object()));
  }
  FakeTarget target_;
};

TEST_F(TargetCommandsTest, QueriesReturnQemuShapedObjects) {
  EXPECT_EQ(Run("query-status"), Ok(Json::parse(R"({"running": true, "status": "running"})")));
  EXPECT_EQ(Run("query-colo-status"),
            Ok(Json::parse(R"({"mode": "secondary", "last-mode": "none", "reason": "none",
                              "status": "colo", "failover-state": "none"})")));
  EXPECT_EQ(Run("query-replication"),
            Ok(Json::parse(R"({"transport": "tcp", "registration": "on-demand",
                              "pinned-bytes": 1048576, "registrations": 7, "unregistrations": 3,
                              "zero-chunks": 11, "writes-in-flight": 2})")));
  EXPECT_EQ(Run("query-guest"),
            Ok(Json::parse(R"({"present": true, "heartbeats": 42, "last-heartbeat": 41,
                              "heartbeat-gaps": 0, "work-done": 5, "exited": false,
                              "exit-code": 0, "generation": 3, "pages-written": 150000,
                              "counter": 0})")));
  EXPECT_EQ(Run("query-parameters"),
            Ok(Json::parse(R"({"checkpoint-delay": 100, "heartbeat-timeout": 1000,
                              "dirty-threshold": 0, "pinned-budget": 0})")));
}

TEST_F(TargetCommandsTest, InfoCheckpointBeforeAnyCheckpointIsAllZeros) {
  Json reply = Run("info_checkpoint")["return"];
  for (const char* field :
       {"tot_num", "tot_time", "avg_time", "init_time", "wait_time", "stat_time", "dev_time",
        "ram_time", "put_time", "recv_time", "load_time", "resume_time", "dev_size", "ram_size"}) {
    ASSERT_TRUE(reply.contains(field)) << field;
    EXPECT_EQ(reply[field], 0) << field;
  }
  EXPECT_EQ(reply["info"]["status"], "colo");
}

TEST_F(TargetCommandsTest, InfoCheckpointMapsEverySnapshotFieldToIssue6Names) {
  colo::StatsSnapshot s;
  s.tot_num = 4;
  s.tot_time = 4000;
  s.avg_time = 1000;
  s.init_time = 123456;
  for (size_t i = 0; i < colo::kPhaseCount; ++i) {
    s.phase_avg[i] = 10 + i;  // wait 10, stat 11, ram 12, dev 13, put 14, recv 15, ...
    s.phase_pct[i] = {.p50 = 100 + i, .p99 = 200 + i, .max = 300 + i};
  }
  s.dev_size = 1024;
  s.ram_size = 10240;
  s.downtime = {.p50 = 900, .p99 = 1500, .max = 1600};
  s.last_downtime_ns = 1400;
  s.info = colo::MigrationInfo{.status = "colo",
                               .total_time_ms = 5000,
                               .transferred = 1 << 30,
                               .duplicate = 200000,
                               .normal = 62144,
                               .normal_bytes = 62144ull * 4096,
                               .page_size = 4096,
                               .dirty_sync_count = 9,
                               .dirty_pages_rate = 2800,
                               .mbps = 812.5};
  {
    std::lock_guard lock(target_.mu_);
    target_.fixed_snapshot = s;
  }
  const Json expected = Json::parse(R"({
    "tot_num": 4, "tot_time": 4000, "avg_time": 1000, "init_time": 123456, "wait_time": 10,
    "stat_time": 11, "dev_time": 13, "ram_time": 12, "put_time": 14, "recv_time": 15,
    "load_time": 16, "resume_time": 17, "dev_size": 1024, "ram_size": 10240,
    "last_downtime": 1400,
    "percentiles": {
      "downtime": {"p50": 900, "p99": 1500, "max": 1600},
      "wait_time": {"p50": 100, "p99": 200, "max": 300},
      "stat_time": {"p50": 101, "p99": 201, "max": 301},
      "dev_time": {"p50": 103, "p99": 203, "max": 303},
      "ram_time": {"p50": 102, "p99": 202, "max": 302},
      "put_time": {"p50": 104, "p99": 204, "max": 304},
      "recv_time": {"p50": 105, "p99": 205, "max": 305},
      "load_time": {"p50": 106, "p99": 206, "max": 306},
      "resume_time": {"p50": 107, "p99": 207, "max": 307}},
    "info": {"status": "colo", "total-time": 5000,
             "ram": {"transferred": 1073741824, "duplicate": 200000, "normal": 62144,
                     "normal-bytes": 254541824, "page-size": 4096, "dirty-sync-count": 9,
                     "dirty-pages-rate": 2800, "mbps": 812.5}}})");
  EXPECT_EQ(Run("info_checkpoint"), Ok(expected));
}

TEST_F(TargetCommandsTest, InfoCheckpointReportsTheEnginesAveragesAndResetZeroesThem) {
  {
    std::lock_guard lock(target_.mu_);
    for (uint64_t i = 1; i <= 3; ++i) {
      colo::CheckpointSample sample;
      sample[colo::Phase::kRam] = 1000 * i;  // 1000, 2000, 3000: average 2000
      sample.downtime_ns = 5000;
      sample.ram_bytes = 4096 * i;
      target_.stats.RecordCheckpoint(sample, 6000);
    }
  }
  Json stats = Run("info_checkpoint")["return"];
  EXPECT_EQ(stats["tot_num"], 3);
  EXPECT_EQ(stats["tot_time"], 18000);
  EXPECT_EQ(stats["avg_time"], 6000);
  EXPECT_EQ(stats["ram_time"], 2000);
  EXPECT_EQ(stats["ram_size"], 8192);
  EXPECT_EQ(stats["info"]["status"], "colo");
  EXPECT_EQ(Run("reset_checkpoint"), Ok(Json::object()));
  stats = Run("info_checkpoint")["return"];
  EXPECT_EQ(stats["tot_num"], 0);
  EXPECT_EQ(stats["ram_time"], 0);
}

TEST_F(TargetCommandsTest, ActionsReachTheTarget) {
  EXPECT_EQ(Run("reset_checkpoint"), Ok(Json::object()));
  EXPECT_EQ(Run("checkpoint-now"), Ok(Json::object()));
  EXPECT_EQ(Run("failover"), Ok(Json::object()));
  EXPECT_EQ(Run("x-colo-lost-heartbeat"), Ok(Json::object()));
  std::lock_guard lock(target_.mu_);
  EXPECT_EQ(target_.resets, 1);
  EXPECT_EQ(target_.checkpoints_requested, 1);
  EXPECT_EQ(target_.failovers, 2);
}

TEST_F(TargetCommandsTest, SetParametersPassesOnlyTheGivenValues) {
  EXPECT_EQ(Run("set-parameters", {{"checkpoint-delay", 20}, {"pinned-budget", 1ull << 30}}),
            Ok(Json::object()));
  EXPECT_EQ(Run("set-parameters"), Ok(Json::object()));
  std::lock_guard lock(target_.mu_);
  ASSERT_EQ(target_.updates.size(), 2u);
  EXPECT_EQ(target_.updates[0].checkpoint_delay_ms, 20u);
  EXPECT_EQ(target_.updates[0].pinned_budget_bytes, 1ull << 30);
  EXPECT_FALSE(target_.updates[0].heartbeat_timeout_ms.has_value());
  EXPECT_FALSE(target_.updates[0].dirty_threshold_pages.has_value());
  EXPECT_FALSE(target_.updates[1].checkpoint_delay_ms.has_value());
  EXPECT_EQ(target_.parameters.checkpoint_delay_ms, 20u);
}

TEST_F(TargetCommandsTest, SetParametersEnforcesEveryRangeBeforeTheTargetSeesIt) {
  struct Case {
    const char* name;
    ParameterRange range;
  };
  for (const Case& c : {Case{"checkpoint-delay", kCheckpointDelayMsRange},
                        Case{"heartbeat-timeout", kHeartbeatTimeoutMsRange},
                        Case{"dirty-threshold", kDirtyThresholdPagesRange},
                        Case{"pinned-budget", kPinnedBudgetBytesRange}}) {
    const std::string desc =
        fmt::format("Parameter '{}' expects an integer in the range of {} to {}", c.name,
                    c.range.min, c.range.max);
    EXPECT_EQ(Run("set-parameters", {{c.name, c.range.max + 1}}), Err(desc));
    if (c.range.min > 0) {
      EXPECT_EQ(Run("set-parameters", {{c.name, c.range.min - 1}}), Err(desc));
    }
    EXPECT_EQ(Run("set-parameters", {{c.name, -1}}), Err(desc));
    EXPECT_EQ(Run("set-parameters", {{c.name, "10"}}),
              Err(fmt::format("Invalid parameter type for '{}', expected: integer", c.name)));
    EXPECT_EQ(Run("set-parameters", {{c.name, c.range.min}}), Ok(Json::object()));
    EXPECT_EQ(Run("set-parameters", {{c.name, c.range.max}}), Ok(Json::object()));
  }
  EXPECT_EQ(Run("set-parameters", {{"checkpoint_delay", 10}}),
            Err("Parameter 'checkpoint_delay' is unexpected"));
  std::lock_guard lock(target_.mu_);
  EXPECT_EQ(target_.updates.size(), 8u);  // only the valid calls
}

TEST_F(TargetCommandsTest, TargetErrorsReachTheClient) {
  {
    std::lock_guard lock(target_.mu_);
    target_.refuse_parameters = true;
  }
  EXPECT_EQ(Run("set-parameters", {{"checkpoint-delay", 20}}), Err("engine refused"));
}

TEST(TargetDefaultsTest, UnimplementedMethodsAreUnavailableNotMissing) {
  ControlTarget bare;
  CommandRegistry registry;
  ASSERT_TRUE(RegisterTargetCommands(registry, bare).has_value());
  Session session(registry);
  (void)session.Handle(R"({"execute": "qmp_capabilities"})");
  for (const char* command : {"query-status", "info_checkpoint", "reset_checkpoint",
                              "query-colo-status", "query-replication", "query-guest",
                              "checkpoint-now", "query-parameters", "set-parameters", "failover"}) {
    Json reply = Json::parse(session.Handle(fmt::format(R"({{"execute": "{}"}})", command)));
    EXPECT_EQ(reply, Json::parse(fmt::format(
                         R"({{"error": {{"class": "GenericError",
                                          "desc": "{} is not available in this process"}}}})",
                         command)));
  }
}

}  // namespace
}  // namespace ftvm::control
