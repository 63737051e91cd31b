// Harness of the colo end-to-end tests: real `ftvm secondary` and `ftvm primary` processes,
// each in its own process group with its log in a temporary directory, driven over their QMP
// control sockets.
//
// The ftvm binary: FTVM_TEST_FTVM, else the build tree's, else `ftvm` beside the test binary.
// Transports: FTVM_TEST_PROVIDERS (tcp, verbs; default tcp) and the provider's address variable
// (FTVM_TEST_RDMA_ADDR for rdma://), as the rdma and ram tests (tests/rdma/channel_test_util.h).
//
// Every process is killed (SIGKILL to its whole group) and reaped when its Daemon is destroyed,
// so a failing assertion never leaves a VM running. Waits poll with deadlines, never sleep a
// fixed time.
//
// FTVM_TEST_TIME_SCALE (default 1) stretches every wait of the harness (PollUntil, WaitEvent,
// WaitExit, QMP calls, start-up) and the daemons' --heartbeat-timeout-ms and
// --checkpoint-timeout-ms by that factor, for machines much slower than this one: the Soft-RoCE
// lane runs these tests on nested KVM under TCG, where one checkpoint of a whole guest pauses the
// secondary for seconds. A test's own time bounds stay as written; only how long it waits grows.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "control/client.h"
#include "control/json.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::colo::testing {

using control::Json;

std::string FtvmPath();
// FTVM_TEST_TIME_SCALE (>= 1; default 1), and durations or deadlines stretched by it.
double TimeScale();
std::chrono::milliseconds Scaled(std::chrono::milliseconds timeout);
Deadline Scaled(const Deadline& deadline);
// An empty string when /dev/kvm is usable, else why not.
std::string KvmUnavailableReason();

// A child process in its own process group, stdout and stderr appended to `log_path`.
class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Spawn(std::string name,
                                               const std::vector<std::string>& args,
                                               std::string log_path);
  ~Daemon();  // SIGKILL to the group, then reaped
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  void KillGroup(int signo) const;
  // The wait status once the process exited (reaps it), nullopt while it runs.
  std::optional<int> Exited();
  // Waits for the exit until the deadline.
  std::optional<int> WaitExit(Deadline deadline);
  // The whole log so far.
  std::string Log() const;
  // The last `bytes` of the log, for failure messages.
  std::string LogTail(size_t bytes = 4000) const;

 private:
  Daemon(std::string name, pid_t pid, std::string log_path)
      : name_(std::move(name)), pid_(pid), log_path_(std::move(log_path)) {}
  std::string name_;
  pid_t pid_;
  std::string log_path_;
  std::optional<int> status_;
};

// A QMP connection to a daemon that keeps every event it sees.
class Qmp {
 public:
  // Retries until the socket accepts and the capabilities are negotiated.
  static Result<Qmp> Connect(const std::string& path, Deadline deadline);
  // The command's return value; QMP errors and transport failures as errors.
  Result<Json> Call(std::string_view command, const Json& arguments = Json::object());
  // Reads the events that are ready (without waiting) into events().
  void DrainEvents();
  // Waits for an event named `name` (the first one seen and not yet returned, in arrival
  // order); its "data".
  Result<Json> WaitEvent(std::string_view name, Deadline deadline);
  const std::vector<Json>& events() const { return events_; }

 private:
  explicit Qmp(control::Client client) : client_(std::move(client)) {}
  control::Client client_;
  std::vector<Json> events_;
  std::vector<bool> consumed_;  // events returned by WaitEvent
};

// Polls `probe` until it returns true or the deadline passes (then false). `probe` is called at
// least once.
bool PollUntil(const std::function<bool()>& probe, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every = std::chrono::milliseconds(10));

struct PairOptions {
  rdma::testing::ProviderSpec provider;
  std::string guest = "counter";
  std::vector<std::string> guest_args = {"interval_ms=10", "quiet=1"};
  std::string mem = "32M";
  uint64_t checkpoint_delay_ms = 20;
  // The engine's default timeout: a killed process is noticed at once (its sockets reset),
  // only a silent peer waits this long, and a process starved for a moment on a loaded 2-core
  // machine must not be declared dead (seen: 275 ms stalls at load 6, 1.6 s at load 10 with
  // four builds and a benchmark running busy guests).
  uint64_t heartbeat_ms = 50;
  uint64_t heartbeat_timeout_ms = 2000;
  uint64_t checkpoint_timeout_ms = 10'000;
  bool verify = false;
  bool passive = false;
  std::vector<std::string> primary_flags;  // more flags for `ftvm primary`
  std::string primary_kill_at;             // --debug-kill-at of the primary ("" none)
  std::string secondary_kill_at;           // and of the secondary
  // Connect the primary to this address instead of the secondary's (a proxy in the test);
  // called with the secondary's host:port, returns the URI the primary uses.
  std::function<std::string(const std::string& host, uint16_t port)> route;
};

// A secondary and a primary started with PairOptions, and QMP connections to both.
class ColoPair {
 public:
  ColoPair();
  ~ColoPair();

  // Starts the secondary, then the primary; connects to both control sockets.
  Result<void> Start(const PairOptions& options);
  // Waits until both sides report COLO mode (first checkpoint committed).
  Result<void> WaitColo(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  Daemon& primary() { return *primary_; }
  Daemon& secondary() { return *secondary_; }
  Qmp& pqmp() { return *pqmp_; }
  Qmp& sqmp() { return *sqmp_; }
  const std::string& dir() const { return dir_; }

  // "primary log: ... secondary log: ..." for failure messages.
  std::string Logs() const;
  // Leaves the directory with the logs behind (the fixtures call it when a test failed).
  void KeepLogs() { keep_ = true; }

 private:
  std::string dir_;
  bool keep_ = std::getenv("FTVM_TEST_KEEP_LOGS") != nullptr;
  std::unique_ptr<Daemon> secondary_;
  std::unique_ptr<Daemon> primary_;
  std::optional<Qmp> pqmp_;
  std::optional<Qmp> sqmp_;
};

// Query helpers: a field of a query's return value, or an error.
Result<Json> ColoStatus(Qmp& qmp);  // query-colo-status
Result<Json> Guest(Qmp& qmp);       // query-guest
Result<Json> Stats(Qmp& qmp);       // info_checkpoint
Result<uint64_t> TotNum(Qmp& qmp);  // info_checkpoint tot_num

// "tcp:SIGKILL"-style description of a wait status.
std::string DescribeWaitStatus(int status);

}  // namespace ftvm::colo::testing

namespace ftvm::colo::testing {

// The counter guest on this side runs on: query-status says running, its heartbeat sequence
// (last-heartbeat) advances by `beats` more, starting at or above `floor`, with no gap and no
// exit (the counter guest exits with code 2 when its registers and memory disagree).
::testing::AssertionResult GuestRunsOn(Qmp& qmp, uint64_t floor, uint64_t beats = 5);

// query-colo-status after a failover on this side: status "alone", mode "none", failover state
// "completed", with this last mode ("primary", "secondary") and reason ("error", "request").
::testing::AssertionResult FailedOver(Qmp& qmp, std::string_view last_mode,
                                      std::string_view reason);

// The fixture of every colo e2e test: skips without /dev/kvm or the provider, prints both logs
// when a test fails.
class ColoE2eTest {
 public:
  // Empty when the test can run, else why it is skipped.
  static std::string SkipReason(const rdma::testing::ProviderSpec& provider);
};

}  // namespace ftvm::colo::testing
