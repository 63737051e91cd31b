// `ftvm`: global flags (logging, tracing), then one subcommand. Each subcommand lives in its
// own cmd_*.cc; this file only dispatches. Exceptions from flag parsing stop here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "app/cli.h"
#include "app/config_file.h"
#include "base/log.h"
#include "base/trace.h"

int main(int argc, char** argv) {
  using namespace ftvm::app;  // NOLINT(google-build-using-namespace)
  CLI::App app{
      "ftvm: fault-tolerant VMs. Exit status: 0 ok, 1-63 the guest's own exit code (ctl: 1 "
      "the command was refused), 64 usage, 65 corrupt input, 69 KVM unavailable (ctl: no "
      "process on the socket), 70 VMM error, 74 I/O error, 75 guest crashed, 124 timeout, "
      "130 interrupted."};
  app.require_subcommand(1);
  std::string log_levels, log_file, trace;
  app.add_option("--log", log_levels, "log levels, e.g. 'debug' or 'vmm=debug,info' (or FTVM_LOG)");
  app.add_option("--log-file", log_file, "append logs to this file instead of stderr");
  app.add_option("--trace", trace, "enable trace events by glob, e.g. 'vmm_*' (or FTVM_TRACE)");

  const CommandRunner run = RegisterRunCommand(app);
  const CommandRunner restore = RegisterRestoreCommand(app);
  const CommandRunner guests = RegisterGuestsCommand(app);
  const CommandRunner primary = RegisterPrimaryCommand(app);
  const CommandRunner secondary = RegisterSecondaryCommand(app);
  const CommandRunner ctl = RegisterCtlCommand(app);
  const CommandRunner demo = RegisterDemoCommand(app);
  AddConfigFileOption(app, {app.get_subcommand("primary"), app.get_subcommand("secondary")});
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!log_levels.empty()) {
    if (auto r = ftvm::SetLogLevels(log_levels); !r) return Report("--log", r.error());
  }
  if (!log_file.empty()) {
    if (auto r = ftvm::SetLogFile(log_file); !r) return Report("--log-file", r.error());
  }
  if (!trace.empty()) ftvm::trace::Configure(trace);
  try {
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("restore")) return restore();
    if (app.got_subcommand("guests")) return guests();
    if (app.got_subcommand("primary")) return primary();
    if (app.got_subcommand("secondary")) return secondary();
    if (app.got_subcommand("ctl")) return ctl();
    if (app.got_subcommand("demo")) return demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ftvm: internal error: %s\n", e.what());
    return kExitSoftware;
  }
  return kExitUsage;
}
