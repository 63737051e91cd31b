#include "app/run_loop.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "app/cli.h"
#include "base/strings.h"
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

int Snapshot(vmm::Machine& vm, const RunLoopOptions& options) {
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
  return -1;  // keep running
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
}

Result<RunLoopOptions> ParseRunLoopFlags(const RunLoopFlags& flags) {
  RunLoopOptions o;
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
  if (auto r = vm.Resume(); !r) return Report("start guest", r.error());
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
    if (code) return std::min<int>(static_cast<int>(*code), kExitGuestMax);
    if (code.error().code() != ErrorCode::kTimeout) return Report("guest", code.error());
    if (TerminationPending()) {
      (void)vm.Pause();
      std::fprintf(stderr, "ftvm: interrupted\n");
      return kExitInterrupted;
    }
    const nanoseconds now(clock.ElapsedNs());
    if (!snapshot_done && now >= *options.snapshot_after) {
      snapshot_done = true;
      if (const int status = Snapshot(vm, options); status >= 0) return status;
    }
    if (options.timeout && now >= *options.timeout) {
      (void)vm.Pause();
      std::fprintf(stderr, "ftvm: --timeout reached, guest still running\n");
      return kExitTimeout;
    }
  }
}

}  // namespace ftvm::app
