#include "rdma/uri.h"

#include <gtest/gtest.h>

#include "rdma/channel.h"

namespace ftvm::rdma {
namespace {

TEST(UriTest, ParsesBothSchemesAndIpv6) {
  auto t = ParseUri("tcp://127.0.0.1:7000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->scheme, Scheme::kTcp);
  EXPECT_EQ(t->where.host, "127.0.0.1");
  EXPECT_EQ(t->where.port, 7000);
  EXPECT_EQ(t->ToString(), "tcp://127.0.0.1:7000");
  auto r = ParseUri("rdma://[fe80::1]:0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->scheme, Scheme::kRdma);
  EXPECT_EQ(r->where.host, "fe80::1");
  EXPECT_EQ(r->ToString(), "rdma://[fe80::1]:0");
}

TEST(UriTest, RejectsMalformedUris) {
  for (const char* bad : {"127.0.0.1:7000", "udp://h:1", "tcp://h", "tcp://:7000", "tcp://h:1/x",
                          "tcp://h:99999", "tcp://h:1?streams=2", ""}) {
    auto u = ParseUri(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(UriTest, RdmaSchemeIsUnsupportedUntilTheVerbsProviderExists) {
  auto l = Listen("rdma://127.0.0.1:0", ChannelOptions{});
  if (l) return;  // the verbs provider and a device are present: nothing to check here
  EXPECT_EQ(l.error().code(), ErrorCode::kUnsupported);
}

TEST(UriTest, CompletionStatusesHaveNames) {
  EXPECT_EQ(CompletionStatusName(CompletionStatus::kSuccess), "success");
  EXPECT_EQ(CompletionStatusName(CompletionStatus::kRemoteAccessError), "remote access error");
  EXPECT_EQ(CompletionStatusName(CompletionStatus::kFlushed), "flushed");
  EXPECT_EQ(CompletionStatusName(static_cast<CompletionStatus>(99)), "unknown");
}

}  // namespace
}  // namespace ftvm::rdma
