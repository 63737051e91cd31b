#include "app/demo.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "app/child_process.h"
#include "app/cli.h"
#include "app/interrupt.h"
#include "base/socket.h"
#include "base/strings.h"
#include "base/time.h"
#include "control/client.h"
#include "control/ctl.h"
#include "rdma/transport.h"

namespace ftvm::app {
namespace {

using control::Json;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{500};
constexpr milliseconds kCallTimeout{5000};

uint64_t U(const Json& object, std::initializer_list<const char*> path) {
  const Json* at = &object;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return 0;
    at = &(*at)[key];
  }
  return at->is_number_unsigned() ? at->get<uint64_t>() : 0;
}
std::string S(const Json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_string()
             ? object[key].get<std::string>()
             : "?";
}
std::string Indent(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && c != '\n') out += "    ";
    out += c;
    line_start = c == '\n';
  }
  return out;
}

// Per-checkpoint events would drown the story: the demo shows the rest (PEER_LOST, FAILOVER,
// DEGRADED, and STOP/RESUME once the failover started).
bool Noteworthy(const Json& event, bool failover_seen) {
  const std::string name = S(event, "event");
  if (name == "CHECKPOINT") return false;
  return failover_seen || (name != "STOP" && name != "RESUME");
}

class Demo {
  using Client = control::Client;

 public:
  explicit Demo(const DemoOptions& options) : o_(options), tty_(::isatty(STDOUT_FILENO) == 1) {}

  int Run() {
    auto r = Steps();
    const bool interrupted = interrupt_.interrupted();
    if (!r) ReportFailure(r.error(), interrupted);
    Cleanup();
    if (r) return kExitOk;
    return interrupted ? kExitInterrupted : ExitCodeFor(r.error());
  }

 private:
  Result<void> Steps() {
    FTVM_TRY(Prepare());
    FTVM_TRY(StartDaemons());
    FTVM_TRY(WaitForColo());
    FTVM_TRY(Protect());
    FTVM_TRY(KillPrimary());
    FTVM_TRY(WatchFailover());
    FTVM_TRY(WatchGuest());
    return Finish();
  }

  Result<void> Prepare() {
    FTVM_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("ftvm-demo."));
    dir_.emplace(std::move(dir));
    FTVM_ASSIGN_OR_RETURN(const rdma::Transport requested, rdma::ParseTransport(o_.transport));
    FTVM_ASSIGN_OR_RETURN(const rdma::TransportChoice choice, rdma::ResolveTransport(requested));
    // A free port: bind port 0, read it back, let it go (the secondary binds it a moment later).
    FTVM_ASSIGN_OR_RETURN(UniqueFd probe, TcpListen({o_.address, 0}));
    FTVM_ASSIGN_OR_RETURN(const uint16_t port, LocalPort(probe.get()));
    probe.Reset();
    uri_ = rdma::TransportUri(choice.transport, {o_.address, port});
    std::error_code ec;
    exe_ = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) exe_ = "/proc/self/exe";
    Say(fmt::format("ftvm demo: a primary and a secondary on this host over {} ({})",
                    rdma::TransportName(choice.transport), choice.reason));
    Say(fmt::format("  link {}, work dir {}", uri_, dir_->path()));
    return {};
  }

  Result<void> StartDaemons() {
    const std::string s_sock = dir_->path() + "/secondary.sock";
    const std::string p_sock = dir_->path() + "/primary.sock";
    const std::string hb = std::to_string(o_.heartbeat_timeout_ms);
    FTVM_ASSIGN_OR_RETURN(
        ChildProcess s,
        ChildProcess::Start({exe_, "secondary", "--listen", uri_, "--control", s_sock,
                             "--heartbeat-timeout-ms", hb, "--accept-timeout", "60s"},
                            Log("secondary")));
    secondary_.emplace(std::move(s));
    FTVM_ASSIGN_OR_RETURN(Client s_client, Connect(s_sock, *secondary_, "secondary"));
    sctl_.emplace(std::move(s_client));
    std::vector<std::string> p_args{exe_,
                                    "primary",
                                    "--peer",
                                    uri_,
                                    "--guest",
                                    "dirtier",
                                    "--mem",
                                    o_.mem,
                                    "--control",
                                    p_sock,
                                    "--heartbeat-timeout-ms",
                                    hb,
                                    "--checkpoint-delay-ms",
                                    std::to_string(o_.checkpoint_delay_ms)};
    if (o_.dirty_rate > 0) {
      p_args.insert(p_args.end(), {"--", fmt::format("rate={}", o_.dirty_rate)});
    }
    FTVM_ASSIGN_OR_RETURN(ChildProcess p, ChildProcess::Start(p_args, Log("primary")));
    primary_.emplace(std::move(p));
    FTVM_ASSIGN_OR_RETURN(Client p_client, Connect(p_sock, *primary_, "primary"));
    pctl_.emplace(std::move(p_client));
    Say(fmt::format(
        "  secondary pid {}, primary pid {}: guest 'dirtier', {} of RAM, writing {} "
        "pages/s, a checkpoint every {} ms",
        secondary_->pid(), primary_->pid(), o_.mem,
        o_.dirty_rate > 0 ? std::to_string(o_.dirty_rate) : "as many", o_.checkpoint_delay_ms));
    return {};
  }

  // Connects to a child's control socket once it is up (the child must stay alive meanwhile).
  Result<Client> Connect(const std::string& socket, ChildProcess& child, const char* who) {
    const Deadline deadline(milliseconds(30'000));
    for (;;) {
      FTVM_TRY(Tick());
      if (!child.Running()) {
        return Fail(ErrorCode::kAborted, "the {} {} before its control socket came up", who,
                    child.Describe());
      }
      if (std::filesystem::exists(socket)) {
        auto client = Client::Connect(socket, Deadline(kCallTimeout));
        if (client) {
          FTVM_TRY(client->Negotiate(Deadline(kCallTimeout)));
          return client;
        }
      }
      if (deadline.expired()) {
        return Fail(ErrorCode::kTimeout, "the {}'s control socket did not come up", who);
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  Result<void> WaitForColo() {
    const Stopwatch setup;
    const Deadline deadline(milliseconds(45'000));
    for (;;) {
      FTVM_TRY(Tick());
      FTVM_ASSIGN_OR_RETURN(const Json colo, Call(*pctl_, "query-colo-status"));
      FTVM_ASSIGN_OR_RETURN(const Json stats, Call(*pctl_, "info_checkpoint"));
      const uint64_t sent = U(stats, {"info", "ram", "transferred"});
      if (S(colo, "status") == "colo") {
        Say(
            fmt::format("  COLO mode after {:.1f} s ({} of page data sent); the guest is "
                        "protected",
                        static_cast<double>(setup.ElapsedNs()) / 1e9, FormatBytes(sent)));
        return {};
      }
      if (S(colo, "status") == "alone" || S(colo, "status") == "failed") {
        return Fail(ErrorCode::kPeerLost, "the primary gave up on the secondary during setup");
      }
      Line(fmt::format("  setup: {}, {} sent in {:.1f} s", S(colo, "status"), FormatBytes(sent),
                       static_cast<double>(setup.ElapsedNs()) / 1e9));
      if (deadline.expired()) return Fail(ErrorCode::kTimeout, "no COLO mode after 45 s");
      std::this_thread::sleep_for(kPoll);
    }
  }

  Result<void> Protect() {
    const Deadline until(o_.protect_for);
    Json previous;
    Stopwatch since;
    while (!until.expired()) {
      std::this_thread::sleep_for(kPoll);
      FTVM_TRY(Tick());
      DrainEvents(false);  // the server bounds what a client leaves unread
      FTVM_ASSIGN_OR_RETURN(const Json colo, Call(*pctl_, "query-colo-status"));
      FTVM_ASSIGN_OR_RETURN(Json stats, Call(*pctl_, "info_checkpoint"));
      const double interval = static_cast<double>(since.ElapsedNs()) / 1e9;
      since.Restart();
      Line("  " + control::ctl::FormatWatchLine(
                      colo, stats, previous.is_null() ? nullptr : &previous, interval));
      previous = std::move(stats);
    }
    last_primary_ = std::move(previous);
    if (U(last_primary_, {"tot_num"}) < 2) {
      return Fail(ErrorCode::kTimeout, "fewer than 2 checkpoints in {} ms", o_.protect_for.count());
    }
    return {};
  }

  Result<void> KillPrimary() {
    Say(fmt::format("SIGKILL the primary (pid {}) after {} checkpoints", primary_->pid(),
                    U(last_primary_, {"tot_num"})));
    pctl_.reset();
    kill_clock_.Restart();
    primary_->Signal(SIGKILL);
    if (!primary_->Wait(milliseconds(5000))) {
      return Fail(ErrorCode::kInternal, "the primary survived SIGKILL");
    }
    return {};
  }

  Result<void> WatchFailover() {
    const Deadline deadline(milliseconds(o_.heartbeat_timeout_ms + 10'000));
    for (;;) {
      FTVM_TRY(Tick());
      auto event = sctl_->NextEvent(Deadline(milliseconds(100)));
      if (event) {
        if (Noteworthy(*event, false)) Say("  secondary: " + control::ctl::FormatEvent(*event));
        if (S(*event, "event") == "FAILOVER") break;
      } else if (event.error().code() != ErrorCode::kTimeout) {
        return Fail(std::move(event.error()).Wrap("the secondary's control socket"));
      } else if (deadline.expired()) {
        return Fail(ErrorCode::kTimeout, "no FAILOVER from the secondary");
      }
    }
    const uint64_t took_ms = kill_clock_.ElapsedNs() / 1'000'000;
    FTVM_ASSIGN_OR_RETURN(const Json colo, Call(*sctl_, "query-colo-status"));
    Say(fmt::format("failover: the secondary took over {} ms after the kill; its COLO status:",
                    took_ms));
    Say(Indent(control::ctl::FormatReturn("query-colo-status", colo)), false);
    return {};
  }

  // The guest must keep running on the secondary: its page-write count keeps growing.
  Result<void> WatchGuest() {
    FTVM_ASSIGN_OR_RETURN(const Json first, Call(*sctl_, "query-guest"));
    const Deadline until(o_.run_on_for);
    Json guest = first;
    const Stopwatch since;
    while (!until.expired()) {
      std::this_thread::sleep_for(kPoll);
      FTVM_TRY(Tick());
      DrainEvents(true);
      FTVM_ASSIGN_OR_RETURN(guest, Call(*sctl_, "query-guest"));
      FTVM_ASSIGN_OR_RETURN(const Json status, Call(*sctl_, "query-status"));
      const uint64_t grew = U(guest, {"pages-written"}) - U(first, {"pages-written"});
      Line(fmt::format("  guest on the secondary: {}, sweep {}, {} pages written (+{:.0f}/s)",
                       S(status, "status"), U(guest, {"generation"}), U(guest, {"pages-written"}),
                       static_cast<double>(grew) / (static_cast<double>(since.ElapsedNs()) / 1e9)));
    }
    if (U(guest, {"pages-written"}) <= U(first, {"pages-written"})) {
      return Fail(ErrorCode::kAborted, "the guest did not run on after the failover");
    }
    Say(fmt::format("the guest runs on: {} more pages written since the failover",
                    U(guest, {"pages-written"}) - U(first, {"pages-written"})));
    return {};
  }

  Result<void> Finish() {
    FTVM_ASSIGN_OR_RETURN(const Json stats, Call(*sctl_, "info_checkpoint"));
    const Json& pause = last_primary_["percentiles"]["downtime"];
    Say(fmt::format("primary before the kill: {} checkpoints, guest pause p50 {}, p99 {}, max {}",
                    U(last_primary_, {"tot_num"}), control::ctl::FormatNanos(U(pause, {"p50"})),
                    control::ctl::FormatNanos(U(pause, {"p99"})),
                    control::ctl::FormatNanos(U(pause, {"max"}))));
    Say("final info_checkpoint (the secondary, now running the guest):");
    Say(Indent(control::ctl::FormatReturn("info_checkpoint", stats)), false);
    (void)sctl_->Call("quit", Json::object(), Deadline(kCallTimeout));
    if (!secondary_->Wait(milliseconds(5000))) {
      return Fail(ErrorCode::kTimeout, "the secondary did not quit");
    }
    Say(
        fmt::format("demo complete in {:.1f} s: checkpoints, failover, guest running on; all "
                    "processes stopped",
                    static_cast<double>(clock_.ElapsedNs()) / 1e9));
    return {};
  }

  // Prints the secondary's noteworthy events that have arrived, without waiting.
  void DrainEvents(bool failover_seen) {
    while (auto event = sctl_->NextEvent(Deadline(milliseconds(0)))) {
      if (Noteworthy(*event, failover_seen)) {
        Say("  secondary: " + control::ctl::FormatEvent(*event));
      }
    }
  }

  Result<Json> Call(Client& client, std::string_view command) {
    return client.Call(command, Json::object(), Deadline(kCallTimeout));
  }

  // Between steps: Ctrl-C, and children that died on their own (SIGKILL of the primary aside).
  Result<void> Tick() {
    if (interrupt_.interrupted()) return Fail(ErrorCode::kAborted, "interrupted");
    if (secondary_ && !secondary_->Running()) {
      return Fail(ErrorCode::kAborted, "the secondary {}", secondary_->Describe());
    }
    if (primary_ && pctl_ && !primary_->Running()) {
      return Fail(ErrorCode::kAborted, "the primary {}", primary_->Describe());
    }
    return {};
  }

  std::string Log(const char* who) const { return dir_->path() + "/" + who + ".log"; }

  // A live line: redrawn in place on a terminal, one line per poll otherwise.
  void Line(const std::string& text) {
    std::fputs(tty_ ? ("\r\033[K" + text).c_str() : (text + "\n").c_str(), stdout);
    std::fflush(stdout);
    live_ = tty_;
  }
  void Say(const std::string& text, bool newline = true) {
    if (live_) std::fputs("\n", stdout);
    live_ = false;
    std::fputs(text.c_str(), stdout);
    if (newline) std::fputs("\n", stdout);
    std::fflush(stdout);
  }

  void ReportFailure(const Error& error, bool interrupted) {
    if (interrupted) {
      Say("ftvm demo: interrupted; stopping everything");
      return;
    }
    Say("ftvm demo: failed: " + error.ToString());
    if (!dir_) return;
    for (const char* who : {"secondary", "primary"}) {
      const std::string tail = TailOfFile(Log(who), 12);
      if (!tail.empty()) Say(fmt::format("last lines of the {}'s log:\n{}", who, tail), false);
    }
  }

  void Cleanup() {
    pctl_.reset();
    sctl_.reset();
    if (primary_) primary_->Stop(milliseconds(2000));
    if (secondary_) secondary_->Stop(milliseconds(2000));
    if (dir_ && o_.keep) {
      Say("logs kept in " + dir_->path());
      dir_->Keep();
    }
    dir_.reset();
  }

  const DemoOptions& o_;
  const bool tty_;
  const InterruptGuard interrupt_;
  const Stopwatch clock_;
  std::optional<TempDir> dir_;  // declared first: removed after the children are gone
  std::string uri_;
  std::string exe_;
  std::optional<ChildProcess> secondary_;
  std::optional<ChildProcess> primary_;
  std::optional<Client> sctl_;
  std::optional<Client> pctl_;
  Json last_primary_;
  Stopwatch kill_clock_;
  bool live_ = false;
};

}  // namespace

int RunDemo(const DemoOptions& options) {
  // `ftvm demo | head` must not kill the demo before it stopped its daemons and removed its
  // directory: a closed stdout becomes failed writes instead of SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  return Demo(options).Run();
}

}  // namespace ftvm::app
