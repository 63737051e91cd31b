#include "control/builtins.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/trace.h"
#include "control/session.h"
#include "tests/control/session_harness.h"

namespace ftvm::control {

FTVM_TRACE_EVENT(ctltest_alpha, "x={}", (int, x))
FTVM_TRACE_EVENT(ctltest_beta, "y={}", (int, y))

namespace {

class BuiltinsTest : public testing::SessionHarness {
 protected:
  void SetUp() override {
    trace::SetState("ctltest_*", false);
    ASSERT_TRUE(
        RegisterBuiltinCommands(
            registry_,
            BuiltinHooks{.version = {.major = 0, .minor = 9, .micro = 4, .package = "ftvm test"},
                         .quit = [this] { ++quits_; }})
            .has_value());
    ASSERT_EQ(Run("qmp_capabilities"), Json::parse(R"({"return": {}})"));
  }

  int quits_ = 0;
};

TEST_F(BuiltinsTest, QueryVersionReportsTheConfiguredVersion) {
  EXPECT_EQ(Run("query-version"), Ok(Json::parse(R"({"qemu": {"micro": 4, "minor": 9, "major": 0},
                                                   "package": "ftvm test"})")));
}

TEST_F(BuiltinsTest, QueryCommandsListsEveryBuiltin) {
  EXPECT_EQ(Run("query-commands"),
            Ok(Json::parse(R"([{"name": "qmp_capabilities"}, {"name": "query-commands"},
                              {"name": "query-version"}, {"name": "quit"},
                              {"name": "trace-event-get-state"}, {"name": "trace-event-list"},
                              {"name": "trace-event-set-state"}])")));
}

TEST_F(BuiltinsTest, TraceEventsAreListedAndSetByGlob) {
  EXPECT_EQ(Run("trace-event-list", {{"name", "ctltest_*"}}),
            Ok(Json::parse(R"([{"name": "ctltest_alpha", "state": "disabled", "vcpu": false},
                              {"name": "ctltest_beta", "state": "disabled", "vcpu": false}])")));
  EXPECT_EQ(Run("trace-event-set-state", {{"name", "ctltest_al?ha"}, {"enable", true}}),
            Ok(Json::object()));
  EXPECT_TRUE(ctltest_alpha_trace_event.enabled());
  EXPECT_FALSE(ctltest_beta_trace_event.enabled());
  EXPECT_EQ(Run("trace-event-get-state", {{"name", "ctltest_alpha"}}),
            Ok(Json::parse(R"([{"name": "ctltest_alpha", "state": "enabled", "vcpu": false}])")));
  EXPECT_EQ(Run("trace-event-set-state",
                {{"name", "ctltest_*"}, {"enable", false}, {"ignore-unavailable", true}}),
            Ok(Json::object()));
  EXPECT_FALSE(ctltest_alpha_trace_event.enabled());
  // The whole list (no name) includes both events, sorted.
  Json all = Run("trace-event-list")["return"];
  ASSERT_TRUE(all.is_array());
  EXPECT_GE(all.size(), 2u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const Json& a, const Json& b) { return a["name"] < b["name"]; }));
}

TEST_F(BuiltinsTest, UnknownExactEventNamesFailPatternsMatchingNothingDoNot) {
  EXPECT_EQ(Run("trace-event-set-state", {{"name", "ctltest_gamma"}, {"enable", true}}),
            Err(R"(unknown event "ctltest_gamma")"));
  EXPECT_EQ(Run("trace-event-get-state", {{"name", "ctltest_gamma"}}),
            Err(R"(unknown event "ctltest_gamma")"));
  EXPECT_EQ(Run("trace-event-set-state", {{"name", "nothing_*"}, {"enable", true}}),
            Ok(Json::object()));
  EXPECT_EQ(Run("trace-event-list", {{"name", "nothing_*"}}), Ok(Json::array()));
}

TEST_F(BuiltinsTest, TraceArgumentsAreValidated) {
  EXPECT_EQ(Run("trace-event-set-state", {{"name", "ctltest_*"}}),
            Err("Parameter 'enable' is missing"));
  EXPECT_EQ(Run("trace-event-set-state", {{"name", "ctltest_*"}, {"enable", "yes"}}),
            Err("Invalid parameter type for 'enable', expected: boolean"));
  EXPECT_EQ(Run("trace-event-get-state"), Err("Parameter 'name' is missing"));
  EXPECT_EQ(Run("trace-event-list", {{"name", std::string(kMaxTraceGlobBytes + 1, '*')}}),
            Err("Parameter 'name' expects a string of at most 256 bytes"));
  EXPECT_EQ(Run("trace-event-get-state", {{"name", "ctltest_*"}, {"vcpu", 0}}),
            Err("Parameter 'vcpu' is unexpected"));
}

TEST_F(BuiltinsTest, QuitCallsTheHookOnce) {
  EXPECT_EQ(Run("quit"), Ok(Json::object()));
  EXPECT_EQ(quits_, 1);
}

TEST(BuiltinsWithoutQuitTest, QuitIsNotRegisteredWithoutAHook) {
  CommandRegistry registry;
  ASSERT_TRUE(RegisterBuiltinCommands(registry, BuiltinHooks{}).has_value());
  EXPECT_EQ(registry.Find("quit"), nullptr);
  EXPECT_NE(registry.Find("query-version"), nullptr);
}

}  // namespace
}  // namespace ftvm::control
