// `ftvm run --guest NAME [--mem SIZE] [options] [-- guest args]`: boots a built-in guest and
// runs it in the foreground; optionally snapshots it (see run_loop.h).
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/run_loop.h"
#include "base/strings.h"
#include "vmm/dirty_log.h"
#include "vmm/machine.h"

namespace ftvm::app {
namespace {

struct RunFlags {
  std::string guest = "counter";
  std::string mem = "64M";
  std::string ring = "1M";
  uint32_t vcpus = 1;
  std::string dirty_mode = "auto";
  bool irqchip = false;
  bool no_pin = false;
  std::vector<std::string> guest_args;
  RunLoopFlags loop;
};

Result<vmm::MachineConfig> ToConfig(const RunFlags& f) {
  vmm::MachineConfig c;
  c.guest = f.guest;
  FTVM_ASSIGN_OR_RETURN(c.ram_bytes, ParseSize(f.mem));
  FTVM_ASSIGN_OR_RETURN(c.ring_bytes, ParseSize(f.ring));
  FTVM_ASSIGN_OR_RETURN(c.dirty_mode, vmm::ParseDirtyMode(f.dirty_mode));
  c.vcpus = f.vcpus;
  c.irqchip = f.irqchip;
  c.pin_vcpus = !f.no_pin;
  for (const std::string& a : f.guest_args) c.guest_args += (c.guest_args.empty() ? "" : " ") + a;
  c.serial.to_stdout = !f.loop.quiet;
  c.serial.to_log = false;
  return c;
}

}  // namespace

CommandRunner RegisterRunCommand(CLI::App& parent) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "run", "Boot a built-in guest and run it until it exits (ftvm guests lists them)");
  cmd->add_option("-g,--guest", flags->guest, "built-in guest: counter, dirtier, ringtest")
      ->capture_default_str();
  cmd->add_option("-m,--mem", flags->mem, "guest RAM, e.g. 256M or 2G (multiple of 2 MiB)")
      ->capture_default_str();
  cmd->add_option("--vcpus", flags->vcpus, "number of vCPUs (1-4)")->capture_default_str();
  cmd->add_option("--ring", flags->ring, "shared-memory ring block size (0: no ring device)")
      ->capture_default_str();
  cmd->add_option("--dirty-mode", flags->dirty_mode,
                  "dirty tracking mode: auto, classic, manual, ring")
      ->capture_default_str();
  cmd->add_flag("--irqchip", flags->irqchip, "create the in-kernel irqchip and PIT");
  cmd->add_flag("--no-pin", flags->no_pin, "do not pin vCPU threads to cores");
  cmd->add_option("guest_args", flags->guest_args,
                  "guest arguments key=value (after --), e.g. interval_ms=500");
  AddRunLoopFlags(*cmd, flags->loop);
  return [flags] {
    auto config = ToConfig(*flags);
    if (!config) return Report("run", config.error());
    auto options = ParseRunLoopFlags(flags->loop);
    if (!options) return Report("run", options.error());
    BlockTerminationSignals();
    auto vm = vmm::Machine::Create(*config);
    if (!vm) return Report("run " + flags->guest, vm.error());
    return RunUntilDone(**vm, *options);
  };
}

}  // namespace ftvm::app
