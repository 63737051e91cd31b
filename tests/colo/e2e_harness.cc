#include "tests/colo/e2e_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "base/check.h"
#include "base/strings.h"

extern char** environ;

namespace ftvm::colo::testing {

std::string FtvmPath() {
  const char* env = std::getenv("FTVM_TEST_FTVM");
  if (env != nullptr && *env != '\0') return env;
  if (::access(FTVM_BINARY_PATH, X_OK) == 0) return FTVM_BINARY_PATH;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return FTVM_BINARY_PATH;
  const std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "ftvm";
}

double TimeScale() {
  static const double scale = [] {
    const char* env = std::getenv("FTVM_TEST_TIME_SCALE");
    if (env == nullptr || *env == '\0') return 1.0;
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    FTVM_CHECK(end != env && *end == '\0' && v >= 1 && v <= 1000,
               "FTVM_TEST_TIME_SCALE must be a number in [1, 1000], not '{}'", env);
    return v;
  }();
  return scale;
}

std::chrono::milliseconds Scaled(std::chrono::milliseconds timeout) {
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(timeout.count()) * TimeScale()));
}

Deadline Scaled(const Deadline& deadline) {
  if (deadline.never() || TimeScale() == 1.0) return deadline;
  return Deadline(
      Nanos(static_cast<int64_t>(static_cast<double>(deadline.remaining().count()) * TimeScale())));
}

std::string KvmUnavailableReason() {
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fmt::format("no usable /dev/kvm ({})", std::strerror(errno));
  ::close(fd);
  return "";
}

// ---- Daemon

Result<std::unique_ptr<Daemon>> Daemon::Spawn(std::string name,
                                              const std::vector<std::string>& args,
                                              std::string log_path) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Its own process group (killed as a whole), default signal handling, nothing blocked.
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Fail(ErrorCode::kSys, "spawn {}: {}", args[0], std::strerror(rc));
  return std::unique_ptr<Daemon>(new Daemon(std::move(name), pid, std::move(log_path)));
}

Daemon::~Daemon() {
  KillGroup(SIGKILL);
  if (!status_) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void Daemon::KillGroup(int signo) const { ::kill(-pid_, signo); }

std::optional<int> Daemon::Exited() {
  if (status_) return status_;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) status_ = status;
  return status_;
}

std::optional<int> Daemon::WaitExit(Deadline deadline) {
  deadline = Scaled(deadline);
  while (!Exited() && !deadline.expired()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

std::string Daemon::Log() const {
  std::ifstream in(log_path_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Daemon::LogTail(size_t bytes) const {
  const std::string all = Log();
  return all.size() <= bytes ? all : "..." + all.substr(all.size() - bytes);
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", strsignal(WTERMSIG(status)));
  return fmt::format("status {:#x}", status);
}

// ---- Qmp

Result<Qmp> Qmp::Connect(const std::string& path, Deadline deadline) {
  for (;;) {
    auto client = control::Client::Connect(path, deadline);
    if (client) {
      FTVM_TRY(client->Negotiate(deadline));
      return Qmp(std::move(*client));
    }
    if (deadline.expired()) return Fail(std::move(client.error()));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<Json> Qmp::Call(std::string_view command, const Json& arguments) {
  return client_.Call(command, arguments, Deadline(Scaled(std::chrono::seconds(10))));
}

void Qmp::DrainEvents() {
  for (;;) {
    auto event = client_.NextEvent(Deadline(Nanos(0)));
    if (!event) return;
    events_.push_back(std::move(*event));
  }
}

Result<Json> Qmp::WaitEvent(std::string_view name, Deadline deadline) {
  deadline = Scaled(deadline);
  DrainEvents();
  for (size_t i = 0;; ++i) {
    if (i == events_.size()) {
      auto event = client_.NextEvent(deadline);
      if (!event) return Fail(std::move(event.error()).Wrap(fmt::format("event {}", name)));
      events_.push_back(std::move(*event));
    }
    if (i >= consumed_.size()) consumed_.resize(events_.size(), false);
    const Json& e = events_[i];
    if (!consumed_[i] && e.value("event", "") == name) {
      consumed_[i] = true;
      return e.contains("data") ? e["data"] : Json();
    }
  }
}

bool PollUntil(const std::function<bool()>& probe, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every) {
  const Deadline deadline(Scaled(timeout));
  for (;;) {
    if (probe()) return true;
    if (deadline.expired()) return false;
    std::this_thread::sleep_for(every);
  }
}

// ---- ColoPair

namespace {

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ftvm-colo-e2e.XXXXXX").string();
  FTVM_CHECK(::mkdtemp(pattern.data()) != nullptr, "mkdtemp: {}", std::strerror(errno));
  return pattern;
}

std::vector<std::string> CommonFlags(const PairOptions& o, const std::string& control,
                                     const std::string& kill_at) {
  std::vector<std::string> args = {
      "--control",
      control,
      "--heartbeat-ms",
      std::to_string(o.heartbeat_ms),
      "--heartbeat-timeout-ms",
      std::to_string(Scaled(std::chrono::milliseconds(o.heartbeat_timeout_ms)).count()),
      "--checkpoint-timeout-ms",
      std::to_string(Scaled(std::chrono::milliseconds(o.checkpoint_timeout_ms)).count())};
  if (!kill_at.empty()) {
    args.push_back("--debug-kill-at");
    args.push_back(kill_at);
  }
  return args;
}

// The URI the secondary's log says it listens on.
Result<std::string> ListeningUri(Daemon& secondary, Deadline deadline) {
  static const std::regex kListening(R"(listening on ((tcp|rdma)://[^\s]+))");
  for (;;) {
    std::smatch m;
    const std::string log = secondary.Log();
    if (std::regex_search(log, m, kListening)) return m[1].str();
    if (auto status = secondary.Exited()) {
      return Fail(ErrorCode::kPeerLost, "the secondary ended ({}) before listening: {}",
                  DescribeWaitStatus(*status), secondary.LogTail());
    }
    if (deadline.expired()) return Fail(ErrorCode::kTimeout, "the secondary did not listen");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

ColoPair::ColoPair() : dir_(MakeTempDir()) {}

ColoPair::~ColoPair() {
  primary_.reset();
  secondary_.reset();
  std::error_code ignored;
  if (!keep_) std::filesystem::remove_all(dir_, ignored);
}

Result<void> ColoPair::Start(const PairOptions& o) {
  const std::string ftvm = FtvmPath();
  const Deadline deadline(Scaled(std::chrono::seconds(20)));

  std::vector<std::string> s = {ftvm, "secondary", "--listen",
                                rdma::testing::ListenUri(o.provider)};
  for (auto& a : CommonFlags(o, dir_ + "/secondary.sock", o.secondary_kill_at)) s.push_back(a);
  FTVM_ASSIGN_OR_RETURN(secondary_, Daemon::Spawn("secondary", s, dir_ + "/secondary.log"));
  FTVM_ASSIGN_OR_RETURN(std::string uri, ListeningUri(*secondary_, deadline));
  if (o.route) {
    const size_t colon = uri.rfind(':');
    const size_t host_at = uri.find("://") + 3;
    FTVM_ASSIGN_OR_RETURN(const uint64_t port, ParseU64(uri.substr(colon + 1)));
    uri = o.route(uri.substr(host_at, colon - host_at), static_cast<uint16_t>(port));
  }

  std::vector<std::string> p = {ftvm,
                                "primary",
                                "--peer",
                                uri,
                                "--guest",
                                o.guest,
                                "--mem",
                                o.mem,
                                "--checkpoint-delay-ms",
                                std::to_string(o.checkpoint_delay_ms)};
  if (o.verify) p.push_back("--verify");
  if (o.passive) p.push_back("--passive");
  for (const std::string& a : o.primary_flags) p.push_back(a);
  for (auto& a : CommonFlags(o, dir_ + "/primary.sock", o.primary_kill_at)) p.push_back(a);
  p.push_back("--");
  for (const std::string& a : o.guest_args) p.push_back(a);
  FTVM_ASSIGN_OR_RETURN(primary_, Daemon::Spawn("primary", p, dir_ + "/primary.log"));

  auto sq = Qmp::Connect(dir_ + "/secondary.sock", deadline);
  if (!sq) return Fail(std::move(sq.error()).Wrap("secondary control socket"));
  sqmp_.emplace(std::move(*sq));
  auto pq = Qmp::Connect(dir_ + "/primary.sock", deadline);
  if (!pq) return Fail(std::move(pq.error()).Wrap("primary control socket"));
  pqmp_.emplace(std::move(*pq));
  return {};
}

Result<void> ColoPair::WaitColo(std::chrono::milliseconds timeout) {
  std::string last;
  const bool ok = PollUntil(
      [&] {
        auto p = ColoStatus(*pqmp_);
        auto s = ColoStatus(*sqmp_);
        if (!p || !s) {
          last = !p ? p.error().ToString() : s.error().ToString();
          return false;
        }
        last =
            fmt::format("primary {}, secondary {}", control::DumpJson(*p), control::DumpJson(*s));
        return (*p)["status"] == "colo" && (*s)["status"] == "colo";
      },
      timeout);
  if (!ok) return Fail(ErrorCode::kTimeout, "COLO mode not reached: {}", last);
  return {};
}

std::string ColoPair::Logs() const {
  std::string out = "logs in " + dir_;
  if (primary_) out += "\n--- primary log:\n" + primary_->LogTail();
  if (secondary_) out += "\n--- secondary log:\n" + secondary_->LogTail();
  return out;
}

Result<Json> ColoStatus(Qmp& qmp) { return qmp.Call("query-colo-status"); }
Result<Json> Guest(Qmp& qmp) { return qmp.Call("query-guest"); }
Result<Json> Stats(Qmp& qmp) { return qmp.Call("info_checkpoint"); }
Result<uint64_t> TotNum(Qmp& qmp) {
  FTVM_ASSIGN_OR_RETURN(const Json stats, Stats(qmp));
  return stats["tot_num"].get<uint64_t>();
}

}  // namespace ftvm::colo::testing

namespace ftvm::colo::testing {

::testing::AssertionResult GuestRunsOn(Qmp& qmp, uint64_t floor, uint64_t beats) {
  auto status = qmp.Call("query-status");
  if (!status) return ::testing::AssertionFailure() << status.error().ToString();
  if (!(*status)["running"].get<bool>()) {
    return ::testing::AssertionFailure() << "guest not running: " << control::DumpJson(*status);
  }
  auto first = Guest(qmp);
  if (!first) return ::testing::AssertionFailure() << first.error().ToString();
  const uint64_t start = (*first)["last-heartbeat"].get<uint64_t>();
  if (start < floor) {
    return ::testing::AssertionFailure()
           << "the guest went back: heartbeat " << start << " < " << floor
           << " (at or before the last committed checkpoint)";
  }
  Json last = *first;
  const bool advanced = PollUntil(
      [&] {
        auto g = Guest(qmp);
        if (!g) return false;
        last = *g;
        return last["exited"].get<bool>() ||
               last["last-heartbeat"].get<uint64_t>() >= start + beats;
      },
      std::chrono::seconds(10));
  if (!advanced || last["exited"].get<bool>() || last["heartbeat-gaps"].get<uint64_t>() != 0) {
    return ::testing::AssertionFailure() << "the guest did not run on cleanly from heartbeat "
                                         << start << ": " << control::DumpJson(last);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FailedOver(Qmp& qmp, std::string_view last_mode,
                                      std::string_view reason) {
  auto status = ColoStatus(qmp);
  if (!status) return ::testing::AssertionFailure() << status.error().ToString();
  const Json& s = *status;
  if (s["status"] != "alone" || s["mode"] != "none" || s["last-mode"] != last_mode ||
      s["reason"] != reason || s["failover-state"] != "completed") {
    return ::testing::AssertionFailure() << "expected alone, last mode " << last_mode << ", reason "
                                         << reason << ": " << control::DumpJson(s);
  }
  return ::testing::AssertionSuccess();
}

std::string ColoE2eTest::SkipReason(const rdma::testing::ProviderSpec& provider) {
  if (std::string why = KvmUnavailableReason(); !why.empty()) return why;
  auto listener = rdma::Listen(rdma::testing::ListenUri(provider), rdma::testing::TestOptions());
  if (!listener && listener.error().code() == ErrorCode::kUnsupported) {
    return fmt::format("{} provider unavailable: {}", provider.name, listener.error().ToString());
  }
  return "";
}

}  // namespace ftvm::colo::testing
