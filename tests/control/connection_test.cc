// Connection on one end of a socketpair, driven by hand (no server thread): the bounds of
// connection.h checked deterministically.
#include "control/connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>

#include "base/io.h"
#include "base/socket.h"
#include "control/builtins.h"

namespace ftvm::control {
namespace {

constexpr std::string_view kGreeting = "{\"QMP\":{}}\r\n";

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        RegisterBuiltinCommands(registry_, BuiltinHooks{.quit = [this] { ++quits_; }}).has_value());
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    ours_.Reset(fds[0]);
    peer_.Reset(fds[1]);
  }

  Connection& Make(ConnectionLimits limits = {}) {
    connection_ = std::make_unique<Connection>(std::move(ours_), 2, registry_, limits, kGreeting);
    connection_->OnWritable();
    return *connection_;
  }

  // Writes as much of `bytes` as the socket takes now; returns how much.
  size_t PeerWrite(std::string_view bytes) {
    const ssize_t n = ::send(peer_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    return n < 0 ? 0 : static_cast<size_t>(n);
  }
  // Everything readable now.
  std::string PeerReadAvailable() {
    std::string out;
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::recv(peer_.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<size_t>(n));
    }
  }
  static size_t CountLines(std::string_view text, std::string_view needle) {
    size_t count = 0;
    for (size_t pos = text.find(needle); pos != std::string_view::npos;
         pos = text.find(needle, pos + 1)) {
      ++count;
    }
    return count;
  }

  CommandRegistry registry_;
  UniqueFd ours_;
  UniqueFd peer_;
  std::unique_ptr<Connection> connection_;
  int quits_ = 0;
};

TEST_F(ConnectionTest, SendsTheGreetingFirst) {
  Make();
  EXPECT_EQ(PeerReadAvailable(), kGreeting);
  EXPECT_EQ(connection_->WantedEvents(), uint32_t{EPOLLIN});
}

TEST_F(ConnectionTest, StopsReadingRequestsWhileRepliesBackUpThenCatchesUp) {
  // Small kernel buffers so replies back up in the connection quickly.
  ASSERT_TRUE(SetSocketBuffers(ours_.get(), 4096).has_value());
  ASSERT_TRUE(SetSocketBuffers(peer_.get(), 4096).has_value());
  const ConnectionLimits limits{
      .max_message_bytes = 1024, .soft_output_bytes = 16 * 1024, .max_output_bytes = 1024 * 1024};
  Connection& c = Make(limits);
  const std::string request = "{\"execute\":\"query-commands\"}";
  (void)PeerWrite("{\"execute\":\"qmp_capabilities\"}");
  size_t sent = 0;
  std::string pending;
  // Feed requests until the connection refuses to read more.
  for (int round = 0; round < 10000 && (c.WantedEvents() & EPOLLIN) != 0; ++round) {
    if (pending.empty()) pending = request;
    const size_t n = PeerWrite(pending);
    for (size_t i = 0; i < n; ++i) {
      if (pending[i] == '}' && i + 1 == pending.size()) ++sent;
    }
    pending.erase(0, n);
    c.OnReadable();
  }
  ASSERT_EQ(c.WantedEvents() & EPOLLIN, 0u) << "back-pressure never engaged";
  EXPECT_GE(c.output_bytes(), limits.soft_output_bytes);
  // At most one read's worth of replies beyond the soft limit (each request is ~30 bytes in,
  // ~400 bytes out).
  EXPECT_LT(c.output_bytes(), limits.soft_output_bytes + Connection::kReadChunk / 28 * 500);
  EXPECT_EQ(c.close_reason(), CloseReason::kNone);
  // Now read everything: the connection resumes and answers every complete request.
  std::string replies;
  for (int round = 0; round < 100000 && CountLines(replies, "\r\n") < sent + 2; ++round) {
    replies += PeerReadAvailable();
    c.OnWritable();
    if ((c.WantedEvents() & EPOLLIN) != 0) c.OnReadable();
  }
  EXPECT_EQ(CountLines(replies, "\"return\""), sent + 1);  // + qmp_capabilities
}

TEST_F(ConnectionTest, AClientThatDoesNotReadEventsIsDisconnected) {
  const ConnectionLimits limits{
      .max_message_bytes = 1024, .soft_output_bytes = 4096, .max_output_bytes = 64 * 1024};
  Connection& c = Make(limits);
  (void)PeerWrite("{\"execute\":\"qmp_capabilities\"}");
  c.OnReadable();
  ASSERT_TRUE(c.negotiated());
  const std::string event =
      "{\"event\":\"X\",\"data\":{\"pad\":\"" + std::string(1000, 'p') + "\"}}\r\n";
  int queued = 0;
  while (c.close_reason() == CloseReason::kNone && queued < 100000) {
    c.QueueEvent(event);
    c.OnWritable();
    ++queued;
  }
  EXPECT_EQ(c.close_reason(), CloseReason::kSlowReader);
  EXPECT_GT(c.output_bytes(), limits.max_output_bytes);
  EXPECT_LT(c.output_bytes(), limits.max_output_bytes + event.size() + 1);
}

TEST_F(ConnectionTest, EventsWaitForNegotiation) {
  Connection& c = Make();
  c.QueueEvent("{\"event\":\"EARLY\"}\r\n");
  c.OnWritable();
  EXPECT_EQ(PeerReadAvailable(), kGreeting);
}

TEST_F(ConnectionTest, OversizedMessageGetsAnErrorThenTheConnectionCloses) {
  Connection& c = Make(ConnectionLimits{.max_message_bytes = 1024});
  (void)PeerReadAvailable();
  (void)PeerWrite("{\"execute\":\"" + std::string(2000, 'x') + "\"}");
  for (int i = 0; i < 10 && c.close_reason() == CloseReason::kNone; ++i) c.OnReadable();
  EXPECT_EQ(c.close_reason(), CloseReason::kOversized);
  EXPECT_EQ(PeerReadAvailable(),
            "{\"error\":{\"class\":\"GenericError\",\"desc\":\"message exceeds 1024 bytes\"}}\r\n");
}

TEST_F(ConnectionTest, HalfClosedClientGetsEveryReplyThenTheConnectionCloses) {
  Connection& c = Make();
  (void)PeerWrite(
      "{\"execute\":\"qmp_capabilities\",\"id\":1}{\"execute\":\"query-version\",\"id\":2}");
  ASSERT_EQ(::shutdown(peer_.get(), SHUT_WR), 0);
  for (int i = 0; i < 10 && c.close_reason() == CloseReason::kNone; ++i) c.OnReadable();
  EXPECT_EQ(c.close_reason(), CloseReason::kDone);
  const std::string replies = PeerReadAvailable();
  EXPECT_EQ(CountLines(replies, "\"return\""), 2u) << replies;
  EXPECT_NE(replies.find("\"id\":2"), std::string::npos);
}

TEST_F(ConnectionTest, UnfinishedMessageAtEndOfInputIsReported) {
  Connection& c = Make();
  (void)PeerReadAvailable();
  (void)PeerWrite("{\"execute\":\"qmp_capa");
  ASSERT_EQ(::shutdown(peer_.get(), SHUT_WR), 0);
  for (int i = 0; i < 10 && c.close_reason() == CloseReason::kNone; ++i) c.OnReadable();
  EXPECT_EQ(c.close_reason(), CloseReason::kDone);
  EXPECT_EQ(PeerReadAvailable(),
            "{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error, premature end of "
            "input\"}}\r\n");
}

TEST_F(ConnectionTest, RequestsOfAVanishedClientStillRun) {
  Connection& c = Make();
  (void)PeerWrite("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"quit\"}");
  peer_.Reset();  // fire and forget: nobody reads the replies
  for (int i = 0; i < 10 && c.close_reason() == CloseReason::kNone; ++i) c.OnReadable();
  EXPECT_EQ(quits_, 1);
  EXPECT_NE(c.close_reason(), CloseReason::kNone);
}

}  // namespace
}  // namespace ftvm::control
