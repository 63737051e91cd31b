// `ftvm restore FILE [options]`: recreates a VM from a snapshot and continues running it.
#include <string>

#include "app/cli.h"
#include "app/run_loop.h"
#include "vmm/snapshot.h"

namespace ftvm::app {
namespace {

struct RestoreFlags {
  std::string path;
  std::string dirty_mode = "auto";
  RunLoopFlags loop;
};

}  // namespace

CommandRunner RegisterRestoreCommand(CLI::App& parent) {
  auto flags = std::make_shared<RestoreFlags>();
  CLI::App* cmd =
      parent.add_subcommand("restore", "Restore a VM from a snapshot file and continue running it");
  cmd->add_option("snapshot", flags->path, "snapshot file written by `ftvm run --snapshot`")
      ->required();
  cmd->add_option("--dirty-mode", flags->dirty_mode,
                  "dirty tracking mode: auto, classic, manual, ring")
      ->capture_default_str();
  AddRunLoopFlags(*cmd, flags->loop);
  return [flags] {
    auto options = ParseRunLoopFlags(flags->loop);
    if (!options) return Report("restore", options.error());
    auto mode = vmm::ParseDirtyMode(flags->dirty_mode);
    if (!mode) return Report("restore", mode.error());
    BlockTerminationSignals();
    vmm::SnapshotStats stats;
    auto vm = vmm::RestoreSnapshot(
        flags->path,
        [&](vmm::MachineConfig& c) {
          c.dirty_mode = *mode;
          c.serial.to_stdout = !flags->loop.quiet;
          c.serial.to_log = false;
        },
        &stats);
    if (!vm) return Report("restore " + flags->path, vm.error());
    std::fprintf(stderr, "ftvm: restored %s (%llu pages) in %.3f s\n", flags->path.c_str(),
                 static_cast<unsigned long long>(stats.stored_pages),
                 static_cast<double>(stats.elapsed_ns) / 1e9);
    return RunUntilDone(**vm, *options);
  };
}

}  // namespace ftvm::app
