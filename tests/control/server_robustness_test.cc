// Bad input never hurts the service: every case below ends with other clients still served.
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "base/io.h"
#include "base/socket.h"
#include "control/server.h"
#include "tests/control/server_fixture.h"

namespace ftvm::control {
namespace {

using testing::Soon;

class ServerRobustnessTest : public testing::ServerFixture {
 protected:
  // A bystander that must keep getting answers.
  void ExpectStillServing() {
    Client client = ConnectNegotiated();
    auto reply = client.Call("query-status", Json::object(), Soon());
    ASSERT_TRUE(reply.has_value()) << reply.error().ToString();
    EXPECT_EQ((*reply)["status"], "running");
  }
  static Json ErrorReply(std::string_view desc, Json id) {
    return Json{{"error", {{"class", "GenericError"}, {"desc", desc}}}, {"id", std::move(id)}};
  }
  // Reads until the server closes the connection; returns the messages read before that.
  static std::vector<Json> ReadUntilClosed(Client& client) {
    std::vector<Json> messages;
    for (;;) {
      auto message = client.ReadMessage(Soon());
      if (!message) {
        EXPECT_EQ(message.error().code(), ErrorCode::kPeerLost) << message.error().ToString();
        return messages;
      }
      messages.push_back(std::move(*message));
    }
  }
};

TEST_F(ServerRobustnessTest, MalformedJsonIsAnErrorAndTheSessionGoesOn) {
  StartServer();
  Client client = ConnectNegotiated();
  ASSERT_TRUE(client.SendRaw("{\"execute\": }\n", Soon()).has_value());
  auto error = client.ReadMessage(Soon());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ((*error)["error"]["class"], "GenericError");
  EXPECT_TRUE((*error)["error"]["desc"].get<std::string>().starts_with("JSON parse error, "));
  ASSERT_TRUE(client.SendRaw(std::string("\x01\xff\x00 }\n", 6), Soon()).has_value());
  for (int i = 0; i < 2; ++i) {  // the junk token, then the stray brace
    auto junk = client.ReadMessage(Soon());
    ASSERT_TRUE(junk.has_value());
    EXPECT_TRUE(junk->contains("error")) << *junk;
  }
  EXPECT_TRUE(client.Call("query-status", Json::object(), Soon()).has_value());
}

TEST_F(ServerRobustnessTest, UnknownCommandsAndWrongArgumentsGetPreciseErrors) {
  StartServer();
  Client client = ConnectNegotiated();
  ASSERT_TRUE(client
                  .SendRaw(R"({"execute": "frobnicate", "id": 1}
{"execute": "set-parameters", "arguments": {"heartbeat-timeout": "1s"}, "id": 2}
{"execute": "set-parameters", "arguments": {"heartbeat-timeout": 5}, "id": 3}
{"execute": "trace-event-set-state", "arguments": {"name": "x"}, "id": 4}
)",
                           Soon())
                  .has_value());
  std::vector<Json> replies;
  for (int i = 0; i < 4; ++i) {
    auto reply = client.ReadMessage(Soon());
    ASSERT_TRUE(reply.has_value());
    replies.push_back(*reply);
  }
  EXPECT_EQ(replies[0], Json::parse(R"({"error": {"class": "CommandNotFound",
                            "desc": "The command frobnicate has not been found"}, "id": 1})"));
  EXPECT_EQ(replies[1],
            ErrorReply("Invalid parameter type for 'heartbeat-timeout', expected: integer", 2));
  EXPECT_EQ(replies[2],
            ErrorReply("Parameter 'heartbeat-timeout' expects an integer in the range of 50 to "
                       "600000",
                       3));
  EXPECT_EQ(replies[3], ErrorReply("Parameter 'enable' is missing", 4));
  std::lock_guard lock(target_.mu_);
  EXPECT_TRUE(target_.updates.empty());
}

TEST_F(ServerRobustnessTest, OversizedMessageIsRefusedAndOnlyThatClientIsDropped) {
  StartServer();
  Client bystander = ConnectNegotiated();
  Client big = ConnectNegotiated();
  const std::string request =
      "{\"execute\": \"query-status\", \"id\": \"" + std::string(100 * 1024, 'x') + "\"}";
  (void)big.SendRaw(request, Soon());  // may fail half way: the server hangs up at 64 KiB
  std::vector<Json> messages = ReadUntilClosed(big);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], Json::parse(R"({"error": {"class": "GenericError",
                                         "desc": "message exceeds 65536 bytes"}})"));
  EXPECT_TRUE(bystander.Call("query-status", Json::object(), Soon()).has_value());
  EXPECT_EQ(server_->stats().clients_dropped_oversize, 1u);
}

TEST_F(ServerRobustnessTest, HalfClosedClientGetsItsRepliesThenEndOfStream) {
  StartServer();
  Client client = Connect();
  ASSERT_TRUE(client
                  .SendRaw(R"({"execute": "qmp_capabilities", "id": 1}
{"execute": "query-status", "id": 2})",
                           Soon())
                  .has_value());
  ASSERT_EQ(::shutdown(client.fd(), SHUT_WR), 0);
  std::vector<Json> messages = ReadUntilClosed(client);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], Json::parse(R"({"return": {}, "id": 1})"));
  EXPECT_EQ(messages[1], Json::parse(R"({"return": {"running": true, "status": "running"},
                                         "id": 2})"));
  ExpectStillServing();
}

TEST_F(ServerRobustnessTest, ClientThatNeverReadsIsDroppedWhileOthersGetEveryEvent) {
  StartServer(ServerOptions{.soft_output_bytes = 16 * 1024, .max_output_bytes = 64 * 1024});
  Client reader = ConnectNegotiated();
  Client sleeper = ConnectNegotiated();  // never reads
  const Json data = {{"pad", std::string(1000, 'p')}};
  constexpr int kBatches = 125;
  constexpr int kPerBatch = 16;  // 2000 events of ~1 KiB: far beyond the limit plus socket buffers
  for (int batch = 0; batch < kBatches; ++batch) {
    for (int i = 0; i < kPerBatch; ++i) server_->Emit(kEventCheckpoint, data);
    for (int i = 0; i < kPerBatch; ++i) {
      auto event = reader.NextEvent(Soon());
      ASSERT_TRUE(event.has_value()) << "batch " << batch << ": " << event.error().ToString();
    }
  }
  std::vector<Json> got = ReadUntilClosed(sleeper);
  EXPECT_LT(got.size(), static_cast<size_t>(kBatches * kPerBatch));
  EXPECT_EQ(server_->stats().clients_dropped_slow, 1u);
  EXPECT_EQ(server_->stats().events_dropped, 0u);
  EXPECT_TRUE(reader.Call("query-status", Json::object(), Soon()).has_value());
}

TEST_F(ServerRobustnessTest, FloodingClientDoesNotStallOthers) {
  StartServer();
  Client flooder = ConnectNegotiated();
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    std::string burst;
    for (int i = 0; i < 256; ++i) burst += R"({"execute": "query-commands"})";
    while (!stop.load()) {
      const ssize_t n = ::send(flooder.fd(), burst.data(), burst.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return;
      if (n < 0) {
        pollfd pfd{.fd = flooder.fd(), .events = POLLOUT, .revents = 0};
        (void)::poll(&pfd, 1, 50);  // re-check `stop` regularly
      }
    }
  });
  Client other = ConnectNegotiated();
  for (int i = 0; i < 100; ++i) {
    auto reply = other.Call("query-parameters", Json::object(), Soon());
    ASSERT_TRUE(reply.has_value()) << i << ": " << reply.error().ToString();
  }
  stop = true;
  flood.join();
  ExpectStillServing();
}

TEST_F(ServerRobustnessTest, ClientsBeyondTheLimitAreToldWhyAndClosed) {
  StartServer(ServerOptions{.max_clients = 2});
  auto a = std::make_unique<Client>(ConnectNegotiated());
  Client b = ConnectNegotiated();
  auto refused = Client::Connect(path_, Soon());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().context().find("too many clients (limit 2)"), std::string::npos)
      << refused.error().ToString();
  a.reset();
  // Once the server has seen `a` leave, a new client gets in; until then each try is refused.
  Deadline deadline = Soon();
  Result<Client> c = Client::Connect(path_, Soon());
  while (!c && !deadline.expired()) c = Client::Connect(path_, Soon());
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_TRUE(c->Negotiate(Soon()).has_value());
  EXPECT_GE(server_->stats().clients_refused, 1u);
}

TEST_F(ServerRobustnessTest, ClientsVanishingMidMessageCostNothing) {
  // Room for all of them: the server may not have seen every close when the bystander comes.
  StartServer(ServerOptions{.max_clients = 256});
  for (int i = 0; i < 200; ++i) {
    auto fd = UnixConnect(path_);
    ASSERT_TRUE(fd.has_value());
    const std::string half = "{\"execute\": \"query-sta";
    (void)::send(fd->get(), half.data(), i % 2 == 0 ? half.size() : 0, MSG_NOSIGNAL);
  }  // each closed here, some before the server even sent its greeting
  ExpectStillServing();
}

TEST_F(ServerRobustnessTest, RandomBytesOnlyEverProduceErrorsOrADisconnect) {
  StartServer();
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    Client client = ConnectNegotiated();
    std::string junk(8192, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    (void)client.SendRaw(junk, Soon());
    ASSERT_EQ(::shutdown(client.fd(), SHUT_WR), 0);
    for (const Json& message : ReadUntilClosed(client)) {
      ASSERT_TRUE(message.contains("error")) << message;
      EXPECT_EQ(message["error"]["class"], "GenericError") << message;
    }
  }
  ExpectStillServing();
}

TEST_F(ServerRobustnessTest, ManySimultaneousClients) {
  StartServer();
  std::vector<Client> clients;
  for (int i = 0; i < 32; ++i) clients.push_back(ConnectNegotiated());
  server_->Emit(kEventStop, nullptr);
  for (Client& client : clients) {
    EXPECT_TRUE(client.Call("query-version", Json::object(), Soon()).has_value());
    auto stop = client.NextEvent(Soon());
    ASSERT_TRUE(stop.has_value());
    EXPECT_EQ((*stop)["event"], "STOP");
  }
  EXPECT_EQ(server_->stats().clients_active, 32u);
}

}  // namespace
}  // namespace ftvm::control
