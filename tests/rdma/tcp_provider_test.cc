// tcp-provider specifics the provider-neutral suite cannot express: garbage on the socket,
// hand-made peers speaking the framing, several streams, credit stalls and deregistration.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "base/io.h"
#include "base/socket.h"
#include "rdma/tcp/frame.h"
#include "rdma/tcp/handshake.h"
#include "rdma/uri.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::rdma::tcp {
namespace {

using std::chrono::milliseconds;
using testing::Bytes;
using testing::PollFor;
using testing::PollUntilError;
using testing::TestOptions;

constexpr testing::ProviderSpec kTcp = testing::kProviders[0];

HostPort Where(const Listener& listener) { return ParseUri(listener.uri())->where; }

// Reads one frame header (and skips its body) from a raw socket.
Result<FrameHeader> ReadFrame(int fd) {
  HeaderBytes bytes{};
  FTVM_TRY(ReadExact(fd, bytes, Deadline(milliseconds(5000))));
  FTVM_ASSIGN_OR_RETURN(FrameHeader h,
                        DecodeFrameHeader(bytes, FrameLimits{.max_message_bytes = 1 << 20}));
  std::vector<std::byte> body(h.body_bytes);
  FTVM_TRY(ReadExact(fd, body, Deadline(milliseconds(5000))));
  return h;
}

TEST(TcpProviderTest, GarbageInsteadOfAHelloIsDroppedAndTheListenerKeepsAccepting) {
  auto listener = Listen("tcp://127.0.0.1:0", TestOptions());
  ASSERT_TRUE(listener);
  auto raw = TcpConnect(Where(**listener), Deadline(milliseconds(5000)));
  ASSERT_TRUE(raw);
  std::vector<std::byte> garbage(200, std::byte{0xFF});
  ASSERT_TRUE(WriteAll(raw->get(), garbage));
  auto nothing = (*listener)->Accept(milliseconds(300));
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code(), ErrorCode::kTimeout);
  std::byte b[1];
  auto eof = ReadExact(raw->get(), b, Deadline(milliseconds(5000)), /*eof_ok_at_start=*/true);
  ASSERT_FALSE(eof);  // the listener hung up on it
  EXPECT_TRUE(eof.error().code() == ErrorCode::kClosed ||
              eof.error().code() == ErrorCode::kPeerLost);
  auto pair = testing::ConnectPair(kTcp, TestOptions(), TestOptions());
  ASSERT_TRUE(pair) << pair.error().ToString();
}

TEST(TcpProviderTest, ASilentClientDelaysNeitherOtherClientsNorTheAcceptDeadline) {
  auto listener = Listen("tcp://127.0.0.1:0", TestOptions());  // 10 s to say hello
  ASSERT_TRUE(listener);
  auto silent = TcpConnect(Where(**listener), Deadline(milliseconds(5000)));
  ASSERT_TRUE(silent);
  const Stopwatch clock;
  auto nothing = (*listener)->Accept(milliseconds(200));
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code(), ErrorCode::kTimeout);
  EXPECT_LT(clock.ElapsedNs(), 2'000'000'000u);
  const std::string uri = (*listener)->uri();
  auto connecting = std::async(std::launch::async, [&] { return Connect(uri, TestOptions()); });
  auto accepted = (*listener)->Accept(milliseconds(5000));
  ASSERT_TRUE(accepted) << accepted.error().ToString();
  auto connected = connecting.get();
  ASSERT_TRUE(connected) << connected.error().ToString();
  EXPECT_LT(clock.ElapsedNs(), 4'000'000'000u);  // not held up by the silent one
}

TEST(TcpProviderTest, ConnectingToSomethingThatIsNotAnFtvmListenerIsAProtocolError) {
  auto server = TcpListen({"127.0.0.1", 0});
  ASSERT_TRUE(server);
  const uint16_t port = *LocalPort(server->get());
  auto connecting = std::async(std::launch::async, [&] {
    return Connect(fmt::format("tcp://127.0.0.1:{}", port), TestOptions());
  });
  auto conn = AcceptWithin(server->get(), Deadline(milliseconds(5000)));
  ASSERT_TRUE(conn);
  ASSERT_TRUE(SetNonBlocking(conn->get(), true));
  auto hello = ReadHello(conn->get(), Deadline(milliseconds(5000)));
  ASSERT_TRUE(hello) << hello.error().ToString();
  EXPECT_EQ(hello->stream_index, 0);
  EXPECT_EQ(hello->connection_id, 0u);
  const std::string reply =
      "HTTP/1.1 400 Bad Request\r\n\r\n......................................";
  ASSERT_TRUE(WriteAll(conn->get(), Bytes(reply)));
  auto channel = connecting.get();
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code(), ErrorCode::kProtocol) << channel.error().ToString();
}

// A hand-made peer completes the handshake, then sends garbage: the channel fails with
// kProtocol, flushes its outstanding send, and tells the peer why (a kNak) before hanging up.
TEST(TcpProviderTest, GarbageAfterTheHandshakeIsAProtocolErrorReportedToThePeer) {
  auto listener = Listen("tcp://127.0.0.1:0", TestOptions());
  ASSERT_TRUE(listener);
  auto raw = TcpConnect(Where(**listener), Deadline(milliseconds(5000)));
  ASSERT_TRUE(raw);
  ASSERT_TRUE(SetNonBlocking(raw->get(), true));
  ASSERT_TRUE(WriteHello(raw->get(), MakeHello(TestOptions(), 0, 1, 0), Deadline::Never()));
  auto accepted = (*listener)->Accept(milliseconds(5000));
  ASSERT_TRUE(accepted) << accepted.error().ToString();
  Channel& channel = **accepted;
  ASSERT_TRUE(ReadHello(raw->get(), Deadline(milliseconds(5000))));
  ASSERT_TRUE(channel.PostSend(Bytes("pending"), 42, /*signaled=*/true));
  // Wait for the send on the wire (keepalives may come first); we never acknowledge it.
  for (;;) {
    auto frame = ReadFrame(raw->get());
    ASSERT_TRUE(frame) << frame.error().ToString();
    if (frame->type == FrameType::kSend) break;
  }
  std::vector<std::byte> garbage(24, std::byte{0xEE});
  ASSERT_TRUE(WriteAll(raw->get(), garbage));
  std::vector<Completion> seen;
  auto error = PollUntilError(channel, milliseconds(5000), &seen);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kProtocol) << error->ToString();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].wr_id, 42u);
  EXPECT_EQ(seen[0].status, CompletionStatus::kFlushed);
  EXPECT_EQ(channel.state(), ChannelState::kError);
  // What the peer sees next: maybe keepalives, then a protocol NAK, then end of stream.
  bool got_nak = false;
  for (;;) {
    auto frame = ReadFrame(raw->get());
    if (!frame) break;
    EXPECT_FALSE(got_nak) << "a frame after the NAK";
    if (frame->type == FrameType::kNak) {
      EXPECT_EQ(frame->aux, static_cast<uint64_t>(NakReason::kProtocol));
      got_nak = true;
    }
  }
  EXPECT_TRUE(got_nak);
}

TEST(TcpProviderTest, ListenerAssemblesConcurrentMultiStreamConnections) {
  ChannelOptions options = TestOptions();
  options.streams = 3;
  auto listener = Listen("tcp://127.0.0.1:0", options);
  ASSERT_TRUE(listener);
  const std::string uri = (*listener)->uri();
  auto c1 = std::async(std::launch::async, [&] { return Connect(uri, options); });
  auto c2 = std::async(std::launch::async, [&] { return Connect(uri, options); });
  auto s1 = (*listener)->Accept(milliseconds(10000));
  auto s2 = (*listener)->Accept(milliseconds(10000));
  ASSERT_TRUE(s1 && s2);
  auto a = c1.get();
  auto b = c2.get();
  ASSERT_TRUE(a && b) << (a ? "" : a.error().ToString()) << (b ? "" : b.error().ToString());
  EXPECT_EQ((*a)->info().streams, 3u);
  EXPECT_EQ((*s1)->info().streams, 3u);
  ASSERT_TRUE((*a)->PostSend(Bytes("from a"), 1));
  ASSERT_TRUE((*b)->PostSend(Bytes("from b"), 1));
  std::vector<std::string> got;
  for (Channel* s : {s1->get(), s2->get()}) {
    auto m = PollFor(*s, 1, milliseconds(5000));
    ASSERT_EQ(m.size(), 1u);
    got.push_back(testing::Text(m[0].message));
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"from a", "from b"}));
}

TEST(TcpProviderTest, TargetOfARejectedWriteIsInErrorToo) {
  auto pair = testing::ConnectPair(kTcp, TestOptions(), TestOptions());
  ASSERT_TRUE(pair);
  std::vector<std::byte> src(64);
  auto region = pair->client->RegisterMemory(src, kAccessLocalWrite);
  ASSERT_TRUE(region);
  const WriteRequest w{.wr_id = 1,
                       .local_addr = src.data(),
                       .lkey = region->lkey,
                       .length = 8,
                       .remote_addr = 0x1000,
                       .rkey = 77,
                       .signaled = true};
  ASSERT_TRUE(pair->client->PostWrite(w));
  auto client_error = PollUntilError(*pair->client, milliseconds(5000));
  auto server_error = PollUntilError(*pair->server, milliseconds(5000));
  ASSERT_TRUE(client_error && server_error);
  EXPECT_EQ(client_error->code(), ErrorCode::kRemoteAccess);
  EXPECT_EQ(server_error->code(), ErrorCode::kRemoteAccess);
  EXPECT_EQ(pair->server->state(), ChannelState::kError);
}

TEST(TcpProviderTest, PollWithAnEndlessTimeoutWaitsUntilShutdown) {
  auto pair = testing::ConnectPair(kTcp, TestOptions(), TestOptions());
  ASSERT_TRUE(pair);
  Result<size_t> polled = size_t{0};
  std::thread poller([&] {
    std::vector<Completion> out(4);
    polled = pair->client->Poll(out, Nanos::max());  // must not overflow into "no wait"
  });
  // Let Poll block first: a Poll that returned at once (the overflow) then reports 0, not an error.
  std::this_thread::sleep_for(milliseconds(50));
  pair->client->Shutdown();
  poller.join();
  ASSERT_FALSE(polled) << "returned " << *polled;
  EXPECT_EQ(polled.error().code(), ErrorCode::kAborted);
}

TEST(TcpProviderTest, ShutdownIsSeenByThePeerAsPeerLost) {
  auto pair = testing::ConnectPair(kTcp, TestOptions(), TestOptions());
  ASSERT_TRUE(pair);
  pair->client->Shutdown();
  auto error = PollUntilError(*pair->server, milliseconds(5000));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kPeerLost) << error->ToString();
}

// A write stuck behind a send that waits for a credit pins nothing; deregistering its source
// fails it with kLocalProtectionError when it would be transmitted (as verbs would).
TEST(TcpProviderTest, SourceDeregisteredWhileQueuedBehindACreditFailsTheWrite) {
  ChannelOptions server_options = TestOptions();
  server_options.recv_credits = 1;
  auto pair = testing::ConnectPair(kTcp, TestOptions(), server_options);
  ASSERT_TRUE(pair);
  std::vector<std::byte> src(4096), dst(4096);
  auto s = pair->client->RegisterMemory(src, kAccessLocalWrite);
  auto d = pair->server->RegisterMemory(dst, kAccessLocalWrite | kAccessRemoteWrite);
  ASSERT_TRUE(s && d);
  ASSERT_TRUE(pair->client->PostSend(Bytes("A"), 1));
  ASSERT_TRUE(pair->client->PostSend(Bytes("B"), 2));  // no credit: waits
  const WriteRequest w{.wr_id = 3,
                       .local_addr = src.data(),
                       .lkey = s->lkey,
                       .length = 4096,
                       .remote_addr = d->remote_addr(),
                       .rkey = d->rkey,
                       .signaled = true};
  ASSERT_TRUE(pair->client->PostWrite(w));                 // behind B
  ASSERT_TRUE(pair->client->DeregisterMemory(*s));         // returns at once: nothing pinned yet
  auto a = PollFor(*pair->server, 1, milliseconds(5000));  // frees the credit
  ASSERT_EQ(a.size(), 1u);
  std::vector<Completion> seen;
  auto error = PollUntilError(*pair->client, milliseconds(5000), &seen);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument) << error->ToString();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].wr_id, 2u);
  EXPECT_EQ(seen[0].status, CompletionStatus::kFlushed);
  EXPECT_EQ(seen[1].wr_id, 3u);
  EXPECT_EQ(seen[1].status, CompletionStatus::kLocalProtectionError);
}

// Thousands of messages of varied sizes through a small credit window: backlogs drain in bulk
// and travel as send runs; every message must arrive once, in order, intact.
TEST(TcpProviderTest, ManyMessagesArriveInOrderThroughCreditStallsAndSendRuns) {
  ChannelOptions server_options = TestOptions();
  server_options.recv_credits = 16;
  ChannelOptions client_options = TestOptions();
  client_options.send_queue_depth = 4096;
  auto pair = testing::ConnectPair(kTcp, client_options, server_options);
  ASSERT_TRUE(pair);
  constexpr int kMessages = 3000;
  std::thread receiver([&] {
    std::vector<Completion> got(7);
    for (int next = 0; next < kMessages;) {
      auto n = pair->server->Poll(got, milliseconds(10000));
      ASSERT_TRUE(n && *n > 0) << (n ? "timeout" : n.error().ToString());
      for (size_t i = 0; i < *n; ++i, ++next) {
        ASSERT_EQ(got[i].message.size(), static_cast<size_t>(next % 300)) << "message " << next;
        ASSERT_TRUE(testing::MatchesPattern(got[i].message, next)) << "message " << next;
      }
    }
  });
  std::vector<Completion> done(64);
  for (int i = 0; i < kMessages;) {
    std::vector<std::byte> m(i % 300);
    testing::FillPattern(m, i);
    auto posted = pair->client->PostSend(m, i, i % 100 == 99);
    if (posted) {
      ++i;
      continue;
    }
    ASSERT_EQ(posted.error().code(), ErrorCode::kResourceExhausted) << posted.error().ToString();
    ASSERT_TRUE(pair->client->Poll(done, milliseconds(10000)));
  }
  receiver.join();
}

TEST(TcpProviderTest, OptionsAreValidated) {
  ChannelOptions o = TestOptions();
  o.streams = 17;
  EXPECT_EQ(Listen("tcp://127.0.0.1:0", o).error().code(), ErrorCode::kInvalidArgument);
  o = TestOptions();
  o.keepalive_interval = o.peer_timeout;
  EXPECT_EQ(Connect("tcp://127.0.0.1:1", o).error().code(), ErrorCode::kInvalidArgument);
  o = TestOptions();
  o.recv_credits = 0;
  EXPECT_EQ(Listen("tcp://127.0.0.1:0", o).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ftvm::rdma::tcp
