#include "app/run_loop.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>

#include "app/cli.h"
#include "base/strings.h"
#include "control/builtins.h"
#include "control/server.h"
#include "control/target.h"
#include "control/target_commands.h"
#include "vmm/snapshot.h"

namespace ftvm::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr nanoseconds kPoll = milliseconds(100);

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

bool TerminationPending() {
  const sigset_t set = TerminationSignals();
  const timespec zero{};
  return ::sigtimedwait(&set, nullptr, &zero) > 0;
}

// What `ftvm run --control` answers: the VM's run state and its guest; everything about
// checkpoints is "not available in this process". The loop below keeps `running` current.
class RunTarget final : public control::ControlTarget {
 public:
  explicit RunTarget(vmm::Machine& vm) : vm_(vm), status_page_(colo::StatusPageOf(vm)) {}

  Result<control::StatusInfo> QueryStatus() override {
    using control::RunState;
    if (vm_.error()) return control::StatusInfo{.status = RunState::kInternalError};
    if (vm_.control().status().exited) return control::StatusInfo{.status = RunState::kShutdown};
    const bool running = running_.load();
    return control::StatusInfo{.running = running,
                               .status = running ? RunState::kRunning : RunState::kPaused};
  }
  Result<colo::GuestStatus> QueryGuest() override {
    return colo::GuestStatusOf(vm_.control(), status_page_);
  }

  void set_running(bool running) { running_.store(running); }
  void RequestQuit() { quit_.store(true); }
  bool quit_requested() const { return quit_.load(); }

 private:
  vmm::Machine& vm_;  // only its thread-safe getters
  const std::byte* status_page_;
  std::atomic<bool> running_{false};
  std::atomic<bool> quit_{false};
};

Result<std::unique_ptr<control::Server>> StartControl(const std::string& path, RunTarget& target) {
  auto registry = std::make_unique<control::CommandRegistry>();
  FTVM_TRY(control::RegisterBuiltinCommands(*registry, {.quit = [&] { target.RequestQuit(); }}));
  FTVM_TRY(control::RegisterTargetCommands(*registry, target));
  return control::Server::Start({.socket_path = path}, std::move(registry));
}

// Pauses the VM for good (interrupt, quit, timeout); the control socket says "paused".
void Stop(vmm::Machine& vm, RunTarget& target) {
  target.set_running(false);
  (void)vm.Pause();
}

int Snapshot(vmm::Machine& vm, RunTarget& target, const RunLoopOptions& options) {
  target.set_running(false);
  if (auto r = vm.Pause(); !r) return Report("pause for snapshot", r.error());
  auto stats = vmm::WriteSnapshot(vm, options.snapshot_path, {.fsync = options.fsync_snapshot});
  if (!stats) return Report("snapshot " + options.snapshot_path, stats.error());
  const double seconds = static_cast<double>(stats->elapsed_ns) / 1e9;
  std::fprintf(stderr,
               "ftvm: snapshot %s: %s of RAM, %llu pages stored, %llu zero pages skipped, "
               "%s file in %.3f s\n",
               options.snapshot_path.c_str(), FormatBytes(stats->ram_bytes).c_str(),
               static_cast<unsigned long long>(stats->stored_pages),
               static_cast<unsigned long long>(stats->zero_pages),
               FormatBytes(stats->file_bytes).c_str(), seconds);
  if (!options.continue_after_snapshot) return kExitOk;
  if (auto r = vm.Resume(); !r) return Report("resume after snapshot", r.error());
  target.set_running(true);
  return -1;  // keep running
}

int Loop(vmm::Machine& vm, RunTarget& target, const RunLoopOptions& options) {
  if (auto r = vm.Resume(); !r) return Report("start guest", r.error());
  target.set_running(true);
  const Stopwatch clock;
  bool snapshot_done = !options.snapshot_after.has_value();
  for (;;) {
    nanoseconds wait = kPoll;
    const nanoseconds elapsed(clock.ElapsedNs());
    if (options.timeout)
      wait = std::min(wait, std::max(nanoseconds(0), *options.timeout - elapsed));
    if (!snapshot_done) {
      wait = std::min(wait, std::max(nanoseconds(0), *options.snapshot_after - elapsed));
    }
    auto code = vm.WaitForExit(wait);
    if (code) {
      target.set_running(false);
      return std::min<int>(static_cast<int>(*code), kExitGuestMax);
    }
    if (code.error().code() != ErrorCode::kTimeout) {
      target.set_running(false);
      return Report("guest", code.error());
    }
    if (TerminationPending()) {
      Stop(vm, target);
      std::fprintf(stderr, "ftvm: interrupted\n");
      return kExitInterrupted;
    }
    if (target.quit_requested()) {
      Stop(vm, target);
      std::fprintf(stderr, "ftvm: quit (control socket)\n");
      return kExitOk;
    }
    const nanoseconds now(clock.ElapsedNs());
    if (!snapshot_done && now >= *options.snapshot_after) {
      snapshot_done = true;
      if (const int status = Snapshot(vm, target, options); status >= 0) return status;
    }
    if (options.timeout && now >= *options.timeout) {
      Stop(vm, target);
      std::fprintf(stderr, "ftvm: --timeout reached, guest still running\n");
      return kExitTimeout;
    }
  }
}

}  // namespace

void AddRunLoopFlags(CLI::App& command, RunLoopFlags& flags) {
  command.add_option(
      "--timeout", flags.timeout,
      "stop after this long (e.g. 10s) with exit status 124 if the guest still runs");
  command.add_option("--snapshot", flags.snapshot_path, "write a snapshot of the VM to this file");
  command.add_option("--snapshot-after", flags.snapshot_after,
                     "when to take the --snapshot (default 1s after start)");
  command.add_flag("--continue", flags.continue_after_snapshot,
                   "keep running after the snapshot (default: exit 0 once it is written)");
  command.add_flag("--fsync", flags.fsync, "fsync the snapshot before reporting it written");
  command.add_flag("-q,--quiet", flags.quiet, "do not copy the guest's serial output to stdout");
  command.add_option("--control", flags.control,
                     "QMP control socket (query-status, query-guest, trace events, quit; "
                     "`ftvm ctl PATH ...`)");
}

Result<RunLoopOptions> ParseRunLoopFlags(const RunLoopFlags& flags) {
  RunLoopOptions o;
  o.control_path = flags.control;
  if (!flags.timeout.empty()) {
    FTVM_ASSIGN_OR_RETURN(o.timeout, ParseDuration(flags.timeout));
  }
  if (!flags.snapshot_after.empty() && flags.snapshot_path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "--snapshot-after needs --snapshot FILE");
  }
  if (!flags.snapshot_path.empty()) {
    o.snapshot_path = flags.snapshot_path;
    o.snapshot_after = std::chrono::seconds(1);
    if (!flags.snapshot_after.empty()) {
      FTVM_ASSIGN_OR_RETURN(o.snapshot_after, ParseDuration(flags.snapshot_after));
    }
  }
  o.continue_after_snapshot = flags.continue_after_snapshot;
  o.fsync_snapshot = flags.fsync;
  return o;
}

void BlockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int RunUntilDone(vmm::Machine& vm, const RunLoopOptions& options) {
  RunTarget target(vm);
  std::unique_ptr<control::Server> server;
  if (!options.control_path.empty()) {
    auto started = StartControl(options.control_path, target);
    if (!started) return Report("control socket " + options.control_path, started.error());
    server = std::move(*started);
  }
  const int status = Loop(vm, target, options);
  if (server) server->Stop();
  return status;
}

}  // namespace ftvm::app
