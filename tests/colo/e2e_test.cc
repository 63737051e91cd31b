// colo end to end: real `ftvm secondary` and `ftvm primary` processes over loopback, observed
// through their control sockets. Checkpoints in verify mode, operator failover, passive mode.
// (e2e_kill_test.cc kills either side in every phase; e2e_link_test.cc cuts the link.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/colo/e2e_harness.h"

namespace ftvm::colo::testing {
namespace {

using rdma::testing::ProviderSpec;

#define ASSERT_OK(expr)                                                 \
  do {                                                                  \
    auto ftvm_r_ = (expr);                                              \
    ASSERT_TRUE(ftvm_r_) << ftvm_r_.error().ToString() << pair_.Logs(); \
  } while (0)

class ColoE2e : public ::testing::TestWithParam<ProviderSpec> {
 protected:
  void SetUp() override {
    if (std::string why = ColoE2eTest::SkipReason(GetParam()); !why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    if (HasFailure()) {
      pair_.KeepLogs();
      std::cerr << pair_.Logs() << "\n";
    }
  }
  PairOptions Options() const {
    PairOptions o;
    o.provider = GetParam();
    return o;
  }
  Json Get(Qmp& qmp, std::string_view command) {
    auto r = qmp.Call(command);
    EXPECT_TRUE(r) << command << ": " << r.error().ToString();
    return r ? *r : Json();
  }

  ColoPair pair_;
};

// Dirtier guest (stamped pages) with --verify: every checkpoint is hashed on both sides and
// the secondary's whole guest RAM is compared with the primary's after each commit; a mismatch
// stops the secondary (status "failed") and the primary goes on alone, which fails this test.
TEST_P(ColoE2e, CheckpointsInVerifyModeKeepBothSidesEqual) {
  PairOptions o = Options();
  o.guest = "dirtier";
  o.guest_args = {"rate=20000", "stride=3"};
  o.verify = true;
  // Verify mode hashes all guest RAM on both sides at each checkpoint: a longer period keeps
  // this test from starving everything else on a 2-core machine.
  o.checkpoint_delay_ms = 50;
  ASSERT_OK(pair_.Start(o));
  ASSERT_OK(pair_.WaitColo());

  auto both_colo = [&] {
    const Json p = Get(pair_.pqmp(), "query-colo-status");
    const Json s = Get(pair_.sqmp(), "query-colo-status");
    EXPECT_EQ(p["status"], "colo") << control::DumpJson(p);
    EXPECT_EQ(s["status"], "colo") << control::DumpJson(s);
    return p["status"] == "colo" && s["status"] == "colo";
  };
  const Json p1 = Get(pair_.pqmp(), "info_checkpoint");
  const Json s1 = Get(pair_.sqmp(), "info_checkpoint");
  constexpr uint64_t kMore = 20;
  const uint64_t target = s1["tot_num"].get<uint64_t>() + kMore;
  bool stopped = false;
  ASSERT_TRUE(PollUntil(
      [&] {
        if (!both_colo()) {
          stopped = true;
          return true;
        }
        auto n = TotNum(pair_.sqmp());
        return n && *n >= target;
      },
      std::chrono::seconds(30)))
      << "fewer than " << kMore << " more checkpoints in 30 s";
  ASSERT_FALSE(stopped) << "replication stopped (a verify mismatch stops the secondary)";
  const Json p2 = Get(pair_.pqmp(), "info_checkpoint");
  const Json s2 = Get(pair_.sqmp(), "info_checkpoint");
  for (const auto& [side, before, after] :
       {std::tuple{"primary", p1, p2}, std::tuple{"secondary", s1, s2}}) {
    SCOPED_TRACE(side);
    EXPECT_GE(after["tot_num"].get<uint64_t>(), before["tot_num"].get<uint64_t>() + kMore - 1);
    EXPECT_GT(after["tot_time"].get<uint64_t>(), before["tot_time"].get<uint64_t>());
    EXPECT_GT(after["avg_time"].get<uint64_t>(), 0u);
    EXPECT_GT(after["ram_size"].get<uint64_t>(), 0u) << "the dirtier writes pages every epoch";
    EXPECT_GT(after["dev_size"].get<uint64_t>(), 0u);
    EXPECT_GT(after["init_time"].get<uint64_t>(), 0u);
  }
  // Both sides counted the same checkpoints (the primary may be one ahead, in flight).
  const uint64_t pn = p2["tot_num"].get<uint64_t>();
  const uint64_t sn = s2["tot_num"].get<uint64_t>();
  EXPECT_LE(sn, pn + 1);
  EXPECT_LE(pn, sn + 1);
  EXPECT_GT(p2["info"]["ram"]["transferred"].get<uint64_t>(), 0u);
  EXPECT_TRUE(both_colo());
  EXPECT_FALSE(pair_.primary().Exited().has_value());
  EXPECT_FALSE(pair_.secondary().Exited().has_value());
}

// `failover` on the secondary: it takes over (reason "request") and its guest runs on from the
// last commit; the primary, cut off, goes on alone.
TEST_P(ColoE2e, OperatorFailoverOnTheSecondary) {
  ASSERT_OK(pair_.Start(Options()));
  ASSERT_OK(pair_.WaitColo());
  ASSERT_TRUE(
      PollUntil([&] { return TotNum(pair_.sqmp()).value_or(0) >= 5; }, std::chrono::seconds(20)));
  const uint64_t floor = Get(pair_.sqmp(), "query-guest")["last-heartbeat"].get<uint64_t>();
  ASSERT_OK(pair_.sqmp().Call("failover"));
  auto event = pair_.sqmp().WaitEvent("FAILOVER", Deadline(std::chrono::seconds(5)));
  ASSERT_TRUE(event) << event.error().ToString();
  EXPECT_EQ((*event)["mode"], "secondary");
  EXPECT_EQ((*event)["reason"], "request");
  EXPECT_TRUE(FailedOver(pair_.sqmp(), "secondary", "request"));
  EXPECT_EQ((*event)["checkpoint"], Get(pair_.sqmp(), "info_checkpoint")["tot_num"]);
  EXPECT_TRUE(GuestRunsOn(pair_.sqmp(), floor));
  // The primary lost its secondary: degraded, guest running.
  auto degraded = pair_.pqmp().WaitEvent("DEGRADED", Deadline(std::chrono::seconds(5)));
  EXPECT_TRUE(degraded) << degraded.error().ToString();
  EXPECT_TRUE(FailedOver(pair_.pqmp(), "primary", "error"));
  EXPECT_TRUE(GuestRunsOn(pair_.pqmp(), 0));
}

// `failover` on the primary: it stops checkpointing and runs on alone (reason "request"). The
// secondary is told and stops: it must not start a second copy of the guest.
TEST_P(ColoE2e, OperatorFailoverOnThePrimary) {
  ASSERT_OK(pair_.Start(Options()));
  ASSERT_OK(pair_.WaitColo());
  ASSERT_TRUE(
      PollUntil([&] { return TotNum(pair_.pqmp()).value_or(0) >= 5; }, std::chrono::seconds(20)));
  const uint64_t floor = Get(pair_.pqmp(), "query-guest")["last-heartbeat"].get<uint64_t>();
  ASSERT_OK(pair_.pqmp().Call("failover"));
  auto event = pair_.pqmp().WaitEvent("FAILOVER", Deadline(std::chrono::seconds(5)));
  ASSERT_TRUE(event) << event.error().ToString();
  EXPECT_EQ((*event)["mode"], "primary");
  EXPECT_EQ((*event)["reason"], "request");
  EXPECT_TRUE(FailedOver(pair_.pqmp(), "primary", "request"));
  const uint64_t checkpoints = Get(pair_.pqmp(), "info_checkpoint")["tot_num"].get<uint64_t>();
  EXPECT_TRUE(GuestRunsOn(pair_.pqmp(), floor));
  // No checkpoint after the failover.
  EXPECT_EQ(Get(pair_.pqmp(), "info_checkpoint")["tot_num"].get<uint64_t>(), checkpoints);
  // The secondary stops without running the guest (no split brain).
  const auto status = pair_.secondary().WaitExit(Deadline(std::chrono::seconds(10)));
  ASSERT_TRUE(status.has_value()) << "the secondary kept running after the primary's failover";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << DescribeWaitStatus(*status);
  const std::string log = pair_.secondary().Log();
  EXPECT_EQ(log.find("FAILOVER"), std::string::npos) << "the secondary took over";
  EXPECT_NE(log.find("the primary ended replication (operator failover"), std::string::npos)
      << "the primary's goodbye did not arrive";
}

// `quit` on the primary: both processes end in order, and the secondary never runs the guest.
TEST_P(ColoE2e, PrimaryQuitStopsTheSecondary) {
  ASSERT_OK(pair_.Start(Options()));
  ASSERT_OK(pair_.WaitColo());
  ASSERT_TRUE(
      PollUntil([&] { return TotNum(pair_.sqmp()).value_or(0) >= 3; }, std::chrono::seconds(20)));
  ASSERT_OK(pair_.pqmp().Call("quit"));
  for (Daemon* d : {&pair_.primary(), &pair_.secondary()}) {
    const auto status = d->WaitExit(Deadline(std::chrono::seconds(10)));
    ASSERT_TRUE(status.has_value()) << d->name() << " still running";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << d->name() << ": " << DescribeWaitStatus(*status);
  }
  EXPECT_EQ(pair_.secondary().Log().find("FAILOVER"), std::string::npos)
      << "the secondary took over";
}

// The guest exits on the primary: replication ends, the primary's exit status is the guest's
// code, and the secondary stops without taking over (its replica may or may not have caught
// the exit in a last checkpoint, so 0 or the code).
TEST_P(ColoE2e, GuestExitEndsBothWithItsCode) {
  PairOptions o = Options();
  o.guest_args = {"interval_ms=10", "quiet=1", "beats=400", "exit_code=7"};
  ASSERT_OK(pair_.Start(o));
  ASSERT_OK(pair_.WaitColo());
  const auto primary = pair_.primary().WaitExit(Deadline(std::chrono::seconds(30)));
  ASSERT_TRUE(primary.has_value()) << "the primary still runs";
  EXPECT_TRUE(WIFEXITED(*primary) && WEXITSTATUS(*primary) == 7) << DescribeWaitStatus(*primary);
  const auto secondary = pair_.secondary().WaitExit(Deadline(std::chrono::seconds(10)));
  ASSERT_TRUE(secondary.has_value()) << "the secondary still runs";
  EXPECT_TRUE(WIFEXITED(*secondary) &&
              (WEXITSTATUS(*secondary) == 0 || WEXITSTATUS(*secondary) == 7))
      << DescribeWaitStatus(*secondary);
  EXPECT_EQ(pair_.secondary().Log().find("FAILOVER"), std::string::npos)
      << "the secondary took over";
}

// Passive mode: the secondary's guest stays paused between checkpoints, checkpoints go on,
// and a failover runs the guest there.
TEST_P(ColoE2e, PassiveModeCheckpointsAndFailsOver) {
  PairOptions o = Options();
  o.passive = true;
  ASSERT_OK(pair_.Start(o));
  ASSERT_OK(pair_.WaitColo());
  uint64_t samples = 0;
  const uint64_t start = TotNum(pair_.sqmp()).value_or(0);
  ASSERT_TRUE(PollUntil(
      [&] {
        const Json st = Get(pair_.sqmp(), "query-status");
        EXPECT_FALSE(st["running"].get<bool>()) << "passive secondary guest running";
        EXPECT_EQ(st["status"], "colo");
        ++samples;
        return TotNum(pair_.sqmp()).value_or(0) >= start + 10 && samples >= 10;
      },
      std::chrono::seconds(20)));
  // The replica's guest state only moves with checkpoints: its heartbeats are the primary's.
  const uint64_t floor = Get(pair_.sqmp(), "query-guest")["last-heartbeat"].get<uint64_t>();
  EXPECT_GT(floor, 0u);
  pair_.primary().KillGroup(SIGKILL);
  auto event = pair_.sqmp().WaitEvent("FAILOVER", Deadline(std::chrono::seconds(5)));
  ASSERT_TRUE(event) << event.error().ToString();
  EXPECT_EQ((*event)["reason"], "error");
  EXPECT_EQ((*event)["checkpoint"], Get(pair_.sqmp(), "info_checkpoint")["tot_num"]);
  EXPECT_TRUE(GuestRunsOn(pair_.sqmp(), floor));
}

INSTANTIATE_TEST_SUITE_P(Providers, ColoE2e,
                         ::testing::ValuesIn(rdma::testing::SelectedProviders()),
                         rdma::testing::ProviderTestName);

}  // namespace
}  // namespace ftvm::colo::testing
