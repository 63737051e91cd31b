#include "tests/rdma/channel_test_util.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <thread>

#include "base/check.h"
#include "base/strings.h"
#include "base/time.h"

extern char** environ;

namespace ftvm::rdma::testing {

using std::chrono::milliseconds;

std::vector<ProviderSpec> SelectedProviders() {
  const char* env = std::getenv("FTVM_TEST_PROVIDERS");
  const std::string_view names = env != nullptr && *env != '\0' ? env : "tcp";
  std::vector<ProviderSpec> out;
  for (std::string_view name : Split(names, ',')) {
    bool found = false;
    for (const ProviderSpec& p : kProviders) {
      if (name == p.name) {
        out.push_back(p);
        found = true;
      }
    }
    FTVM_CHECK(found, "FTVM_TEST_PROVIDERS names unknown provider '{}'", name);
  }
  return out;
}

std::string ProviderTestName(const ::testing::TestParamInfo<ProviderSpec>& info) {
  return info.param.name;
}

std::string ListenUri(const ProviderSpec& provider) {
  const char* host = std::getenv(provider.addr_env);
  return fmt::format("{}://{}:0", provider.scheme,
                     host != nullptr && *host != '\0' ? host : provider.default_host);
}

ChannelOptions TestOptions() {
  ChannelOptions o;
  o.connect_timeout = milliseconds(10000);
  o.keepalive_interval = milliseconds(100);
  o.peer_timeout = milliseconds(3000);
  return o;
}

Result<ChannelPair> ConnectPair(const ProviderSpec& provider, const ChannelOptions& client,
                                const ChannelOptions& server) {
  FTVM_ASSIGN_OR_RETURN(std::unique_ptr<Listener> listener, Listen(ListenUri(provider), server));
  const std::string uri = listener->uri();
  auto connecting = std::async(std::launch::async, [&] { return Connect(uri, client); });
  auto accepted = listener->Accept(milliseconds(10000));
  auto connected = connecting.get();
  if (!connected) return Fail(std::move(connected.error()));
  if (!accepted) return Fail(std::move(accepted.error()));
  return ChannelPair{std::move(*connected), std::move(*accepted)};
}

std::vector<Completion> PollFor(Channel& channel, size_t count, milliseconds timeout,
                                std::optional<Error>* error) {
  std::vector<Completion> got;
  std::vector<Completion> buf(16);
  const Deadline deadline(timeout);
  while (got.size() < count && !deadline.expired()) {
    auto n = channel.Poll(std::span(buf).first(std::min(buf.size(), count - got.size())),
                          deadline.remaining());
    if (!n) {
      if (error != nullptr) *error = n.error();
      break;
    }
    for (size_t i = 0; i < *n; ++i) got.push_back(std::move(buf[i]));
  }
  return got;
}

std::optional<Error> PollUntilError(Channel& channel, milliseconds timeout,
                                    std::vector<Completion>* seen) {
  std::vector<Completion> buf(16);
  const Deadline deadline(timeout);
  while (!deadline.expired()) {
    auto n = channel.Poll(buf, deadline.remaining());
    if (!n) return n.error();
    if (seen != nullptr) {
      for (size_t i = 0; i < *n; ++i) seen->push_back(std::move(buf[i]));
    }
  }
  return std::nullopt;
}

std::vector<std::byte> Bytes(std::string_view text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

std::string Text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void FillPattern(std::span<std::byte> out, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (std::byte& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x);
  }
}

bool MatchesPattern(std::span<const std::byte> bytes, uint32_t seed) {
  std::vector<std::byte> expect(bytes.size());
  FillPattern(expect, seed);
  return bytes.empty() || std::memcmp(bytes.data(), expect.data(), bytes.size()) == 0;
}

bool AllEqual(std::span<const std::byte> bytes, std::byte value) {
  for (std::byte b : bytes) {
    if (b != value) return false;
  }
  return true;
}

Result<ChildProcess> ChildProcess::Spawn(const std::string& path,
                                         const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return ErrnoFail(rc, "posix_spawn {}", path);
  return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    (void)Reap();
  }
}

void ChildProcess::Signal(int signo) const {
  if (pid_ > 0) ::kill(pid_, signo);
}

int ChildProcess::Reap() {
  int status = 0;
  if (pid_ > 0) {
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  return status;
}

std::string TestPeerPath() {
  const char* env = std::getenv("FTVM_TEST_PEER");
  if (env != nullptr && *env != '\0') return env;
  if (::access(FTVM_TEST_PEER_PATH, X_OK) == 0) return FTVM_TEST_PEER_PATH;
  // Shipped elsewhere (the Soft-RoCE lane's /lane/bin): look beside this test binary.
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return FTVM_TEST_PEER_PATH;
  const std::string dir(self, static_cast<size_t>(n));
  return dir.substr(0, dir.rfind('/') + 1) + "rdma_test_peer";
}

}  // namespace ftvm::rdma::testing
