// Unit tests of the verbs provider's device-independent parts: private-data and message-header
// codecs, the work-completion status mapping, and the credit / timeout arithmetic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

#include "rdma/verbs/policy.h"
#include "rdma/verbs/protocol.h"
#include "rdma/verbs/wc_status.h"

namespace ftvm::rdma::verbs {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

Hello SampleHello() {
  return Hello{.recv_buffers = 72,
               .recv_credits = 64,
               .max_message_bytes = 65536,
               .peer_timeout_ms = 1000,
               .keepalive_ms = 100};
}

TEST(VerbsHelloTest, RoundTripsAndFitsTheConnectRequest) {
  const auto bytes = EncodeHello(SampleHello());
  EXPECT_LE(bytes.size(), kMaxConnectPrivateData);
  auto decoded = DecodeHello(bytes);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(decoded->version, kProtocolVersion);
  EXPECT_EQ(decoded->caps, kOurCaps);
  EXPECT_EQ(decoded->recv_buffers, 72u);
  EXPECT_EQ(decoded->recv_credits, 64u);
  EXPECT_EQ(decoded->max_message_bytes, 65536u);
  EXPECT_EQ(decoded->peer_timeout_ms, 1000u);
  EXPECT_EQ(decoded->keepalive_ms, 100u);
}

TEST(VerbsHelloTest, AcceptsTheZeroPaddingOfTheTransport) {
  auto bytes = EncodeHello(SampleHello());
  bytes.resize(kMaxConnectPrivateData, std::byte{0});
  EXPECT_TRUE(DecodeHello(bytes));
}

TEST(VerbsHelloTest, VersionMismatchNamesBothVersions) {
  Hello other = SampleHello();
  other.version = kProtocolVersion + 1;
  auto decoded = DecodeHello(EncodeHello(other));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code(), ErrorCode::kProtocol);
  EXPECT_THAT(decoded.error().context(), HasSubstr("version mismatch"));
  EXPECT_THAT(decoded.error().context(),
              HasSubstr(fmt::format("peer speaks version {}", kProtocolVersion + 1)));
  EXPECT_THAT(decoded.error().context(),
              HasSubstr(fmt::format("this side version {}", kProtocolVersion)));
}

TEST(VerbsHelloTest, RejectsForeignShortAndUnusableHellos) {
  std::vector<std::byte> garbage(56, std::byte{0x42});
  EXPECT_EQ(DecodeHello(garbage).error().code(), ErrorCode::kProtocol);
  EXPECT_EQ(DecodeHello({}).error().code(), ErrorCode::kProtocol);
  auto truncated = EncodeHello(SampleHello());
  truncated.resize(20);
  EXPECT_EQ(DecodeHello(truncated).error().code(), ErrorCode::kProtocol);

  Hello no_caps = SampleHello();
  no_caps.caps = kCapCredits;
  auto missing = DecodeHello(EncodeHello(no_caps));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().context(), HasSubstr("keepalive"));

  for (auto mutate :
       {+[](Hello& h) { h.recv_credits = 0; },
        +[](Hello& h) { h.recv_buffers = h.recv_credits; },  // no reserve
        +[](Hello& h) { h.max_message_bytes = 0; }, +[](Hello& h) { h.peer_timeout_ms = 0; },
        +[](Hello& h) { h.keepalive_ms = 0; }}) {
    Hello h = SampleHello();
    mutate(h);
    auto bad = DecodeHello(EncodeHello(h));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), ErrorCode::kProtocol);
  }
}

TEST(VerbsRejectTest, EachReasonBecomesAClearError) {
  auto version = RejectError(
      EncodeReject({.reason = RejectReason::kVersionMismatch, .version = kProtocolVersion + 3}),
      28);
  EXPECT_EQ(version.code(), ErrorCode::kProtocol);
  EXPECT_THAT(version.context(), HasSubstr("version mismatch"));
  EXPECT_THAT(version.context(), HasSubstr(std::to_string(kProtocolVersion + 3)));
  EXPECT_EQ(RejectError(EncodeReject({.reason = RejectReason::kBadHello}), 28).code(),
            ErrorCode::kProtocol);
  EXPECT_EQ(RejectError(EncodeReject({.reason = RejectReason::kNoResources}), 28).code(),
            ErrorCode::kResourceExhausted);
  // The CM's own reject (nobody listening) carries no ftvm data: the connection was refused.
  const Error refused = RejectError({}, 8);
  EXPECT_EQ(refused.code(), ErrorCode::kPeerLost);
  EXPECT_THAT(refused.context(), HasSubstr("refused"));
  std::vector<std::byte> bad_reason = EncodeReject({.reason = RejectReason::kBadHello});
  bad_reason[6] = std::byte{99};
  EXPECT_FALSE(DecodeReject(bad_reason).has_value());
}

TEST(VerbsMessageHeaderTest, RoundTripsEveryKind) {
  for (MessageKind kind :
       {MessageKind::kUser, MessageKind::kKeepalive, MessageKind::kCredit, MessageKind::kGoodbye}) {
    std::array<std::byte, kMessageHeaderBytes> bytes;
    EncodeMessageHeader({.kind = kind, .reposted = 0xfffffffeu}, bytes);
    auto h = DecodeMessageHeader(bytes);
    ASSERT_TRUE(h) << h.error().ToString();
    EXPECT_EQ(h->kind, kind);
    EXPECT_EQ(h->reposted, 0xfffffffeu);
  }
}

TEST(VerbsMessageHeaderTest, RejectsMalformedHeaders) {
  std::array<std::byte, kMessageHeaderBytes + 4> bytes{};
  EncodeMessageHeader({.kind = MessageKind::kUser, .reposted = 1},
                      std::span(bytes).first<kMessageHeaderBytes>());
  EXPECT_TRUE(DecodeMessageHeader(bytes));  // a user message may carry a payload
  EXPECT_FALSE(DecodeMessageHeader(std::span(bytes).first(7)));
  auto kind = bytes;
  kind[0] = std::byte{9};
  EXPECT_FALSE(DecodeMessageHeader(kind));
  auto reserved = bytes;
  reserved[2] = std::byte{1};
  EXPECT_FALSE(DecodeMessageHeader(reserved));
  auto internal = bytes;
  internal[0] = static_cast<std::byte>(MessageKind::kKeepalive);
  auto payload = DecodeMessageHeader(internal);
  ASSERT_FALSE(payload);
  EXPECT_EQ(payload.error().code(), ErrorCode::kProtocol);
}

const WcStatusEntry& Entry(std::string_view name) {
  for (const WcStatusEntry& e : WcStatusTable()) {
    if (name == e.name) return e;
  }
  ADD_FAILURE() << name << " missing";
  return WcStatusTable()[0];
}

TEST(VerbsWcStatusTest, EveryStatusMapsAndTheKeyOnesMapAsTheChannelPromises) {
  std::set<int> values;
  for (const WcStatusEntry& e : WcStatusTable()) {
    values.insert(e.value);
    EXPECT_EQ(MapWcStatus(e.value), e.status) << e.name;
    EXPECT_EQ(WcStatusError(e.value), e.error) << e.name;
    EXPECT_FALSE(WcStatusText(e.value).empty());
  }
  EXPECT_EQ(values.size(), WcStatusTable().size());
  EXPECT_EQ(Entry("IBV_WC_SUCCESS").status, CompletionStatus::kSuccess);
  EXPECT_EQ(Entry("IBV_WC_REM_ACCESS_ERR").status, CompletionStatus::kRemoteAccessError);
  EXPECT_EQ(Entry("IBV_WC_REM_ACCESS_ERR").error, ErrorCode::kRemoteAccess);
  EXPECT_EQ(Entry("IBV_WC_RETRY_EXC_ERR").status, CompletionStatus::kPeerLost);
  EXPECT_EQ(Entry("IBV_WC_RETRY_EXC_ERR").error, ErrorCode::kPeerLost);
  EXPECT_EQ(Entry("IBV_WC_RNR_RETRY_EXC_ERR").status, CompletionStatus::kPeerLost);
  EXPECT_EQ(Entry("IBV_WC_WR_FLUSH_ERR").status, CompletionStatus::kFlushed);
  EXPECT_EQ(Entry("IBV_WC_LOC_PROT_ERR").status, CompletionStatus::kLocalProtectionError);
  EXPECT_EQ(Entry("IBV_WC_REM_INV_REQ_ERR").status, CompletionStatus::kProtocolError);
  EXPECT_EQ(Entry("IBV_WC_LOC_LEN_ERR").error, ErrorCode::kProtocol);
  EXPECT_EQ(WcStatusText(Entry("IBV_WC_REM_ACCESS_ERR").value), "remote access error");
}

TEST(VerbsWcStatusTest, UnknownStatusesAreProtocolErrors) {
  EXPECT_EQ(MapWcStatus(-1), CompletionStatus::kProtocolError);
  EXPECT_EQ(MapWcStatus(10'000), CompletionStatus::kProtocolError);
  EXPECT_EQ(WcStatusError(10'000), ErrorCode::kProtocol);
  EXPECT_EQ(WcStatusText(10'000), "status 10000");
}

TEST(VerbsPolicyTest, AckTimeoutEndsAllRetriesWithinThePeerTimeout) {
  for (int ms : {50, 600, 1000, 3000, 10000}) {
    const uint8_t t = AckTimeoutExponent(milliseconds(ms));
    const double total_ms = 4.096e-3 * static_cast<double>(1ull << t) * (kRetryCount + 1);
    if (t > 10) {
      EXPECT_LE(total_ms, ms) << ms;
    }
    EXPECT_GE(t, 10);
    EXPECT_LE(t, 20);
  }
  EXPECT_EQ(AckTimeoutExponent(milliseconds(1000)), 14);  // 67 ms per try, 537 ms in all
  EXPECT_EQ(AckTimeoutExponent(milliseconds(1)), 10);     // clamped
  EXPECT_EQ(AckTimeoutExponent(milliseconds(3'600'000)), 20);
}

TEST(VerbsPolicyTest, KeepaliveIsFrequentEnoughForThePeer) {
  EXPECT_EQ(KeepaliveInterval(milliseconds(100), milliseconds(3000)), milliseconds(100));
  EXPECT_EQ(KeepaliveInterval(milliseconds(500), milliseconds(600)), milliseconds(150));
  EXPECT_EQ(KeepaliveInterval(milliseconds(100), milliseconds(2)), milliseconds(1));
  EXPECT_EQ(CreditReturnThreshold(1), 1u);
  EXPECT_EQ(CreditReturnThreshold(4), 1u);
  EXPECT_EQ(CreditReturnThreshold(64), 16u);
}

TEST(VerbsCreditsTest, UserMessagesUseTheWindowAndInternalOnesTheReserve) {
  SendCredits credits(/*peer_buffers=*/4 + kReserveBuffers, /*peer_user_window=*/4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(credits.CanSendUser()) << i;
    credits.OnSent();
  }
  EXPECT_FALSE(credits.CanSendUser());
  for (uint32_t i = 0; i < kReserveBuffers; ++i) {
    ASSERT_TRUE(credits.CanSendInternal()) << i;
    credits.OnSent();
  }
  EXPECT_FALSE(credits.CanSendInternal());
  ASSERT_TRUE(credits.OnReposted(3));
  EXPECT_EQ(credits.available(), 3u);
  EXPECT_FALSE(credits.CanSendUser());  // three buffers: all still reserve
  ASSERT_TRUE(credits.OnReposted(12));
  EXPECT_TRUE(credits.CanSendUser());
  ASSERT_TRUE(credits.OnReposted(5));  // an older count (reordered header): ignored
  EXPECT_EQ(credits.available(), 12u);
  auto lie = credits.OnReposted(13);  // more than we ever sent
  ASSERT_FALSE(lie);
  EXPECT_EQ(lie.error().code(), ErrorCode::kProtocol);
}

TEST(VerbsCreditsTest, CountsWrapAround) {
  // Both sides' counters start near 2^32 (as after four billion messages).
  const uint32_t start = 0xfffffffau;
  SendCredits credits(8 + kReserveBuffers, 8, start);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(credits.CanSendUser()) << i;
    credits.OnSent();
  }
  EXPECT_FALSE(credits.CanSendUser());
  EXPECT_EQ(credits.sent(), start + 8);  // wrapped past zero
  ASSERT_TRUE(credits.OnReposted(start + 8));
  EXPECT_EQ(credits.available(), 8 + kReserveBuffers);
  EXPECT_FALSE(credits.OnReposted(start + 9));
}

}  // namespace
}  // namespace ftvm::rdma::verbs
