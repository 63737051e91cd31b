// ram/ with a peer process killed by SIGKILL (tests/ram/ram_test_peer.cc is the other side).
//
// Primary killed: this process is the secondary; checkpoints 1-2 are committed, checkpoint 3 is
// held (as colo/ does until device state arrives). Whether the kill lands mid-transfer or after
// the checkpoint completed, guest memory must equal the primary's memory at checkpoint 2,
// replayed here from the same deterministic script. Secondary killed: this process is the
// primary; the next checkpoint or ack must fail promptly (peer lost), never hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "ram/receiver.h"
#include "ram/sender.h"
#include "tests/ram/secondary_loop.h"
#include "tests/ram/test_util.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::ram {
namespace {

using rdma::testing::ChildProcess;
using rdma::testing::ProviderSpec;

// FTVM_RAM_TEST_PEER, else the build tree's, else the one beside this binary.
std::string PeerPath() {
  const char* env = std::getenv("FTVM_RAM_TEST_PEER");
  if (env != nullptr && *env != '\0') return env;
  if (::access(RAM_TEST_PEER_PATH, X_OK) == 0) return RAM_TEST_PEER_PATH;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return RAM_TEST_PEER_PATH;
  const std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "ram_test_peer";
}

class RamKillTest : public ::testing::TestWithParam<ProviderSpec> {
 public:
  std::unique_ptr<rdma::Channel> Accept() {
    auto channel = listener_->Accept(std::chrono::seconds(20));
    EXPECT_TRUE(channel) << channel.error().ToString();
    return channel ? std::move(*channel) : nullptr;
  }

 protected:
  void SetUp() override {
    auto listener =
        rdma::Listen(rdma::testing::ListenUri(GetParam()), rdma::testing::TestOptions());
    if (!listener && listener.error().code() == ErrorCode::kUnsupported) {
      GTEST_SKIP() << GetParam().name << " provider unavailable";
    }
    ASSERT_TRUE(listener) << listener.error().ToString();
    listener_ = std::move(*listener);
  }

  std::unique_ptr<rdma::Listener> listener_;
};

template <class Predicate>
bool SpinUntil(Predicate done, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Kills the primary once checkpoint 3 reached `state` on the secondary.
void KillPrimaryAt(RamKillTest& test, rdma::Listener& listener, RegistrationMode mode,
                   ReceiverState state) {
  auto child =
      ChildProcess::Spawn(PeerPath(), {"primary", listener.uri(), RegistrationModeName(mode), "2"});
  ASSERT_TRUE(child) << child.error().ToString();
  auto channel = test.Accept();
  ASSERT_NE(channel, nullptr);
  auto guest = testing::MakeBlocks(testing::E2eBlocks());
  for (auto& b : guest) testing::FillRandom(b.view.host, 77);
  auto receiver = RamReceiver::Create(channel.get(), testing::Views(guest));
  ASSERT_TRUE(receiver);
  testing::SecondaryLoop loop(channel.get(), receiver->get());
  loop.HoldFrom(3);
  // Killed from the loop's thread the moment the receiver reaches `state`: nothing of the
  // checkpoint after that point is handled before the primary is gone.
  std::atomic<bool> killed{false};
  loop.SetObserver([&](uint64_t id, ReceiverState now) {
    if (id == 3 && now == state && !killed.exchange(true)) child->Signal(SIGKILL);
  });
  loop.Start();
  const bool reached = SpinUntil([&] { return killed.load() || loop.error().has_value(); },
                                 std::chrono::seconds(60));
  ASSERT_TRUE(reached && killed) << (loop.error() ? loop.error()->ToString() : "timeout");
  EXPECT_TRUE(loop.WaitForError(std::chrono::seconds(10)));
  loop.Stop();

  testing::PrimaryScript replay(testing::E2eBlocks());
  (void)replay.Run(testing::RoundPattern(1));
  (void)replay.Run(testing::RoundPattern(2));
  EXPECT_EQ((*receiver)->last_committed(), 2u);
  EXPECT_NE((*receiver)->state(), ReceiverState::kComplete);
  for (size_t b = 0; b < guest.size(); ++b) {
    EXPECT_EQ(std::memcmp(guest[b].view.host.data(), replay.blocks()[b].view.host.data(),
                          guest[b].view.host.size()),
              0)
        << "block " << b << " is not at checkpoint 2";
  }
}

TEST_P(RamKillTest, PrimaryKilledMidCheckpointLeavesTheLastCommit) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    SCOPED_TRACE(RegistrationModeName(mode));
    KillPrimaryAt(*this, *listener_, mode, ReceiverState::kReceiving);
  }
}

TEST_P(RamKillTest, PrimaryKilledAfterACompleteButUncommittedCheckpoint) {
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    SCOPED_TRACE(RegistrationModeName(mode));
    KillPrimaryAt(*this, *listener_, mode, ReceiverState::kComplete);
  }
}

TEST_P(RamKillTest, SecondaryKilledFailsTheCheckpointPromptly) {
  for (const int delay_ms : {0, 2, 5}) {
    for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
      SCOPED_TRACE(::testing::Message()
                   << RegistrationModeName(mode) << ", kill after " << delay_ms << " ms");
      auto child = ChildProcess::Spawn(PeerPath(), {"secondary", listener_->uri()});
      ASSERT_TRUE(child) << child.error().ToString();
      auto channel = Accept();
      ASSERT_NE(channel, nullptr);
      testing::PrimaryScript script(testing::E2eBlocks());
      SenderOptions options;
      options.mode = mode;
      options.chunk_shift = 18;
      auto sender = RamSender::Start(channel.get(), script.views(), options);
      ASSERT_TRUE(sender) << sender.error().ToString();
      for (uint64_t id = 1; id <= 2; ++id) {
        const auto dirty = script.Run(testing::RoundPattern(id));
        ASSERT_TRUE((*sender)->SendCheckpoint(id, testing::Spans(dirty)));
        ASSERT_TRUE((*sender)->WaitForAck(std::chrono::seconds(20)));
      }
      const auto start = std::chrono::steady_clock::now();
      std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        child->Signal(SIGKILL);
      });
      std::optional<Error> error;
      for (uint64_t id = 3; id <= 8 && !error; ++id) {
        const auto dirty = script.Run({1.0, false, 0.0});
        if (auto sent = (*sender)->SendCheckpoint(id, testing::Spans(dirty)); !sent) {
          error = sent.error();
        } else if (auto ack = (*sender)->WaitForAck(std::chrono::seconds(20)); !ack) {
          error = ack.error();
        }
      }
      killer.join();
      ASSERT_TRUE(error.has_value()) << "the dead secondary went unnoticed";
      EXPECT_NE(error->code(), ErrorCode::kTimeout) << error->ToString();
      EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
      EXPECT_TRUE((*sender)->broken().has_value());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, RamKillTest,
                         ::testing::ValuesIn(rdma::testing::SelectedProviders()),
                         rdma::testing::ProviderTestName);

}  // namespace
}  // namespace ftvm::ram
