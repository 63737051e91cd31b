// `ftvm guests`: lists the built-in guest programs and their arguments.
#include <cstdio>

#include "app/cli.h"
#include "vmm/guests/guests.h"

namespace ftvm::app {

CommandRunner RegisterGuestsCommand(CLI::App& parent) {
  parent.add_subcommand("guests", "List the built-in guest programs and their arguments");
  return [] {
    for (const vmm::GuestImage& g : vmm::BuiltinGuests()) {
      std::printf("%-10s %s\n", std::string(g.name).c_str(), std::string(g.summary).c_str());
    }
    return kExitOk;
  };
}

}  // namespace ftvm::app
