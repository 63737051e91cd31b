// colo end to end: SIGKILL either process in every phase of a checkpoint (colo/kill_point.h).
//
// Checkpoints are taken on demand (checkpoint-now, with a period far beyond the test) so the
// test knows where each one starts: before requesting checkpoint n it reads the primary
// guest's heartbeat sequence, a lower bound of the guest state that checkpoint holds. The kill
// point fires at checkpoint kKillAt.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <map>

#include "tests/colo/e2e_harness.h"

namespace ftvm::colo::testing {
namespace {

using rdma::testing::ProviderSpec;

constexpr uint64_t kKillAt = 5;

struct KillCase {
  const char* point;
  // Checkpoints the surviving side may have committed when the kill lands.
  uint64_t min_committed;
  uint64_t max_committed;
};

// The primary: before the request of kKillAt nothing of it left; after `received` the
// secondary holds all of it and commits it. A kill right after the first device-state
// fragment was posted may or may not have let the (single) fragment out.
constexpr KillCase kPrimaryCases[] = {
    {"wait", kKillAt - 1, kKillAt - 1}, {"request", kKillAt - 1, kKillAt - 1},
    {"ram", kKillAt - 1, kKillAt - 1},  {"device", kKillAt - 1, kKillAt},
    {"received", kKillAt, kKillAt},     {"loaded", kKillAt, kKillAt},
};
// The secondary: the primary counts checkpoint kKillAt only once `loaded` arrived.
constexpr KillCase kSecondaryCases[] = {
    {"request", kKillAt - 1, kKillAt - 1}, {"ram", kKillAt - 1, kKillAt - 1},
    {"device", kKillAt - 1, kKillAt - 1},  {"received", kKillAt - 1, kKillAt - 1},
    {"loaded", kKillAt - 1, kKillAt},
};

void PrintTo(const KillCase& c, std::ostream* os) { *os << c.point; }

// The primary's checkpoint order: staged (default: resume once the dirty pages are copied to
// the staging mirror, then send) or direct (--no-staging: the guest stays paused while RAM
// and device state cross the wire, so a secondary dying then must not leave it paused).
enum class Order { kStaged, kDirect };

using Param = std::tuple<ProviderSpec, KillCase, Order>;

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).point +
         (std::get<2>(info.param) == Order::kDirect ? "_direct" : "_staged");
}

class ColoKill : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (std::string why = ColoE2eTest::SkipReason(std::get<0>(GetParam())); !why.empty()) {
      GTEST_SKIP() << why;
    }
  }
  void TearDown() override {
    if (HasFailure()) {
      pair_.KeepLogs();
      std::cerr << pair_.Logs() << "\n";
    }
  }
  const KillCase& Case() const { return std::get<1>(GetParam()); }
  PairOptions Options() const {
    PairOptions o;
    o.provider = std::get<0>(GetParam());
    o.checkpoint_delay_ms = 600'000;  // on demand only
    if (std::get<2>(GetParam()) == Order::kDirect) o.primary_flags = {"--no-staging"};
    return o;
  }
  Json Get(Qmp& qmp, std::string_view command) {
    auto r = qmp.Call(command);
    EXPECT_TRUE(r) << command << ": " << r.error().ToString();
    return r ? *r : Json();
  }

  // Requests checkpoints 2, 3, ... until `victim` dies; the heartbeat floor of each one
  // requested (by its number).
  std::map<uint64_t, uint64_t> CheckpointUntilDeath(Daemon& victim) {
    std::map<uint64_t, uint64_t> floors;
    for (uint64_t n = 2; n <= kKillAt + 1 && !victim.Exited(); ++n) {
      auto guest = Guest(pair_.pqmp());
      if (!guest) break;
      const uint64_t floor = (*guest)["last-heartbeat"].get<uint64_t>();
      if (!pair_.pqmp().Call("checkpoint-now")) break;  // not in COLO mode any more
      floors[n] = floor;  // checkpoint n, wherever it commits, holds at least this
      PollUntil(
          [&] {
            if (victim.Exited() || TotNum(pair_.pqmp()).value_or(0) >= n) return true;
            auto status = ColoStatus(pair_.pqmp());
            return !status || (*status)["status"] != "colo";
          },
          std::chrono::seconds(20));
    }
    return floors;
  }

  void ExpectKilled(Daemon& victim) {
    const auto status = victim.WaitExit(Deadline(std::chrono::seconds(20)));
    ASSERT_TRUE(status.has_value()) << "the " << victim.name() << " never reached kill point "
                                    << Case().point << ":" << kKillAt;
    ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << victim.name() << ": " << DescribeWaitStatus(*status);
    EXPECT_NE(victim.Log().find(fmt::format("kill point {}:{} reached", Case().point, kKillAt)),
              std::string::npos);
  }

  ColoPair pair_;
};

// SIGKILL the primary: the secondary fails over from its last committed checkpoint and the
// counter guest runs on from there (no heartbeat gap, no register/memory mismatch).
class PrimaryKill : public ColoKill {};

TEST_P(PrimaryKill, SecondaryTakesOverFromTheLastCommit) {
  PairOptions o = Options();
  o.primary_kill_at = fmt::format("{}:{}", Case().point, kKillAt);
  ASSERT_TRUE(pair_.Start(o));
  ASSERT_TRUE(pair_.WaitColo());
  const auto floors = CheckpointUntilDeath(pair_.primary());
  ASSERT_NO_FATAL_FAILURE(ExpectKilled(pair_.primary()));

  auto event = pair_.sqmp().WaitEvent("FAILOVER", Deadline(std::chrono::seconds(10)));
  ASSERT_TRUE(event) << event.error().ToString();
  EXPECT_EQ((*event)["mode"], "secondary");
  EXPECT_EQ((*event)["reason"], "error");
  const uint64_t committed = (*event)["checkpoint"].get<uint64_t>();
  EXPECT_GE(committed, Case().min_committed);
  EXPECT_LE(committed, Case().max_committed);
  EXPECT_EQ(Get(pair_.sqmp(), "info_checkpoint")["tot_num"].get<uint64_t>(), committed);
  EXPECT_TRUE(FailedOver(pair_.sqmp(), "secondary", "error"));
  // The guest state is at least that of the last committed checkpoint.
  const auto it = floors.find(committed);
  ASSERT_NE(it, floors.end()) << "checkpoint " << committed << " was never requested";
  EXPECT_TRUE(GuestRunsOn(pair_.sqmp(), it->second));
}

// SIGKILL the secondary: the primary goes on alone (degraded) and its guest never stops.
class SecondaryKill : public ColoKill {};

TEST_P(SecondaryKill, PrimaryRunsOnAlone) {
  PairOptions o = Options();
  o.secondary_kill_at = fmt::format("{}:{}", Case().point, kKillAt);
  ASSERT_TRUE(pair_.Start(o));
  ASSERT_TRUE(pair_.WaitColo());
  (void)CheckpointUntilDeath(pair_.secondary());
  ASSERT_NO_FATAL_FAILURE(ExpectKilled(pair_.secondary()));

  auto degraded = pair_.pqmp().WaitEvent("DEGRADED", Deadline(std::chrono::seconds(10)));
  ASSERT_TRUE(degraded) << degraded.error().ToString();
  auto lost = pair_.pqmp().WaitEvent("PEER_LOST", Deadline(std::chrono::seconds(1)));
  EXPECT_TRUE(lost) << lost.error().ToString();
  EXPECT_TRUE(FailedOver(pair_.pqmp(), "primary", "error"));
  const uint64_t done = Get(pair_.pqmp(), "info_checkpoint")["tot_num"].get<uint64_t>();
  EXPECT_GE(done, Case().min_committed);
  EXPECT_LE(done, Case().max_committed);
  EXPECT_TRUE(GuestRunsOn(pair_.pqmp(), 0));
  EXPECT_EQ(Get(pair_.pqmp(), "info_checkpoint")["tot_num"].get<uint64_t>(), done)
      << "checkpoints went on without a secondary";
  EXPECT_FALSE(pair_.primary().Exited().has_value());
}

INSTANTIATE_TEST_SUITE_P(Providers, PrimaryKill,
                         ::testing::Combine(::testing::ValuesIn(rdma::testing::SelectedProviders()),
                                            ::testing::ValuesIn(kPrimaryCases),
                                            ::testing::Values(Order::kStaged, Order::kDirect)),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(Providers, SecondaryKill,
                         ::testing::Combine(::testing::ValuesIn(rdma::testing::SelectedProviders()),
                                            ::testing::ValuesIn(kSecondaryCases),
                                            ::testing::Values(Order::kStaged, Order::kDirect)),
                         ParamName);

}  // namespace
}  // namespace ftvm::colo::testing
