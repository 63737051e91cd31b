// The other process of ram/'s kill tests (tests/ram/e2e_kill_test.cc). It connects to URI and
// plays one side until it is killed or its channel fails:
//
//   ram_test_peer primary URI pin-all|on-demand ROUNDS
//       replicates the E2eBlocks() guest: ROUNDS checkpoints with RoundPattern(i), each waiting
//       for its ack, then checkpoints of every page until something fails.
//   ram_test_peer secondary URI
//       receives into a RamReceiver and commits every complete checkpoint.
//
// The primary's guest is PrimaryScript(E2eBlocks()), so the test can replay it exactly.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "ram/receiver.h"
#include "ram/sender.h"
#include "tests/ram/secondary_loop.h"
#include "tests/ram/test_util.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::ram::testing {
namespace {

int Fail(const char* step, const Error& error) {
  std::fprintf(stderr, "ram_test_peer: %s: %s\n", step, error.ToString().c_str());
  return 1;
}

int RunPrimary(const std::string& uri, RegistrationMode mode, uint64_t rounds) {
  auto channel = rdma::Connect(uri, rdma::testing::TestOptions());
  if (!channel) return Fail("connect", channel.error());
  PrimaryScript script(E2eBlocks());
  SenderOptions options;
  options.mode = mode;
  options.chunk_shift = 18;
  auto sender = RamSender::Start(channel->get(), script.views(), options);
  if (!sender) return Fail("start", sender.error());
  for (uint64_t id = 1;; ++id) {
    const auto dirty = script.Run(id <= rounds ? RoundPattern(id) : DirtyPattern{1.0, false, 0});
    const auto spans = Spans(dirty);
    if (auto sent = (*sender)->SendCheckpoint(id, spans); !sent) return Fail("send", sent.error());
    if (id > rounds) continue;  // the test holds these: no ack will come
    if (auto ack = (*sender)->WaitForAck(std::chrono::seconds(30)); !ack) {
      return Fail("ack", ack.error());
    }
  }
}

int RunSecondary(const std::string& uri) {
  auto channel = rdma::Connect(uri, rdma::testing::TestOptions());
  if (!channel) return Fail("connect", channel.error());
  auto guest = MakeBlocks(E2eBlocks());
  auto receiver = RamReceiver::Create(channel->get(), Views(guest));
  if (!receiver) return Fail("receiver", receiver.error());
  SecondaryLoop loop(channel->get(), receiver->get());
  loop.Start();
  while (!loop.error()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  loop.Stop();
  return Fail("loop", *loop.error());
}

}  // namespace
}  // namespace ftvm::ram::testing

int main(int argc, char** argv) {
  using ftvm::ram::RegistrationMode;
  const std::string role = argc > 2 ? argv[1] : "";
  if (role == "primary" && argc == 5) {
    const auto mode = std::string(argv[3]) == "on-demand" ? RegistrationMode::kOnDemand
                                                          : RegistrationMode::kPinAll;
    return ftvm::ram::testing::RunPrimary(argv[2], mode, std::strtoull(argv[4], nullptr, 10));
  }
  if (role == "secondary" && argc == 3) return ftvm::ram::testing::RunSecondary(argv[2]);
  std::fprintf(stderr, "usage: %s primary URI pin-all|on-demand ROUNDS | secondary URI\n", argv[0]);
  return 2;
}
