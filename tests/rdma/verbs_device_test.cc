// Tests of the verbs provider that need an RDMA device (label rdma): the handshake's failures,
// messages around the inline limit, credit flow under load, busy-poll mode. They skip where no
// device is usable (as on the development machines) and run for real in the Soft-RoCE lane
// (ci/softroce/run.sh), where FTVM_TEST_RDMA_ADDR names the rxe device's address.
// The provider-neutral behaviour is in the conformance suite (FTVM_TEST_PROVIDERS=verbs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "base/strings.h"
#include "rdma/transport.h"
#include "rdma/uri.h"
#include "rdma/verbs/memlock.h"
#include "rdma/verbs/protocol.h"
#include "rdma/verbs/verbs_provider.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::rdma::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

const ProviderSpec& VerbsSpec() {
  for (const ProviderSpec& p : kProviders) {
    if (std::string_view(p.name) == "verbs") return p;
  }
  std::abort();
}

class VerbsDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static const verbs::DeviceProbe probe = verbs::ProbeDevices();
    if (!probe.usable) {
      GTEST_SKIP() << "no usable RDMA device: " << probe.summary
                   << " (these tests run in the Soft-RoCE lane, ci/softroce/run.sh)";
    }
  }

  void Connect(const ChannelOptions& client = TestOptions(),
               const ChannelOptions& server = TestOptions()) {
    auto pair = ConnectPair(VerbsSpec(), client, server);
    ASSERT_TRUE(pair) << pair.error().ToString();
    client_ = std::move(pair->client);
    server_ = std::move(pair->server);
  }

  std::unique_ptr<Channel> client_;
  std::unique_ptr<Channel> server_;
};

// Connects with `private_data` as the hello; returns what both ends saw.
std::pair<Error, Error> HandshakeWith(std::vector<std::byte> private_data) {
  auto listener = Listen(ListenUri(VerbsSpec()), TestOptions());
  EXPECT_TRUE(listener) << listener.error().ToString();
  if (!listener)
    return {Error(ErrorCode::kInternal, "no listener"), Error(ErrorCode::kInternal, "")};
  auto uri = ParseUri((*listener)->uri());
  auto connecting = std::async(std::launch::async, [&] {
    return verbs::testing::ConnectWithPrivateData(uri->where, TestOptions(), private_data);
  });
  auto accepted = (*listener)->Accept(milliseconds(10000));
  auto connected = connecting.get();
  EXPECT_FALSE(accepted);
  EXPECT_FALSE(connected);
  return {accepted ? Error(ErrorCode::kInternal, "accepted") : accepted.error(),
          connected ? Error(ErrorCode::kInternal, "connected") : connected.error()};
}

TEST_F(VerbsDeviceTest, InfoDescribesTheNegotiatedConnection) {
  ChannelOptions client = TestOptions();
  client.max_message_bytes = 8192;
  ChannelOptions server = TestOptions();
  server.recv_credits = 16;
  Connect(client, server);
  EXPECT_EQ(client_->info().provider, "verbs");
  EXPECT_FALSE(client_->info().device.empty());
  EXPECT_THAT(client_->info().local_uri, HasSubstr("rdma://"));
  EXPECT_EQ(client_->info().peer_uri, server_->info().local_uri);
  EXPECT_EQ(client_->info().max_message_bytes, 8192u);
  EXPECT_EQ(server_->info().max_message_bytes, 8192u);
  EXPECT_EQ(client_->info().recv_credits, 16u);
  EXPECT_EQ(server_->info().recv_credits, TestOptions().recv_credits);
}

TEST_F(VerbsDeviceTest, VersionMismatchIsRejectedWithBothVersionsNamed) {
  verbs::Hello future{.version = verbs::kProtocolVersion + 1,
                      .recv_buffers = 72,
                      .recv_credits = 64,
                      .max_message_bytes = 4096,
                      .peer_timeout_ms = 3000,
                      .keepalive_ms = 100};
  const auto [server, client] = HandshakeWith(verbs::EncodeHello(future));
  EXPECT_EQ(client.code(), ErrorCode::kProtocol) << client.ToString();
  EXPECT_THAT(client.context(), HasSubstr("version mismatch"));
  EXPECT_THAT(client.context(), HasSubstr(std::to_string(verbs::kProtocolVersion)));
  EXPECT_EQ(server.code(), ErrorCode::kProtocol) << server.ToString();
  EXPECT_THAT(server.context(), HasSubstr(std::to_string(verbs::kProtocolVersion + 1)));
}

TEST_F(VerbsDeviceTest, ForeignPrivateDataIsRejected) {
  const auto [server, client] = HandshakeWith(std::vector<std::byte>(40, std::byte{0x5a}));
  EXPECT_EQ(client.code(), ErrorCode::kProtocol) << client.ToString();
  EXPECT_THAT(client.context(), HasSubstr("could not parse our hello"));
  EXPECT_EQ(server.code(), ErrorCode::kProtocol) << server.ToString();
}

TEST_F(VerbsDeviceTest, MessagesAroundTheInlineLimitArriveIntact) {
  Connect();
  const size_t inline_payload = TestOptions().max_inline_bytes - verbs::kMessageHeaderBytes;
  const size_t sizes[] = {0,
                          1,
                          inline_payload - 1,
                          inline_payload,
                          inline_payload + 1,
                          4096,
                          65536,
                          client_->info().max_message_bytes};
  uint32_t seed = 1;
  for (size_t size : sizes) {
    std::vector<std::byte> message(size);
    FillPattern(message, seed);
    ASSERT_TRUE(client_->PostSend(message, seed, /*signaled=*/true));
    auto got = PollFor(*server_, 1, milliseconds(10000));
    ASSERT_EQ(got.size(), 1u) << size;
    EXPECT_EQ(got[0].message.size(), size);
    EXPECT_TRUE(MatchesPattern(got[0].message, seed)) << size;
    auto sent = PollFor(*client_, 1, milliseconds(10000));
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].wr_id, seed);
    ++seed;
  }
}

// A window of two: thousands of messages each way, sender and receiver in their own threads,
// every one delivered once and in order (credits come back as the receiver polls).
TEST_F(VerbsDeviceTest, StreamsThroughASmallCreditWindowInBothDirections) {
  ChannelOptions options = TestOptions();
  options.recv_credits = 2;
  Connect(options, options);
  constexpr int kMessages = 2000;
  auto pump = [](Channel& channel) {
    int sent = 0;
    int received = 0;
    std::vector<Completion> batch(8);
    const Deadline deadline(milliseconds(60000));
    while ((sent < kMessages || received < kMessages) && !deadline.expired()) {
      if (sent < kMessages) {
        auto r = channel.PostSend(Bytes(fmt::format("m{}", sent)), sent, sent % 16 == 15);
        if (r) {
          ++sent;
        } else if (r.error().code() != ErrorCode::kResourceExhausted) {
          return fmt::format("post {}: {}", sent, r.error().ToString());
        }
      }
      auto n = channel.Poll(batch, Nanos(sent < kMessages ? 0 : 1'000'000));
      if (!n) return n.error().ToString();
      for (size_t i = 0; i < *n; ++i) {
        if (batch[i].opcode != Opcode::kRecv) continue;
        if (Text(batch[i].message) != fmt::format("m{}", received)) {
          return fmt::format("message {} is '{}'", received, Text(batch[i].message));
        }
        ++received;
      }
    }
    return sent == kMessages && received == kMessages
               ? std::string()
               : fmt::format("{} sent, {} received", sent, received);
  };
  auto server = std::async(std::launch::async, [&] { return pump(*server_); });
  EXPECT_EQ(pump(*client_), "");
  EXPECT_EQ(server.get(), "");
}

TEST_F(VerbsDeviceTest, BusyPollModeWritesAndMessages) {
  ChannelOptions options = TestOptions();
  options.busy_poll = true;
  Connect(options, options);
  auto source = Mapping::Anonymous(1 << 20);
  auto target = Mapping::Anonymous(1 << 20);
  ASSERT_TRUE(source && target);
  FillPattern(source->bytes(), 9);
  auto src = client_->RegisterMemory(source->bytes(), kAccessLocalWrite);
  auto dst = server_->RegisterMemory(target->bytes(), kAccessLocalWrite | kAccessRemoteWrite);
  ASSERT_TRUE(src && dst);
  const WriteRequest write{.wr_id = 7,
                           .local_addr = src->addr,
                           .lkey = src->lkey,
                           .length = 1 << 20,
                           .remote_addr = dst->remote_addr(),
                           .rkey = dst->rkey};
  ASSERT_TRUE(client_->PostWrite(write));
  ASSERT_TRUE(client_->PostSend(Bytes("done"), 8));
  auto got = PollFor(*server_, 1, milliseconds(10000));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Text(got[0].message), "done");
  EXPECT_TRUE(MatchesPattern(target->bytes(), 9));
  auto done = PollFor(*client_, 1, milliseconds(10000));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].wr_id, 7u);
  ASSERT_TRUE(client_->DeregisterMemory(*src));
  ASSERT_TRUE(server_->DeregisterMemory(*dst));
  client_->Close();
  EXPECT_EQ(PollUntilError(*server_, milliseconds(10000))->code(), ErrorCode::kClosed);
}

TEST_F(VerbsDeviceTest, RegistrationsAreCountedAgainstTheMemlockAccount) {
  Connect();
  auto memory = Mapping::Anonymous(64 * 4096);
  ASSERT_TRUE(memory);
  const uint64_t before = verbs::PinnedBytes::InUse();
  auto region = client_->RegisterMemory(memory->bytes(), kAccessLocalWrite);
  ASSERT_TRUE(region) << region.error().ToString();
  EXPECT_EQ(verbs::PinnedBytes::InUse(), before + 64 * 4096);
  ASSERT_TRUE(client_->DeregisterMemory(*region));
  EXPECT_EQ(verbs::PinnedBytes::InUse(), before);
}

TEST_F(VerbsDeviceTest, AutoTransportPicksVerbsWhenADeviceIsUsable) {
  auto choice = ResolveTransport(Transport::kAuto);
  ASSERT_TRUE(choice) << choice.error().ToString();
  EXPECT_EQ(choice->transport, Transport::kVerbs);
  EXPECT_THAT(choice->reason, HasSubstr("ACTIVE"));
}

}  // namespace
}  // namespace ftvm::rdma::testing
