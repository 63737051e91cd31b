// Runs a Machine in the foreground for `ftvm run` and `ftvm restore`: resume, then wait for
// the guest's exit, SIGINT/SIGTERM, a --timeout, or the moment to write a --snapshot.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "vmm/machine.h"

namespace ftvm::app {

struct RunLoopOptions {
  std::optional<std::chrono::nanoseconds> timeout;
  std::optional<std::chrono::nanoseconds> snapshot_after;  // with snapshot_path
  std::string snapshot_path;
  bool continue_after_snapshot = false;
  bool fsync_snapshot = false;
  std::string control_path;  // a QMP control socket here ("" none): query-status, query-guest,
                             // trace events, quit
};

// The command-line form of RunLoopOptions, shared by `run` and `restore`.
struct RunLoopFlags {
  std::string timeout, snapshot_after, snapshot_path, control;
  bool continue_after_snapshot = false, fsync = false, quiet = false;
};
void AddRunLoopFlags(CLI::App& command, RunLoopFlags& flags);
Result<RunLoopOptions> ParseRunLoopFlags(const RunLoopFlags& flags);

// Blocks SIGINT and SIGTERM in the calling thread; call it before creating the Machine so its
// vCPU threads inherit the mask and RunUntilDone can collect the signals.
void BlockTerminationSignals();

// Returns the process exit status (app/exit_codes.h).
int RunUntilDone(vmm::Machine& vm, const RunLoopOptions& options);

}  // namespace ftvm::app
