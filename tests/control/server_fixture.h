// A running control Server on a socket in a fresh temporary directory, with the builtins, a
// FakeTarget and a quit hook, plus helpers to talk to it with the real Client.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "control/builtins.h"
#include "control/client.h"
#include "control/server.h"
#include "control/target_commands.h"
#include "tests/control/fake_target.h"

namespace ftvm::control::testing {

inline Deadline Soon() { return Deadline(std::chrono::seconds(10)); }

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ftvm-control-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/qmp.sock";
  }
  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void StartServer(ServerOptions options = {}) {
    options.socket_path = path_;
    auto registry = std::make_unique<CommandRegistry>();
    ASSERT_TRUE(RegisterBuiltinCommands(*registry, BuiltinHooks{.quit = [this] {
                  std::lock_guard lock(mu_);
                  ++quits_;
                  cv_.notify_all();
                }}).has_value());
    ASSERT_TRUE(RegisterTargetCommands(*registry, target_).has_value());
    auto server = Server::Start(std::move(options), std::move(registry));
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }

  // These throw on failure: gtest reports an exception escaping a test body as that test's
  // failure, and a helper returning a value cannot ASSERT.
  Client Connect() {
    auto client = Client::Connect(path_, Soon());
    if (!client) throw std::runtime_error("connect: " + client.error().ToString());
    return std::move(*client);
  }
  Client ConnectNegotiated() {
    Client client = Connect();
    if (auto negotiated = client.Negotiate(Soon()); !negotiated) {
      throw std::runtime_error("negotiate: " + negotiated.error().ToString());
    }
    return client;
  }

  bool WaitForQuits(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return quits_ >= n; });
  }

  std::string dir_;
  std::string path_;
  FakeTarget target_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  int quits_ = 0;
};

}  // namespace ftvm::control::testing
