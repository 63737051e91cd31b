#include "colo/state.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace ftvm::colo {
namespace {

constexpr std::array kEvents = {
    Event::kSetupDone,   Event::kColoEntered, Event::kPeerLost,        Event::kFailoverRequested,
    Event::kCommitBegin, Event::kCommitEnd,   Event::kFailoverStarted, Event::kFailoverDone,
    Event::kQuit,        Event::kFatal};

// "status", plus "/failover-state" when not none, plus "+commit" inside a commit.
std::string Describe(const ColoState& s) {
  std::string out(Name(s.status));
  if (s.failover != FailoverState::kNone) out += "/" + std::string(Name(s.failover));
  if (s.in_commit) out += "+commit";
  return out;
}

ColoStateMachine Reach(Role role, const std::vector<Event>& path) {
  ColoStateMachine m(role);
  for (Event e : path) {
    auto r = m.Apply(e);
    EXPECT_TRUE(r) << "setup path failed at " << Name(e) << ": " << r.error().ToString();
  }
  return m;
}

struct Row {
  const char* name;
  std::vector<Event> path;
  // Expected outcome per event in kEvents order; "-" = rejected, state unchanged.
  std::array<const char*, kEvents.size()> expect;
};

void CheckTable(Role role, const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    for (size_t i = 0; i < kEvents.size(); ++i) {
      ColoStateMachine m = Reach(role, row.path);
      const ColoState before = m.state();
      auto r = m.Apply(kEvents[i]);
      const std::string where =
          std::string(Name(role)) + " in " + row.name + " on " + std::string(Name(kEvents[i]));
      if (std::string(row.expect[i]) == "-") {
        EXPECT_FALSE(r) << where << " was accepted, now " << Describe(m.state());
        EXPECT_EQ(m.state(), before) << where << " changed a rejected state";
      } else {
        ASSERT_TRUE(r) << where << ": " << r.error().ToString();
        EXPECT_EQ(Describe(m.state()), row.expect[i]) << where;
      }
    }
  }
}

using E = Event;

TEST(ColoStateTest, PrimaryEveryStateAndEvent) {
  const std::vector<Row> rows = {
      //                 SetupDone ColoEntered PeerLost  FailoverReq  CommitBegin CommitEnd
      //                 FailoverStarted  FailoverDone  Quit  Fatal
      {"setup", {}, {"sync", "-", "alone", "-", "-", "-", "-", "-", "stopped", "failed"}},
      {"sync",
       {E::kSetupDone},
       {"-", "colo", "alone", "-", "-", "-", "-", "-", "stopped", "failed"}},
      {"colo",
       {E::kSetupDone, E::kColoEntered},
       {"-", "-", "failover/require", "failover/require", "-", "-", "-", "-", "stopped", "failed"}},
      {"failover-require",
       {E::kSetupDone, E::kColoEntered, E::kPeerLost},
       {"-", "-", "-", "-", "-", "-", "failover/active", "-", "stopped/require", "failed/require"}},
      {"failover-active",
       {E::kSetupDone, E::kColoEntered, E::kPeerLost, E::kFailoverStarted},
       {"-", "-", "-", "-", "-", "-", "-", "alone/completed", "stopped/active", "failed/active"}},
      {"alone",
       {E::kSetupDone, E::kColoEntered, E::kPeerLost, E::kFailoverStarted, E::kFailoverDone},
       {"-", "-", "-", "-", "-", "-", "-", "-", "stopped/completed", "failed/completed"}},
      {"stopped", {E::kQuit}, {"-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}},
      {"failed", {E::kFatal}, {"-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}},
  };
  CheckTable(Role::kPrimary, rows);
}

TEST(ColoStateTest, SecondaryEveryStateAndEvent) {
  const std::vector<Row> rows = {
      {"setup", {}, {"sync", "-", "failed", "-", "-", "-", "-", "-", "stopped", "failed"}},
      {"sync",
       {E::kSetupDone},
       {"-", "colo", "failed", "-", "sync+commit", "-", "-", "-", "stopped", "failed"}},
      {"sync+commit",
       {E::kSetupDone, E::kCommitBegin},
       {"-", "colo+commit", "failed+commit", "-", "-", "sync", "-", "-", "stopped+commit",
        "failed+commit"}},
      {"colo",
       {E::kSetupDone, E::kColoEntered},
       {"-", "-", "failover/require", "failover/require", "colo+commit", "-", "-", "-", "stopped",
        "failed"}},
      {"colo+commit",
       {E::kSetupDone, E::kColoEntered, E::kCommitBegin},
       {"-", "-", "failover/relaunch+commit", "failover/relaunch+commit", "-", "colo", "-", "-",
        "stopped+commit", "failed+commit"}},
      {"relaunch",
       {E::kSetupDone, E::kColoEntered, E::kCommitBegin, E::kFailoverRequested},
       {"-", "-", "-", "-", "-", "failover/require", "-", "-", "stopped/relaunch+commit",
        "failed/relaunch+commit"}},
      {"failover-require",
       {E::kSetupDone, E::kColoEntered, E::kPeerLost},
       {"-", "-", "-", "-", "-", "-", "failover/active", "-", "stopped/require", "failed/require"}},
      {"failover-active",
       {E::kSetupDone, E::kColoEntered, E::kPeerLost, E::kFailoverStarted},
       {"-", "-", "-", "-", "-", "-", "-", "alone/completed", "stopped/active", "failed/active"}},
      {"stopped", {E::kQuit}, {"-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}},
      {"failed", {E::kFatal}, {"-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}},
  };
  CheckTable(Role::kSecondary, rows);
}

TEST(ColoStateTest, ModesFollowQemuSemantics) {
  ColoStateMachine m = Reach(Role::kSecondary, {E::kSetupDone, E::kColoEntered});
  EXPECT_EQ(m.state().mode, ColoMode::kSecondary);
  EXPECT_EQ(m.state().last_mode, ColoMode::kNone);
  ASSERT_TRUE(m.Apply(E::kFailoverRequested));
  EXPECT_EQ(m.state().reason, ExitReason::kRequest);
  EXPECT_TRUE(m.failover_pending());
  ASSERT_TRUE(m.Apply(E::kFailoverStarted));
  EXPECT_FALSE(m.failover_pending());
  ASSERT_TRUE(m.Apply(E::kFailoverDone));
  EXPECT_EQ(m.state().mode, ColoMode::kNone);
  EXPECT_EQ(m.state().last_mode, ColoMode::kSecondary);
  EXPECT_EQ(m.state().failover, FailoverState::kCompleted);
}

TEST(ColoStateTest, PeerLostRecordsErrorReason) {
  ColoStateMachine m = Reach(Role::kPrimary, {E::kSetupDone, E::kColoEntered, E::kPeerLost});
  EXPECT_EQ(m.state().reason, ExitReason::kError);
  EXPECT_EQ(m.state().mode, ColoMode::kPrimary);  // still primary until the failover is done
}

TEST(ColoStateTest, RejectionNamesStatusAndEvent) {
  ColoStateMachine m(Role::kPrimary);
  auto r = m.Apply(E::kFailoverRequested);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context(), "primary: event failover-requested is not valid in status setup");
}

}  // namespace
}  // namespace ftvm::colo
