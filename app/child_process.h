// What `ftvm demo` owns while it runs: a private temporary directory and child processes.
//
// TempDir removes its directory and everything in it when destroyed. ChildProcess starts a
// program with its stdout and stderr appended to a log file, in its own process group (so
// Ctrl-C at the terminal reaches only the parent, which then cleans up in order), with
// PR_SET_PDEATHSIG SIGKILL (so a parent killed outright leaves no orphan). Destroying a
// ChildProcess that still runs SIGKILLs and reaps it. Not thread-safe; move-only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ftvm::app {

class TempDir {
 public:
  // mkdtemp("$TMPDIR/<prefix>XXXXXX"), mode 0700.
  static Result<TempDir> Create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Leaves the directory in place when destroyed.
  void Keep() { path_.clear(); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

class ChildProcess {
 public:
  // Starts argv[0] (a path) with argv; output appended to `log_path`.
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const std::string& log_path);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Reaps the child if it exited; true while it runs.
  bool Running();
  // The wait status once reaped (after Running() returned false or Wait()).
  std::optional<int> status() const { return status_; }
  // "exited with 0", "killed by signal 9", "running".
  std::string Describe() const;
  void Signal(int signo);
  // Waits up to `timeout` for the child to exit; false if it still runs.
  bool Wait(std::chrono::milliseconds timeout);
  // SIGTERM, up to `grace` to exit, then SIGKILL; always reaps.
  void Stop(std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The last `lines` lines of a text file ("" if unreadable), for error reports.
std::string TailOfFile(const std::string& path, size_t lines);

}  // namespace ftvm::app
