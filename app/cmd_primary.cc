// `ftvm primary --peer ADDR --guest NAME --mem SIZE [options] [-- guest args]`: runs the guest
// and checkpoints it into `ftvm secondary`. See docs/operations.md.
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/daemon.h"
#include "app/run_loop.h"
#include "app/sync_progress.h"
#include "base/strings.h"
#include "colo/primary.h"

namespace ftvm::app {
namespace {

struct PrimaryFlags {
  std::string peer;
  std::string guest = "dirtier";
  std::string mem = "256M";
  std::string ring = "1M";
  std::string dirty_mode = "auto";
  uint64_t checkpoint_delay_ms = 100;
  uint64_t dirty_threshold = 0;
  std::string registration = "pin-all";
  std::string max_pinned = "0";
  bool verify = false;
  bool passive = false;
  bool resume_after_loaded = false;
  bool no_staging = false;
  uint32_t precapture_ms = 0;
  uint32_t sync_rounds = 8;
  bool console = false;
  std::vector<std::string> guest_args;
  DaemonFlags daemon;
};

Result<colo::PrimaryOptions> ToOptions(const PrimaryFlags& f) {
  colo::PrimaryOptions o;
  FTVM_TRY(ApplyDaemonFlags(f.daemon, o));
  FTVM_ASSIGN_OR_RETURN(o.peer_uri, ResolveAddress(f.peer, f.daemon.transport));
  o.machine.guest = f.guest;
  FTVM_ASSIGN_OR_RETURN(o.machine.ram_bytes, ParseSize(f.mem));
  FTVM_ASSIGN_OR_RETURN(o.machine.ring_bytes, ParseSize(f.ring));
  FTVM_ASSIGN_OR_RETURN(o.machine.dirty_mode, vmm::ParseDirtyMode(f.dirty_mode));
  for (const std::string& a : f.guest_args) {
    o.machine.guest_args += (o.machine.guest_args.empty() ? "" : " ") + a;
  }
  o.machine.serial.to_stdout = f.console;
  o.machine.serial.to_log = false;
  if (f.checkpoint_delay_ms < colo::kCheckpointDelayMsRange.min ||
      f.checkpoint_delay_ms > colo::kCheckpointDelayMsRange.max) {
    return Fail(ErrorCode::kInvalidArgument, "--checkpoint-delay-ms must be in [{}, {}]",
                colo::kCheckpointDelayMsRange.min, colo::kCheckpointDelayMsRange.max);
  }
  o.parameters.checkpoint_delay_ms = f.checkpoint_delay_ms;
  o.parameters.dirty_threshold_pages = f.dirty_threshold;
  FTVM_ASSIGN_OR_RETURN(o.parameters.pinned_budget_bytes, ParseSize(f.max_pinned));
  if (f.registration == "pin-all") {
    o.ram.mode = ram::RegistrationMode::kPinAll;
  } else if (f.registration == "on-demand") {
    o.ram.mode = ram::RegistrationMode::kOnDemand;
  } else {
    return Fail(ErrorCode::kInvalidArgument, "--registration: pin-all or on-demand, not '{}'",
                f.registration);
  }
  o.ram.verify = f.verify;
  o.passive = f.passive;
  o.resume_after_received = !f.resume_after_loaded;
  o.staging = !f.no_staging;
  if (f.precapture_ms > 0 && f.no_staging) {
    return Fail(ErrorCode::kInvalidArgument, "--precapture-ms needs the staging mirror");
  }
  o.precapture_ms = f.precapture_ms;
  o.max_sync_rounds = std::max<uint32_t>(1, f.sync_rounds);
  o.sync_progress = MakeSyncProgressPrinter();
  return o;
}

}  // namespace

CommandRunner RegisterPrimaryCommand(CLI::App& parent) {
  auto f = std::make_shared<PrimaryFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "primary", "Run a guest and checkpoint it into `ftvm secondary` (fault tolerance)");
  cmd->add_option("-p,--peer", f->peer,
                  "the secondary: host:port, tcp://host:port or rdma://host:port")
      ->required();
  cmd->add_option("-g,--guest", f->guest, "built-in guest: counter, dirtier, ringtest")
      ->capture_default_str();
  cmd->add_option("-m,--mem", f->mem, "guest RAM, e.g. 256M or 1G (multiple of 2 MiB)")
      ->capture_default_str();
  cmd->add_option("--ring", f->ring, "shared-memory ring block (0: none)")->capture_default_str();
  cmd->add_option("--dirty-mode", f->dirty_mode, "auto, classic, manual or ring")
      ->capture_default_str();
  cmd->add_option("--checkpoint-delay-ms", f->checkpoint_delay_ms,
                  "period between checkpoints (set-parameters can change it)")
      ->capture_default_str();
  cmd->add_option("--dirty-threshold", f->dirty_threshold,
                  "checkpoint early once this many pages are dirty (0: off)")
      ->capture_default_str();
  cmd->add_option("--registration", f->registration,
                  "pin-all (register guest RAM once) or on-demand (chunks on first use)")
      ->capture_default_str();
  cmd->add_option("--max-pinned", f->max_pinned,
                  "on-demand: pinned-memory budget, e.g. 256M (0: unlimited)")
      ->capture_default_str();
  cmd->add_flag("--verify", f->verify,
                "hash each checkpoint's pages on both sides (a mismatch is never applied) and "
                "compare all guest RAM after every commit (slower: for testing)");
  cmd->add_flag("--passive", f->passive,
                "the secondary's guest stays paused between checkpoints (Remus-like)");
  cmd->add_flag("--no-staging", f->no_staging,
                "send each checkpoint while the guest is paused (QEMU's order) instead of "
                "copying its dirty pages to a staging mirror and resuming at once; saves one "
                "copy of guest RAM");
  cmd->add_flag("--resume-after-loaded", f->resume_after_loaded,
                "with --no-staging: resume only after the secondary loaded the checkpoint "
                "(QEMU's order) rather than once it received everything");
  cmd->add_option("--precapture-ms", f->precapture_ms,
                  "every N ms between checkpoints, copy dirty pages into the staging mirror while "
                  "the guest runs: shorter pauses, slower guest writes (0: off)")
      ->capture_default_str();
  cmd->add_option("--sync-rounds", f->sync_rounds, "most rounds of the live initial sync")
      ->capture_default_str();
  cmd->add_flag("--console", f->console, "show the guest's serial console on stdout");
  cmd->add_option("guest_args", f->guest_args, "guest arguments key=value (after --)");
  AddDaemonFlags(*cmd, f->daemon);
  return [f] {
    auto options = ToOptions(*f);
    if (!options) return Report("primary", options.error());
    BlockTerminationSignals();
    auto primary = colo::Primary::Create(std::move(*options));
    if (!primary) return Report("primary", primary.error());
    colo::Primary& p = **primary;
    return RunDaemon("primary", p.control(), f->daemon.control, [&] { return p.Run(); });
  };
}

}  // namespace ftvm::app
