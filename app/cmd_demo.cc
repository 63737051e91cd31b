// `ftvm demo [options]`: a primary and a secondary on this host, checkpoints, a SIGKILLed
// primary, the failover and the guest running on (app/demo.h has the sequence).
#include "app/cli.h"
#include "app/demo.h"

namespace ftvm::app {
namespace {

struct DemoFlags {
  std::string protect_for = "8s";
  std::string run_on_for = "3s";
  DemoOptions options;
};

}  // namespace

CommandRunner RegisterDemoCommand(CLI::App& parent) {
  auto f = std::make_shared<DemoFlags>();
  DemoOptions& o = f->options;
  CLI::App* cmd = parent.add_subcommand(
      "demo",
      "Fault tolerance in one command: start a secondary and a primary on this host (children "
      "of this process), checkpoint the dirtier guest with a live line, SIGKILL the primary, "
      "show the secondary taking over with the guest running on, print the final stats, clean "
      "up. Exit 0 when all of that happened.");
  cmd->add_option("--duration", f->protect_for, "how long to checkpoint before killing the primary")
      ->capture_default_str();
  cmd->add_option("--run-on", f->run_on_for, "how long to watch the guest after the failover")
      ->capture_default_str();
  cmd->add_option("-m,--mem", o.mem, "guest RAM (multiple of 2 MiB)")->capture_default_str();
  cmd->add_option("--transport", o.transport,
                  "auto (verbs if an RDMA device is usable, else tcp), verbs or tcp")
      ->capture_default_str();
  cmd->add_option("--address", o.address,
                  "the address both ends use; with verbs, the IP address of the RDMA port (e.g. "
                  "the rxe device's netdev)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-delay-ms", o.checkpoint_delay_ms, "period between checkpoints")
      ->capture_default_str();
  cmd->add_option("--dirty-rate", o.dirty_rate,
                  "pages per second the guest writes (0: as fast as it can)")
      ->capture_default_str();
  cmd->add_option("--heartbeat-timeout-ms", o.heartbeat_timeout_ms,
                  "the daemons' heartbeat timeout (a SIGKILL is noticed at once regardless)")
      ->capture_default_str();
  cmd->add_flag("--keep", o.keep, "keep the work directory (the daemons' logs) and print it");
  return [f] {
    auto protect = ParseDuration(f->protect_for);
    if (!protect) return Report("demo --duration", protect.error());
    auto run_on = ParseDuration(f->run_on_for);
    if (!run_on) return Report("demo --run-on", run_on.error());
    f->options.protect_for = std::chrono::duration_cast<std::chrono::milliseconds>(*protect);
    f->options.run_on_for = std::chrono::duration_cast<std::chrono::milliseconds>(*run_on);
    return RunDemo(f->options);
  };
}

}  // namespace ftvm::app
