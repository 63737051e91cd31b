// A stand-in ftvm process for the `ftvm ctl` end-to-end test: a control server on argv[1] with
// the builtins, a FakeTarget holding a few recorded checkpoints, and a STOP event every time a
// checkpoint-now arrives. Exits 0 after `quit`.
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "control/builtins.h"
#include "control/server.h"
#include "control/target_commands.h"
#include "tests/control/fake_target.h"

namespace {

using namespace ftvm::control;  // NOLINT(google-build-using-namespace)

class DaemonTarget : public testing::FakeTarget {
 public:
  ftvm::Result<void> CheckpointNow() override {
    FTVM_TRY(FakeTarget::CheckpointNow());
    if (sink != nullptr) sink->Emit(kEventCheckpoint, Json{{"num", checkpoints_requested}});
    return {};
  }
  EventSink* sink = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
    return 64;
  }
  DaemonTarget target;
  for (uint64_t i = 1; i <= 10; ++i) {
    ftvm::colo::CheckpointSample sample;
    sample[ftvm::colo::Phase::kRam] = 1'000'000 * i;
    sample.downtime_ns = 2'000'000;
    sample.ram_bytes = 4096 * 100;
    target.stats.RecordCheckpoint(sample, 2'500'000);
  }
  std::mutex mu;
  std::condition_variable cv;
  bool quit = false;
  auto registry = std::make_unique<CommandRegistry>();
  auto builtins = RegisterBuiltinCommands(*registry, BuiltinHooks{.quit = [&] {
    std::lock_guard lock(mu);
    quit = true;
    cv.notify_all();
  }});
  auto commands = RegisterTargetCommands(*registry, target);
  auto server = Server::Start(ServerOptions{.socket_path = argv[1]}, std::move(registry));
  if (!builtins || !commands || !server) {
    std::fprintf(stderr, "ctl_test_daemon: cannot start\n");
    return 70;
  }
  target.sink = server->get();
  std::printf("ready\n");  // the test waits for this line, not for time to pass
  std::fflush(stdout);
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return quit; });
  lock.unlock();
  (*server)->Stop();
  return 0;
}
