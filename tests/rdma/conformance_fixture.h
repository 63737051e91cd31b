// The conformance suite's fixture: one instance per provider (see channel_test_util.h).
#pragma once

#include <gtest/gtest.h>

#include <deque>

#include "base/mapping.h"
#include "rdma/channel.h"
#include "tests/rdma/channel_test_util.h"

namespace ftvm::rdma::testing {

class ConformanceTest : public ::testing::TestWithParam<ProviderSpec> {
 protected:
  // Skips the test when the provider (or its device) is missing here.
  void SetUp() override {
    auto probe = Listen(ListenUri(GetParam()), TestOptions());
    if (!probe && probe.error().code() == ErrorCode::kUnsupported) {
      GTEST_SKIP() << GetParam().name << ": " << probe.error().ToString();
    }
    ASSERT_TRUE(probe) << probe.error().ToString();
  }

  // Connects client and server with the given options. Use as ASSERT_TRUE(Connect()).
  [[nodiscard]] bool Connect(const ChannelOptions& client = TestOptions(),
                             const ChannelOptions& server = TestOptions()) {
    auto pair = ConnectPair(GetParam(), client, server);
    if (!pair) {
      ADD_FAILURE() << "connect " << GetParam().name << ": " << pair.error().ToString();
      return false;
    }
    client_ = std::move(pair->client);
    server_ = std::move(pair->server);
    return true;
  }

  // Memory owned by the fixture, unmapped only after both channels are gone.
  const Mapping& Memory(size_t bytes, std::byte fill = std::byte{0}) {
    auto m = Mapping::Anonymous(bytes);
    if (!m) ADD_FAILURE() << m.error().ToString();
    if (fill != std::byte{0}) std::fill(m->data(), m->data() + m->size(), fill);
    return memory_.emplace_back(std::move(m).value_or(Mapping()));
  }

  static MemoryRegion Register(Channel& channel, const Mapping& memory,
                               uint32_t access = kAccessLocalWrite | kAccessRemoteWrite) {
    auto r = channel.RegisterMemory(memory.bytes(), access);
    EXPECT_TRUE(r) << r.error().ToString();
    return r.value_or(MemoryRegion{});
  }

  // Sends `text` from client to server and waits for it there: after it arrives, every write
  // the client posted before it is visible in the server's memory.
  void SyncClientToServer(std::string_view text = "sync") {
    ASSERT_TRUE(client_->PostSend(Bytes(text), 999));
    auto got = PollFor(*server_, 1, std::chrono::milliseconds(10000));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].opcode, Opcode::kRecv);
    EXPECT_EQ(Text(got[0].message), text);
  }

  static WriteRequest Write(uint64_t wr_id, const MemoryRegion& local, size_t local_offset,
                            const MemoryRegion& remote, size_t remote_offset, uint32_t length,
                            bool signaled = true) {
    return WriteRequest{.wr_id = wr_id,
                        .local_addr = local.addr + local_offset,
                        .lkey = local.lkey,
                        .length = length,
                        .remote_addr = remote.remote_addr() + remote_offset,
                        .rkey = remote.rkey,
                        .signaled = signaled};
  }

  std::deque<Mapping> memory_;  // declared first: destroyed after the channels
  std::unique_ptr<Channel> client_;
  std::unique_ptr<Channel> server_;
};

}  // namespace ftvm::rdma::testing
