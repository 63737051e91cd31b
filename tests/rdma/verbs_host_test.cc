// Unit tests of the verbs provider that need no device: pinned-memory accounting, transport
// selection, and what a verbs run does on a host without RDMA (like the development machines).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/mapping.h"
#include "rdma/channel.h"
#include "rdma/transport.h"
#include "rdma/verbs/memlock.h"
#include "rdma/verbs/verbs_provider.h"

namespace ftvm::rdma {
namespace {

using ::testing::HasSubstr;
using verbs::CheckMemlock;
using verbs::MemlockLimit;
using verbs::PinnedBytes;

TEST(VerbsMemlockTest, RegistrationOverTheLimitNamesTheLimitAndHowToRaiseIt) {
  const MemlockLimit limit{.unlimited = false, .bytes = 8 << 20};
  EXPECT_TRUE(CheckMemlock(4 << 20, 4 << 20, limit));  // exactly at the limit
  auto over = CheckMemlock(64 << 20, 1 << 20, limit);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), ErrorCode::kResourceExhausted);
  const std::string& text = over.error().context();
  EXPECT_THAT(text, HasSubstr("RLIMIT_MEMLOCK"));
  EXPECT_THAT(text, HasSubstr("8.0 MiB"));   // the limit
  EXPECT_THAT(text, HasSubstr("64.0 MiB"));  // the request
  EXPECT_THAT(text, HasSubstr("ulimit -l"));
  EXPECT_THAT(text, HasSubstr("/etc/security/limits.conf"));
  EXPECT_THAT(text, HasSubstr("LimitMEMLOCK"));
  EXPECT_TRUE(CheckMemlock(uint64_t{1} << 40, 0, MemlockLimit{.unlimited = true}));
}

TEST(VerbsMemlockTest, PinnedSizeCountsEveryTouchedPage) {
  auto m = Mapping::Anonymous(3 * 4096);
  ASSERT_TRUE(m);
  EXPECT_EQ(verbs::PinnedSize(m->bytes().first(1)), 4096u);
  EXPECT_EQ(verbs::PinnedSize(m->bytes().subspan(4095, 2)), 8192u);  // straddles a boundary
  EXPECT_EQ(verbs::PinnedSize(m->bytes()), 3u * 4096);
  EXPECT_EQ(verbs::PinnedSize(m->bytes().first(0)), 0u);
}

TEST(VerbsMemlockTest, ReservationsAreReleasedWithTheirOwner) {
  auto m = Mapping::Anonymous(16 * 4096);
  ASSERT_TRUE(m);
  const uint64_t before = PinnedBytes::InUse();
  {
    auto a = PinnedBytes::Reserve(m->bytes());
    if (!a) GTEST_SKIP() << "memlock limit too low here: " << a.error().ToString();
    EXPECT_EQ(PinnedBytes::InUse(), before + 16 * 4096);
    PinnedBytes moved = std::move(*a);
    EXPECT_EQ(moved.bytes(), 16u * 4096);
    EXPECT_EQ(PinnedBytes::InUse(), before + 16 * 4096);
  }
  EXPECT_EQ(PinnedBytes::InUse(), before);
}

// Lowers this thread's RLIMIT_MEMLOCK and drops CAP_IPC_LOCK from its effective set (if it
// has it) for the lifetime of the object; both come back afterwards.
class LowMemlock {
 public:
  explicit LowMemlock(rlim_t bytes) {
    ::getrlimit(RLIMIT_MEMLOCK, &saved_limit_);
    rlimit low = saved_limit_;
    low.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_MEMLOCK, &low) == 0;
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    if (::syscall(SYS_capget, &header_, saved_caps_) != 0) return;
    __user_cap_data_struct dropped[2] = {saved_caps_[0], saved_caps_[1]};
    dropped[0].effective &= ~(1u << CAP_IPC_LOCK);
    ok_ = ok_ && ::syscall(SYS_capset, &header_, dropped) == 0;
  }
  ~LowMemlock() {
    (void)::syscall(SYS_capset, &header_, saved_caps_);
    (void)::setrlimit(RLIMIT_MEMLOCK, &saved_limit_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit saved_limit_{};
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_caps_[2]{};
  bool ok_ = false;
};

TEST(VerbsMemlockTest, TheRealLimitStopsAnOversizedRegistrationWithAClearMessage) {
  auto m = Mapping::Anonymous(4 << 20);
  ASSERT_TRUE(m);
  LowMemlock low(1 << 20);
  if (!low.ok()) GTEST_SKIP() << "cannot lower RLIMIT_MEMLOCK or drop CAP_IPC_LOCK here";
  const MemlockLimit limit = verbs::CurrentMemlockLimit();
  EXPECT_FALSE(limit.unlimited);
  EXPECT_EQ(limit.bytes, 1u << 20);
  auto pinned = PinnedBytes::Reserve(m->bytes());
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_THAT(pinned.error().context(), HasSubstr("RLIMIT_MEMLOCK of 1.0 MiB"));
  EXPECT_TRUE(PinnedBytes::Reserve(m->bytes().first(64 << 10)));  // small ones still fit
}

TEST(TransportTest, ParsesTheThreeNames) {
  EXPECT_EQ(ParseTransport("auto").value(), Transport::kAuto);
  EXPECT_EQ(ParseTransport("verbs").value(), Transport::kVerbs);
  EXPECT_EQ(ParseTransport("rdma").value(), Transport::kVerbs);
  EXPECT_EQ(ParseTransport("tcp").value(), Transport::kTcp);
  auto bad = ParseTransport("ib");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().context(), HasSubstr("auto, verbs or tcp"));
}

TEST(TransportTest, AutoPicksVerbsOnlyWithAUsableDeviceAndSaysWhy) {
  const VerbsAvailability none{false,
                               "the kernel has no RDMA support (ibv_get_device_list: ENOSYS)"};
  const VerbsAvailability ready{true, "RDMA device ready (rxe0:1 ACTIVE Ethernet)"};
  auto fallback = ChooseTransport(Transport::kAuto, none);
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->transport, Transport::kTcp);
  EXPECT_THAT(fallback->reason, HasSubstr("falling back to tcp"));
  EXPECT_THAT(fallback->reason, HasSubstr("ENOSYS"));
  auto rdma = ChooseTransport(Transport::kAuto, ready);
  ASSERT_TRUE(rdma);
  EXPECT_EQ(rdma->transport, Transport::kVerbs);
  EXPECT_THAT(rdma->reason, HasSubstr("rxe0:1"));
  EXPECT_EQ(ChooseTransport(Transport::kTcp, ready)->transport, Transport::kTcp);
  EXPECT_EQ(ChooseTransport(Transport::kVerbs, ready)->transport, Transport::kVerbs);
}

TEST(TransportTest, ExplicitVerbsWithoutADeviceFailsClearly) {
  auto choice = ChooseTransport(Transport::kVerbs, {false, "no RDMA device present"});
  ASSERT_FALSE(choice);
  EXPECT_EQ(choice.error().code(), ErrorCode::kUnsupported);
  EXPECT_THAT(choice.error().context(), HasSubstr("no RDMA device present"));
  EXPECT_THAT(choice.error().context(), HasSubstr("--transport tcp"));
  EXPECT_EQ(TransportUri(Transport::kVerbs, {"10.0.0.1", 7000}), "rdma://10.0.0.1:7000");
  EXPECT_EQ(TransportUri(Transport::kTcp, {"::1", 7000}), "tcp://[::1]:7000");
}

// On this host's real devices: resolution agrees with the probe, whatever the machine has.
TEST(TransportTest, ResolutionAgreesWithTheDeviceProbe) {
  const verbs::DeviceProbe probe = verbs::ProbeDevices();
  EXPECT_FALSE(probe.summary.empty());
  auto automatic = ResolveTransport(Transport::kAuto);
  ASSERT_TRUE(automatic) << automatic.error().ToString();
  EXPECT_EQ(automatic->transport, probe.usable ? Transport::kVerbs : Transport::kTcp);
  auto verbs = ResolveTransport(Transport::kVerbs);
  EXPECT_EQ(verbs.has_value(), probe.usable);
  EXPECT_EQ(ResolveTransport(Transport::kTcp)->transport, Transport::kTcp);
}

// A verbs run on a host without RDMA (the development machines: no RDMA in the kernel) fails
// with kUnsupported saying so, which the conformance suite turns into a skip.
TEST(VerbsNoDeviceTest, ConnectAndListenFailClearlyWithoutADevice) {
  if (verbs::ProbeDevices().usable) GTEST_SKIP() << "this host has an RDMA device";
  auto listener = Listen("rdma://127.0.0.1:0", ChannelOptions{});
  ASSERT_FALSE(listener);
  EXPECT_EQ(listener.error().code(), ErrorCode::kUnsupported);
  EXPECT_THAT(listener.error().context(), HasSubstr("no RDMA device"));
  auto channel = Connect("rdma://127.0.0.1:7000", ChannelOptions{});
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code(), ErrorCode::kUnsupported);
}

TEST(VerbsOptionsTest, RejectsOptionsTheProviderCannotUse) {
  EXPECT_TRUE(verbs::ValidateOptions(ChannelOptions{}));
  ChannelOptions keepalive;
  keepalive.keepalive_interval = keepalive.peer_timeout;
  EXPECT_EQ(verbs::ValidateOptions(keepalive).error().code(), ErrorCode::kInvalidArgument);
  ChannelOptions depth;
  depth.send_queue_depth = 0;
  EXPECT_FALSE(verbs::ValidateOptions(depth));
  ChannelOptions credits;
  credits.recv_credits = 0;
  EXPECT_FALSE(verbs::ValidateOptions(credits));
  ChannelOptions message;
  message.max_message_bytes = 0;
  EXPECT_FALSE(verbs::ValidateOptions(message));
}

}  // namespace
}  // namespace ftvm::rdma
