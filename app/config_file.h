// `--config FILE` for every subcommand (meant for the daemons): CLI11's TOML/INI config,
// where a key is a long flag name without the dashes and command-line flags override the file.
//
//   # /etc/ftvm/primary.toml            ftvm primary --config /etc/ftvm/primary.toml
//   peer = "rdma://10.0.0.2:7000"       (flat keys: the subcommand being run)
//   mem = "1G"
//   checkpoint-delay-ms = 20
//   [secondary]                         (a section: that subcommand's flags, so one file can
//   listen = "rdma://0.0.0.0:7000"       serve both daemons)
//
// Unknown keys and unreadable files are usage errors (exit 64). docs/operations.md has the
// full format.
#pragma once

#include <CLI/CLI.hpp>

namespace ftvm::app {

// Adds --config to `app` (the top level); `--config` may follow the subcommand name for the
// subcommands in `subcommands` (they fall through to the top level for unknown flags).
void AddConfigFileOption(CLI::App& app, std::initializer_list<CLI::App*> subcommands);

}  // namespace ftvm::app
