// The engine commands through the real adapter: a Server with a ColoTarget over a real
// colo::EngineControl (no VM, no peer: the test plays the engine thread by applying state
// events, recording stats and emitting events), queried by the real Client over the socket.
#include "control/colo_target.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "control/builtins.h"
#include "control/client.h"
#include "control/server.h"
#include "control/target_commands.h"

namespace ftvm::control {
namespace {

Deadline Soon() { return Deadline(std::chrono::seconds(10)); }

class ColoTargetTest : public ::testing::TestWithParam<colo::Role> {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ftvm-colo-target-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    engine_ = std::make_unique<colo::EngineControl>(GetParam());
    target_ = std::make_unique<ColoTarget>(*engine_);
    auto registry = std::make_unique<CommandRegistry>();
    ASSERT_TRUE(RegisterBuiltinCommands(*registry, {}).has_value());
    ASSERT_TRUE(RegisterTargetCommands(*registry, *target_).has_value());
    auto server = Server::Start({.socket_path = dir_ + "/qmp.sock"}, std::move(registry));
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
    target_->Attach(*server_);
    auto client = Client::Connect(dir_ + "/qmp.sock", Soon());
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    client_.emplace(std::move(*client));
    ASSERT_TRUE(client_->Negotiate(Soon()).has_value());
  }
  void TearDown() override {
    engine_->set_event_callback(nullptr);
    client_.reset();
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Json Call(std::string_view command, const Json& arguments = Json::object()) {
    auto reply = client_->Execute(command, arguments, Soon());
    EXPECT_TRUE(reply.has_value()) << reply.error().ToString();
    if (!reply) return nullptr;
    if (!reply->ok()) return Json{{"error", reply->error->desc}};
    return reply->value;
  }

  void EnterColo() {
    ASSERT_TRUE(engine_->Apply(colo::Event::kSetupDone).has_value());
    ASSERT_TRUE(engine_->Apply(colo::Event::kColoEntered).has_value());
  }

  const char* mode() const { return GetParam() == colo::Role::kPrimary ? "primary" : "secondary"; }

  std::string dir_;
  std::unique_ptr<colo::EngineControl> engine_;
  std::unique_ptr<ColoTarget> target_;
  std::unique_ptr<Server> server_;
  std::optional<Client> client_;
};

TEST_P(ColoTargetTest, ColoStatusFollowsTheEnginesStateMachine) {
  EXPECT_EQ(Call("query-colo-status"),
            Json::parse(R"({"mode": "none", "last-mode": "none", "reason": "none",
                            "status": "setup", "failover-state": "none"})"));
  EXPECT_EQ(Call("query-status")["status"], "prelaunch");
  EnterColo();
  const Json colo = Call("query-colo-status");
  EXPECT_EQ(colo["mode"], mode());
  EXPECT_EQ(colo["status"], "colo");
  engine_->set_guest_running(true);
  EXPECT_EQ(Call("query-status"), Json::parse(R"({"running": true, "status": "running"})"));
}

TEST_P(ColoTargetTest, FailoverIsRefusedOutsideColoModeAndRecordedInside) {
  EXPECT_TRUE(Call("failover").contains("error"));
  EnterColo();
  EXPECT_EQ(Call("x-colo-lost-heartbeat"), Json::object());
  const Json colo = Call("query-colo-status");
  EXPECT_EQ(colo["status"], "failover");
  EXPECT_EQ(colo["reason"], "request");
  EXPECT_EQ(colo["failover-state"], "require");
}

TEST_P(ColoTargetTest, CheckpointNowOnlyOnAPrimaryInColoMode) {
  EXPECT_TRUE(Call("checkpoint-now").contains("error"));
  EnterColo();
  const Json reply = Call("checkpoint-now");
  if (GetParam() == colo::Role::kPrimary) {
    EXPECT_EQ(reply, Json::object());
    EXPECT_TRUE(engine_->TakeCheckpointRequest());
  } else {
    EXPECT_TRUE(reply.contains("error"));
    EXPECT_FALSE(engine_->TakeCheckpointRequest());
  }
}

TEST_P(ColoTargetTest, ParametersAreTheEnginesAllOrNothing) {
  EXPECT_EQ(Call("set-parameters", {{"checkpoint-delay", 20}, {"pinned-budget", 1 << 30}}),
            Json::object());
  EXPECT_EQ(engine_->parameters().checkpoint_delay_ms, 20u);
  EXPECT_EQ(engine_->parameters().pinned_budget_bytes, uint64_t{1} << 30);
  EXPECT_TRUE(Call("set-parameters", {{"checkpoint-delay", 30}, {"heartbeat-timeout", 1}})
                  .contains("error"));
  EXPECT_EQ(engine_->parameters().checkpoint_delay_ms, 20u);
  EXPECT_EQ(Call("query-parameters")["checkpoint-delay"], 20);
}

TEST_P(ColoTargetTest, StatsAndReplicationAreTheEnginesOwn) {
  colo::CheckpointSample sample;
  sample[colo::Phase::kRam] = 3'000'000;
  sample.downtime_ns = 1'500'000;
  sample.ram_bytes = 409'600;
  engine_->stats().RecordCheckpoint(sample, 4'000'000);
  engine_->stats().RecordCheckpoint(sample, 4'000'000);
  Json stats = Call("info_checkpoint");
  EXPECT_EQ(stats["tot_num"], 2);
  EXPECT_EQ(stats["ram_time"], 3'000'000);
  EXPECT_EQ(stats["ram_size"], 409'600);
  EXPECT_EQ(stats["percentiles"]["downtime"]["max"], 1'500'000);
  EXPECT_EQ(Call("reset_checkpoint"), Json::object());
  EXPECT_EQ(Call("info_checkpoint")["tot_num"], 0);

  engine_->set_replication({.transport = "tcp",
                            .registration = "pin-all",
                            .pinned_bytes = 4096,
                            .registrations = 1,
                            .unregistrations = 0,
                            .zero_chunks = 2,
                            .writes_in_flight = 3});
  EXPECT_EQ(Call("query-replication"),
            Json::parse(R"({"transport": "tcp", "registration": "pin-all", "pinned-bytes": 4096,
                            "registrations": 1, "unregistrations": 0, "zero-chunks": 2,
                            "writes-in-flight": 3})"));
  // No VM yet (a secondary before the primary's hello): the guest is absent, not an error.
  EXPECT_EQ(Call("query-guest")["present"], false);
}

TEST_P(ColoTargetTest, EngineEventsBecomeQmpEvents) {
  engine_->Emit({.kind = colo::EngineEventKind::kCheckpoint,
                 .checkpoint = 7,
                 .downtime_ns = 1200,
                 .ram_bytes = 8192,
                 .dev_bytes = 100});
  engine_->Emit({.kind = colo::EngineEventKind::kPeerLost, .text = "no word for 2000 ms"});
  engine_->Emit({.kind = colo::EngineEventKind::kFailover,
                 .mode = GetParam() == colo::Role::kPrimary ? colo::ColoMode::kPrimary
                                                            : colo::ColoMode::kSecondary,
                 .reason = colo::ExitReason::kError,
                 .checkpoint = 7});
  engine_->Emit({.kind = colo::EngineEventKind::kResume});
  auto next = [&] {
    auto event = client_->NextEvent(Soon());
    EXPECT_TRUE(event.has_value()) << event.error().ToString();
    EXPECT_TRUE(event && (*event)["timestamp"].contains("seconds"));
    return event ? *event : Json();
  };
  Json e = next();
  EXPECT_EQ(e["event"], "CHECKPOINT");
  EXPECT_EQ(e["data"], Json::parse(R"({"num": 7, "downtime": 1200, "ram_size": 8192,
                                       "dev_size": 100})"));
  e = next();
  EXPECT_EQ(e["event"], "PEER_LOST");
  EXPECT_EQ(e["data"]["reason"], "no word for 2000 ms");
  e = next();
  EXPECT_EQ(e["event"], "FAILOVER");
  EXPECT_EQ(e["data"], Json({{"mode", mode()}, {"reason", "error"}, {"checkpoint", 7}}));
  e = next();
  EXPECT_EQ(e["event"], "RESUME");
  EXPECT_FALSE(e.contains("data"));
}

INSTANTIATE_TEST_SUITE_P(BothRoles, ColoTargetTest,
                         ::testing::Values(colo::Role::kPrimary, colo::Role::kSecondary),
                         [](const auto& param_info) {
                           return param_info.param == colo::Role::kPrimary ? "Primary"
                                                                           : "Secondary";
                         });

}  // namespace
}  // namespace ftvm::control
