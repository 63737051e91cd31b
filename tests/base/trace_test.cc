#include "base/trace.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ftvm::test_trace {

FTVM_TRACE_EVENT(test_alpha_one, "x={}", (int, x))
FTVM_TRACE_EVENT(test_alpha_two, "a={} b={:#x}", (uint32_t, a), (uint64_t, b))
FTVM_TRACE_EVENT(test_beta, "p={}", (const void*, p))
FTVM_TRACE_EVENT0(test_gamma, "no arguments")

namespace {

bool IsEnabled(const char* name) {
  for (const auto& e : trace::List()) {
    if (e.name == name) return e.enabled;
  }
  ADD_FAILURE() << name << " not registered";
  return false;
}

TEST(TraceTest, EventsRegisterThemselves) {
  auto events = trace::List();
  EXPECT_TRUE(std::is_sorted(events.begin(), events.end(),
                             [](auto& a, auto& b) { return a.name < b.name; }));
  EXPECT_FALSE(IsEnabled("test_alpha_one"));
  EXPECT_FALSE(IsEnabled("test_gamma"));
}

TEST(TraceTest, GlobEnablesAndMinusDisables) {
  EXPECT_EQ(trace::Configure("test_alpha_*"), 2u);
  EXPECT_TRUE(IsEnabled("test_alpha_one"));
  EXPECT_TRUE(IsEnabled("test_alpha_two"));
  EXPECT_FALSE(IsEnabled("test_beta"));
  EXPECT_EQ(trace::Configure("-test_alpha_two,test_gamma"), 2u);
  EXPECT_TRUE(IsEnabled("test_alpha_one"));
  EXPECT_FALSE(IsEnabled("test_alpha_two"));
  EXPECT_TRUE(IsEnabled("test_gamma"));
  EXPECT_EQ(trace::SetState("test_*", false), 4u);
  EXPECT_FALSE(IsEnabled("test_gamma"));
  EXPECT_EQ(trace::SetState("nothing_matches_*", true), 0u);
}

TEST(TraceTest, EnabledEventsEmitWithoutCrashing) {
  trace::SetState("test_*", true);
  trace_test_alpha_one(1);
  trace_test_alpha_two(2, 0xff);
  trace_test_beta(nullptr);
  trace_test_gamma();
  trace::SetState("test_*", false);
  EXPECT_TRUE(test_alpha_one_trace_event.enabled() == false);
}

}  // namespace
}  // namespace ftvm::test_trace
