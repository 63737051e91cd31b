// What `ftvm primary` and `ftvm secondary` share: the transport/address flags, the control
// socket, signal handling, and running an engine to completion.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "base/result.h"
#include "colo/engine.h"
#include "colo/options.h"

namespace ftvm::app {

// Flags common to both daemons (filled by AddDaemonFlags).
struct DaemonFlags {
  std::string control;  // control socket path ("" = none)
  std::string transport = "auto";
  uint64_t heartbeat_ms = 100;
  uint64_t heartbeat_timeout_ms = 2000;
  uint64_t checkpoint_timeout_ms = 10'000;
  uint32_t streams = 1;
  std::string kill_at;  // fault injection (hidden)
};
void AddDaemonFlags(CLI::App& command, DaemonFlags& flags);
// Applies the common flags to engine options. kInvalidArgument for bad values.
Result<void> ApplyDaemonFlags(const DaemonFlags& flags, colo::CommonOptions& options);

// "tcp://h:p" / "rdma://h:p" pass through; "h:p" gets the scheme --transport resolves to.
Result<std::string> ResolveAddress(const std::string& address, const std::string& transport);

// Runs `run` (the engine's Run) with the control socket serving `engine` (when a path is
// given) and SIGINT/SIGTERM turned into an orderly quit. Returns the exit status.
int RunDaemon(const std::string& what, colo::EngineControl& engine, const std::string& control,
              const std::function<Result<void>()>& run);

}  // namespace ftvm::app
