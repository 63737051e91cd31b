// Shared helpers for the rdma tests: provider selection, connected channel pairs, polling with
// bounded waits, child processes.
//
// Providers under test come from FTVM_TEST_PROVIDERS (comma-separated names of kProviders;
// default "tcp"). Each provider's host comes from its address variable (FTVM_TEST_TCP_ADDR,
// FTVM_TEST_RDMA_ADDR), default 127.0.0.1. Adding a provider is one line in kProviders.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/mapping.h"
#include "base/result.h"
#include "rdma/channel.h"

namespace ftvm::rdma::testing {

struct ProviderSpec {
  const char* name;      // as in FTVM_TEST_PROVIDERS and test names
  const char* scheme;    // URI scheme
  const char* addr_env;  // variable overriding the host
  const char* default_host;
};

inline constexpr ProviderSpec kProviders[] = {
    {"tcp", "tcp", "FTVM_TEST_TCP_ADDR", "127.0.0.1"},
    {"verbs", "rdma", "FTVM_TEST_RDMA_ADDR", "127.0.0.1"},
};

inline void PrintTo(const ProviderSpec& provider, std::ostream* os) { *os << provider.name; }

// The providers FTVM_TEST_PROVIDERS selects (unknown names abort with a message).
std::vector<ProviderSpec> SelectedProviders();
// Names parameterised tests after the provider ("Providers/ConformanceTest.X/tcp").
std::string ProviderTestName(const ::testing::TestParamInfo<ProviderSpec>& info);
// "scheme://host:0" for listening.
std::string ListenUri(const ProviderSpec& provider);

// Options suited to tests: generous peer timeout (sanitizer builds on 2 busy cores).
ChannelOptions TestOptions();

struct ChannelPair {
  std::unique_ptr<Channel> client;  // the side that connected
  std::unique_ptr<Channel> server;  // the side that accepted
};

// Listens, connects and accepts. kUnsupported when the provider (or its device) is missing.
Result<ChannelPair> ConnectPair(const ProviderSpec& provider, const ChannelOptions& client,
                                const ChannelOptions& server);

// Polls until `count` completions arrived or `timeout` passed; a Poll error ends it early and
// is stored in *error when given.
std::vector<Completion> PollFor(Channel& channel, size_t count, std::chrono::milliseconds timeout,
                                std::optional<Error>* error = nullptr);
// Polls until Poll() fails (the sticky error) or `timeout`; completions seen on the way are
// appended to *seen.
std::optional<Error> PollUntilError(Channel& channel, std::chrono::milliseconds timeout,
                                    std::vector<Completion>* seen = nullptr);

std::vector<std::byte> Bytes(std::string_view text);
std::string Text(std::span<const std::byte> bytes);
// Deterministic pattern bytes; `seed` makes patterns of different writes differ.
void FillPattern(std::span<std::byte> out, uint32_t seed);
bool MatchesPattern(std::span<const std::byte> bytes, uint32_t seed);
bool AllEqual(std::span<const std::byte> bytes, std::byte value);

// A child process started with posix_spawn (safe in a threaded test, unlike fork()).
// Killed with SIGKILL and reaped on destruction.
class ChildProcess {
 public:
  static Result<ChildProcess> Spawn(const std::string& path, const std::vector<std::string>& args);
  ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  // Waits for exit (after a kill): the raw wait status.
  int Reap();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// Path of the rdma_test_peer helper binary: FTVM_TEST_PEER, else the build tree's, else the one
// beside the running test binary.
std::string TestPeerPath();

}  // namespace ftvm::rdma::testing
