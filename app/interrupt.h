// Ctrl-C for the interactive subcommands (`ctl watch`, `demo`): SIGINT and SIGTERM set a flag
// the command polls, so it can restore the terminal and clean up before exiting.
//
// One InterruptGuard at a time per process; it restores the previous handlers when destroyed.
// Blocking calls are not interrupted (SA_RESTART): poll the flag with short timeouts.
#pragma once

#include <signal.h>

namespace ftvm::app {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // True once SIGINT or SIGTERM arrived while the guard was alive.
  bool interrupted() const;

 private:
  struct sigaction old_int_{};
  struct sigaction old_term_{};
};

}  // namespace ftvm::app
