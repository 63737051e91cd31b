// `ftvm secondary --listen ADDR [options]`: holds the replica of `ftvm primary`'s guest and
// takes over when the primary is lost. See docs/operations.md.
#include <string>

#include "app/cli.h"
#include "app/daemon.h"
#include "app/run_loop.h"
#include "base/strings.h"
#include "colo/secondary.h"

namespace ftvm::app {
namespace {

struct SecondaryFlags {
  std::string listen;
  std::string dirty_mode = "auto";
  std::string max_pinned = "0";
  std::string accept_timeout;
  bool console = false;
  DaemonFlags daemon;
};

Result<colo::SecondaryOptions> ToOptions(const SecondaryFlags& f) {
  colo::SecondaryOptions o;
  FTVM_TRY(ApplyDaemonFlags(f.daemon, o));
  FTVM_ASSIGN_OR_RETURN(o.listen_uri, ResolveAddress(f.listen, f.daemon.transport));
  FTVM_ASSIGN_OR_RETURN(o.dirty_mode, vmm::ParseDirtyMode(f.dirty_mode));
  FTVM_ASSIGN_OR_RETURN(o.parameters.pinned_budget_bytes, ParseSize(f.max_pinned));
  if (!f.accept_timeout.empty()) {
    FTVM_ASSIGN_OR_RETURN(const auto t, ParseDuration(f.accept_timeout));
    o.accept_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t);
  }
  o.serial.to_stdout = f.console;
  o.serial.to_log = false;
  return o;
}

}  // namespace

CommandRunner RegisterSecondaryCommand(CLI::App& parent) {
  auto f = std::make_shared<SecondaryFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "secondary", "Wait for `ftvm primary`, keep a replica of its guest, take over on failure");
  cmd->add_option("-l,--listen", f->listen,
                  "where to listen: host:port, tcp://host:port or rdma://host:port")
      ->required();
  cmd->add_option("--dirty-mode", f->dirty_mode, "auto, classic, manual or ring")
      ->capture_default_str();
  cmd->add_option("--max-pinned", f->max_pinned,
                  "most memory this side pins for on-demand registration (0: as asked)")
      ->capture_default_str();
  cmd->add_option("--accept-timeout", f->accept_timeout,
                  "give up if no primary connects within this long, e.g. 30s (default: wait)");
  cmd->add_flag("--console", f->console, "show the replica guest's serial console on stdout");
  AddDaemonFlags(*cmd, f->daemon);
  return [f] {
    auto options = ToOptions(*f);
    if (!options) return Report("secondary", options.error());
    BlockTerminationSignals();
    auto secondary = colo::Secondary::Create(std::move(*options));
    if (!secondary) return Report("secondary", secondary.error());
    colo::Secondary& s = **secondary;
    return RunDaemon("secondary", s.control(), f->daemon.control, [&] { return s.Run(); });
  };
}

}  // namespace ftvm::app
