// Helpers shared by the subcommands: duration parsing, reporting an error and mapping it to an
// exit status, and the registration signature every cmd_*.cc provides to main.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <string_view>

#include "app/exit_codes.h"
#include "base/result.h"

namespace ftvm::app {

// "250ms", "2s", "1.5s", "3m", "1h", or a bare number of seconds.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// Logs the error to stderr ("ftvm: what: context") and returns its exit status.
int Report(std::string_view what, const Error& error);

// A subcommand registers its flags on `parent` and returns the function that runs it (called
// only if the subcommand was selected; returns the process exit status).
using CommandRunner = std::function<int()>;
CommandRunner RegisterRunCommand(CLI::App& parent);
CommandRunner RegisterRestoreCommand(CLI::App& parent);
CommandRunner RegisterGuestsCommand(CLI::App& parent);
CommandRunner RegisterPrimaryCommand(CLI::App& parent);
CommandRunner RegisterSecondaryCommand(CLI::App& parent);
CommandRunner RegisterCtlCommand(CLI::App& parent);
CommandRunner RegisterDemoCommand(CLI::App& parent);

}  // namespace ftvm::app
