// Conformance suite, part 2: remote access errors, peer loss, keepalive, refused connections.
// Each asserts the exact completions and the sticky error.
#include <signal.h>

#include <thread>

#include "base/time.h"
#include "base/wire.h"
#include "tests/rdma/conformance_fixture.h"

namespace ftvm::rdma::testing {
namespace {

using std::chrono::milliseconds;
constexpr uint32_t kRw = kAccessLocalWrite | kAccessRemoteWrite;

class ConformanceFailureTest : public ConformanceTest {
 protected:
  // Posts [good (signaled), bad, after (signaled)] and checks the outcome every remote access
  // violation must have: good lands, bad fails with kRemoteAccessError, after is flushed, the
  // channel is in error for good, and the bad write touched nothing.
  void ExpectRejected(const MemoryRegion& src, const MemoryRegion& dst, WriteRequest bad,
                      std::span<const std::byte> must_stay, std::byte untouched) {
    FillPattern(std::span(src.addr, 4096), 5);
    const WriteRequest good = Write(1, src, 0, dst, 0, 512, true);
    bad.wr_id = 2;
    bad.signaled = false;  // errors complete whether signaled or not
    const WriteRequest after = Write(3, src, 0, dst, 1024, 512, true);
    const WriteRequest batch[] = {good, bad, after};
    ASSERT_TRUE(client_->PostWrites(batch));
    std::optional<Error> error;
    auto done = PollFor(*client_, 4, milliseconds(10000), &error);
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[0].wr_id, 1u);
    EXPECT_EQ(done[0].status, CompletionStatus::kSuccess);
    EXPECT_EQ(done[1].wr_id, 2u);
    EXPECT_EQ(done[1].status, CompletionStatus::kRemoteAccessError);
    EXPECT_EQ(done[2].wr_id, 3u);
    EXPECT_EQ(done[2].status, CompletionStatus::kFlushed);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code(), ErrorCode::kRemoteAccess) << error->ToString();
    EXPECT_EQ(client_->state(), ChannelState::kError);
    ASSERT_TRUE(client_->error().has_value());
    EXPECT_EQ(client_->error()->code(), ErrorCode::kRemoteAccess);
    auto late = client_->PostWrite(good);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code(), ErrorCode::kFlushed);
    EXPECT_TRUE(AllEqual(must_stay, untouched));
  }
};

TEST_P(ConformanceFailureTest, InvalidRemoteKeyIsARemoteAccessError) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(4096);
  const Mapping& target = Memory(8192, std::byte{0xAB});
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  WriteRequest bad = Write(0, src, 0, dst, 2048, 1024);
  bad.rkey = dst.rkey ^ 0x5a5a0000u;
  ExpectRejected(src, dst, bad, target.bytes().subspan(2048, 1024), std::byte{0xAB});
  EXPECT_TRUE(AllEqual(target.bytes().subspan(1024, 512), std::byte{0xAB}));  // `after` too
}

TEST_P(ConformanceFailureTest, OutOfBoundsWriteWritesNothing) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(4096);
  const Mapping& target = Memory(8192, std::byte{0xAB});
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  // Register only the first 4 KiB; the write straddles its end by 16 bytes.
  auto dst = server_->RegisterMemory(target.bytes().first(4096), kRw);
  ASSERT_TRUE(dst);
  const WriteRequest bad = Write(0, src, 0, *dst, 4096 - 16, 32);
  ExpectRejected(src, *dst, bad, target.bytes().subspan(4096 - 16, 32), std::byte{0xAB});
}

TEST_P(ConformanceFailureTest, WriteIntoRegionWithoutRemoteWriteAccessFails) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(4096);
  const Mapping& target = Memory(8192, std::byte{0xAB});
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion writable = Register(*server_, target);
  const MemoryRegion local_only =
      Register(*server_, target, kAccessLocalWrite);  // same memory, no remote write
  const WriteRequest bad = Write(0, src, 0, local_only, 4096, 256);
  ExpectRejected(src, writable, bad, target.bytes().subspan(4096, 256), std::byte{0xAB});
}

TEST_P(ConformanceFailureTest, DeregisteredKeyIsRejected) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(4096);
  const Mapping& target = Memory(8192, std::byte{0xAB});
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  const MemoryRegion gone = Register(*server_, target);
  ASSERT_TRUE(server_->DeregisterMemory(gone));
  const WriteRequest bad = Write(0, src, 0, gone, 4096, 256);
  ExpectRejected(src, dst, bad, target.bytes().subspan(4096, 256), std::byte{0xAB});
}

// A write racing with deregistration completes before DeregisterMemory() returns or fails:
// once it returns, nothing touches the memory again.
TEST_P(ConformanceFailureTest, NothingLandsAfterDeregistrationReturns) {
  ASSERT_TRUE(Connect());
  const Mapping& source = Memory(1 << 20);
  const Mapping& target = Memory(1 << 20);
  const MemoryRegion src = Register(*client_, source, kAccessLocalWrite);
  const MemoryRegion dst = Register(*server_, target);
  std::atomic<bool> landing{false};
  std::optional<Error> writer_error;
  std::thread writer([&] {
    std::vector<Completion> c(16);
    for (uint64_t id = 0;; ++id) {
      auto posted = client_->PostWrite(Write(id, src, 0, dst, 0, 256 << 10, id % 4 == 0));
      if (!posted && posted.error().code() != ErrorCode::kResourceExhausted) break;
      auto n = client_->Poll(c, posted ? Nanos(0) : Nanos(milliseconds(10)));
      if (!n) break;
      for (size_t i = 0; i < *n; ++i) {
        if (c[i].status == CompletionStatus::kSuccess) landing.store(true);
      }
    }
    writer_error = PollUntilError(*client_, milliseconds(10000));
  });
  // Once writes are landing, pull the region from under them.
  const Deadline deadline(milliseconds(10000));
  while (!landing.load() && !deadline.expired()) std::this_thread::yield();
  ASSERT_TRUE(landing.load());
  ASSERT_TRUE(server_->DeregisterMemory(dst));
  std::fill(target.data(), target.data() + target.size(), std::byte{0x11});
  writer.join();  // ends when the writer sees its rejected write
  ASSERT_TRUE(writer_error.has_value());
  EXPECT_EQ(writer_error->code(), ErrorCode::kRemoteAccess) << writer_error->ToString();
  EXPECT_TRUE(AllEqual(target.bytes(), std::byte{0x11}));
}

struct PeerProcess {
  ChildProcess child;
  std::unique_ptr<Channel> channel;
  uint64_t remote_addr = 0;
  uint32_t rkey = 0;
  uint64_t length = 0;
};

// Starts rdma_test_peer connecting to our listener and reads its "region" message.
Result<PeerProcess> StartPeer(const ProviderSpec& provider, const ChannelOptions& options) {
  FTVM_ASSIGN_OR_RETURN(auto listener, Listen(ListenUri(provider), options));
  FTVM_ASSIGN_OR_RETURN(
      ChildProcess child,
      ChildProcess::Spawn(TestPeerPath(),
                          {listener->uri(), std::to_string(options.peer_timeout.count())}));
  FTVM_ASSIGN_OR_RETURN(auto channel, listener->Accept(milliseconds(10000)));
  std::optional<Error> error;
  auto got = PollFor(*channel, 1, milliseconds(10000), &error);
  if (got.size() != 1) return Fail(ErrorCode::kProtocol, "no region message from the peer");
  WireReader r(got[0].message);
  PeerProcess peer{std::move(child), std::move(channel)};
  peer.remote_addr = r.Get<uint64_t>();
  peer.rkey = r.Get<uint32_t>();
  peer.length = r.Get<uint64_t>();
  FTVM_TRY(r.Finish("region message"));
  return peer;
}

TEST_P(ConformanceFailureTest, KilledPeerFlushesOutstandingWorkAndReportsPeerLost) {
  ChannelOptions options = TestOptions();
  options.peer_timeout = milliseconds(1000);
  auto peer = StartPeer(GetParam(), options);
  if (!peer && peer.error().code() == ErrorCode::kUnsupported)
    GTEST_SKIP() << peer.error().ToString();
  ASSERT_TRUE(peer) << peer.error().ToString();
  Channel& channel = *peer->channel;
  const Mapping& source = Memory(1 << 20);
  const MemoryRegion src = Register(channel, source, kAccessLocalWrite);
  const WriteRequest w{.wr_id = 1,
                       .local_addr = src.addr,
                       .lkey = src.lkey,
                       .length = 4096,
                       .remote_addr = peer->remote_addr,
                       .rkey = peer->rkey,
                       .signaled = true};
  ASSERT_TRUE(channel.PostWrite(w));
  ASSERT_EQ(PollFor(channel, 1, milliseconds(10000)).size(), 1u);  // the peer is alive
  peer->child.Signal(SIGKILL);
  // Keep posting until the loss is noticed; everything outstanding then completes flushed (the
  // oldest may report kPeerLost, as verbs does for retry-exceeded), and Poll fails kPeerLost.
  const Stopwatch clock;
  std::vector<Completion> seen;
  uint64_t posted = 1;
  std::optional<Error> error;
  while (!error && clock.ElapsedNs() < 20'000'000'000ull) {
    WriteRequest next = w;
    next.wr_id = ++posted;
    next.signaled = posted % 8 == 0;
    auto r = channel.PostWrite(next);
    if (!r) {
      EXPECT_TRUE(r.error().code() == ErrorCode::kFlushed ||
                  r.error().code() == ErrorCode::kResourceExhausted)
          << r.error().ToString();
      if (r.error().code() == ErrorCode::kFlushed) --posted;
    }
    error = PollUntilError(channel, milliseconds(5), &seen);
  }
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kPeerLost) << error->ToString();
  EXPECT_EQ(channel.state(), ChannelState::kError);
  size_t failed = 0;
  for (const Completion& c : seen) {
    if (c.status == CompletionStatus::kSuccess) continue;
    EXPECT_TRUE(c.status == CompletionStatus::kFlushed ||
                (failed == 0 && c.status == CompletionStatus::kPeerLost))
        << CompletionStatusName(c.status);
    ++failed;
  }
  EXPECT_EQ(PollUntilError(channel, milliseconds(10))->code(), ErrorCode::kPeerLost);
  auto late = channel.PostWrite(w);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), ErrorCode::kFlushed);
}

TEST_P(ConformanceFailureTest, KeepaliveDetectsASilentPeerWithinThePeerTimeout) {
  ChannelOptions options = TestOptions();
  options.peer_timeout = milliseconds(600);
  options.keepalive_interval = milliseconds(50);
  auto peer = StartPeer(GetParam(), options);
  if (!peer && peer.error().code() == ErrorCode::kUnsupported)
    GTEST_SKIP() << peer.error().ToString();
  ASSERT_TRUE(peer) << peer.error().ToString();
  // Idle and alive: several peer timeouts pass without a false alarm.
  EXPECT_FALSE(PollUntilError(*peer->channel, milliseconds(1500)).has_value());
  peer->child.Signal(SIGSTOP);  // the peer stops sending and reading, its sockets stay open
  const Stopwatch clock;
  auto error = PollUntilError(*peer->channel, milliseconds(10000));
  const uint64_t elapsed_ms = clock.ElapsedNs() / 1'000'000;
  peer->child.Signal(SIGKILL);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kPeerLost) << error->ToString();
  // Bounded by the peer timeout (plus scheduling slack on a loaded machine).
  EXPECT_LE(elapsed_ms, 600u + 400u);
}

TEST_P(ConformanceFailureTest, ConnectionRefusedIsPeerLost) {
  // A port that was just listening and is now closed.
  auto listener = Listen(ListenUri(GetParam()), TestOptions());
  if (!listener && listener.error().code() == ErrorCode::kUnsupported) {
    GTEST_SKIP() << listener.error().ToString();
  }
  ASSERT_TRUE(listener) << listener.error().ToString();
  const std::string uri = (*listener)->uri();
  listener->reset();
  ChannelOptions options = TestOptions();
  options.connect_timeout = milliseconds(3000);
  auto channel = rdma::Connect(uri, options);
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code(), ErrorCode::kPeerLost) << channel.error().ToString();
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Providers, ConformanceFailureTest,
                         ::testing::ValuesIn(SelectedProviders()), ProviderTestName);

}  // namespace ftvm::rdma::testing
