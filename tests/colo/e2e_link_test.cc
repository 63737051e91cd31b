// colo end to end: cut the link between live processes with a proxy in this test (tcp:// only;
// rdma:// would need a network namespace and nftables, not in this suite).
//
// Both sides must notice within the heartbeat timeout: the secondary takes over from its last
// committed checkpoint, the primary goes on alone. Checkpoints run back to back (1 ms period)
// so a cut almost always lands inside one: the counter guest would exit on a register/memory
// mismatch, or show a heartbeat gap, if the secondary applied part of it.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/colo/e2e_harness.h"
#include "tests/colo/tcp_proxy.h"

namespace ftvm::colo::testing {
namespace {

using rdma::testing::ProviderSpec;

enum class Cut { kBlackhole, kSever };

class ColoLinkCut : public ::testing::TestWithParam<std::tuple<ProviderSpec, Cut>> {
 protected:
  void SetUp() override {
    const ProviderSpec& provider = std::get<0>(GetParam());
    if (std::string(provider.name) != "tcp") {
      GTEST_SKIP() << "the test proxy forwards tcp:// only (" << provider.name << ")";
    }
    if (std::string why = ColoE2eTest::SkipReason(provider); !why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    if (HasFailure()) {
      pair_.KeepLogs();
      std::cerr << pair_.Logs() << "\n";
    }
  }
  Json Get(Qmp& qmp, std::string_view command) {
    auto r = qmp.Call(command);
    EXPECT_TRUE(r) << command << ": " << r.error().ToString();
    return r ? *r : Json();
  }

  std::unique_ptr<TcpProxy> proxy_;
  ColoPair pair_;
};

std::string LinkCutName(const ::testing::TestParamInfo<std::tuple<ProviderSpec, Cut>>& p) {
  return std::string(std::get<0>(p.param).name) +
         (std::get<1>(p.param) == Cut::kBlackhole ? "_blackhole" : "_sever");
}

TEST_P(ColoLinkCut, BothSidesReactWithinTheHeartbeatTimeout) {
  PairOptions o;
  o.provider = std::get<0>(GetParam());
  o.checkpoint_delay_ms = 1;
  o.route = [&](const std::string& host, uint16_t port) {
    auto proxy = TcpProxy::Start(HostPort{host, port});
    EXPECT_TRUE(proxy) << proxy.error().ToString();
    if (!proxy) return std::string("tcp://127.0.0.1:1");
    proxy_ = std::move(*proxy);
    return fmt::format("tcp://{}:{}", host, proxy_->port());
  };
  auto started = pair_.Start(o);
  ASSERT_TRUE(started) << started.error().ToString();
  auto colo = pair_.WaitColo();
  ASSERT_TRUE(colo) << colo.error().ToString();
  ASSERT_TRUE(
      PollUntil([&] { return TotNum(pair_.sqmp()).value_or(0) >= 20; }, std::chrono::seconds(20)));
  const uint64_t floor = Get(pair_.pqmp(), "query-guest")["last-heartbeat"].get<uint64_t>();
  // A checkpoint started after `floor` was read has committed: the replica holds at least it.
  const uint64_t after = TotNum(pair_.sqmp()).value_or(0) + 2;
  ASSERT_TRUE(PollUntil([&] { return TotNum(pair_.sqmp()).value_or(0) >= after; },
                        std::chrono::seconds(10)));

  const Stopwatch since_cut;
  if (std::get<1>(GetParam()) == Cut::kBlackhole) {
    proxy_->Blackhole();
  } else {
    proxy_->Sever();
  }
  auto failover = pair_.sqmp().WaitEvent("FAILOVER", Deadline(std::chrono::seconds(10)));
  const uint64_t secondary_ms = since_cut.ElapsedNs() / 1'000'000;
  auto degraded = pair_.pqmp().WaitEvent("DEGRADED", Deadline(std::chrono::seconds(10)));
  const uint64_t primary_ms = since_cut.ElapsedNs() / 1'000'000;
  ASSERT_TRUE(failover) << failover.error().ToString();
  ASSERT_TRUE(degraded) << degraded.error().ToString();
  // The heartbeat timeout, plus the polling slices and a loaded 2-core machine's scheduling.
  const uint64_t bound_ms = o.heartbeat_timeout_ms + 1000;
  std::cout << "cut noticed after " << secondary_ms << " ms (secondary failover), " << primary_ms
            << " ms (primary degraded); heartbeat timeout " << o.heartbeat_timeout_ms << " ms\n";
  EXPECT_LE(secondary_ms, bound_ms) << "the secondary noticed the cut late";
  EXPECT_LE(primary_ms, bound_ms) << "the primary noticed the cut late";

  EXPECT_EQ((*failover)["reason"], "error");
  const uint64_t committed = (*failover)["checkpoint"].get<uint64_t>();
  EXPECT_EQ(Get(pair_.sqmp(), "info_checkpoint")["tot_num"].get<uint64_t>(), committed);
  EXPECT_GE(committed, after);
  EXPECT_TRUE(FailedOver(pair_.sqmp(), "secondary", "error"));
  EXPECT_TRUE(FailedOver(pair_.pqmp(), "primary", "error"));
  // Both guests run on (a network partition without an arbiter: each side keeps its copy).
  EXPECT_TRUE(GuestRunsOn(pair_.sqmp(), floor));
  EXPECT_TRUE(GuestRunsOn(pair_.pqmp(), floor));
}

INSTANTIATE_TEST_SUITE_P(Providers, ColoLinkCut,
                         ::testing::Combine(::testing::ValuesIn(rdma::testing::SelectedProviders()),
                                            ::testing::Values(Cut::kBlackhole, Cut::kSever)),
                         LinkCutName);

}  // namespace
}  // namespace ftvm::colo::testing
