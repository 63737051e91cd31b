// The transport API: one-sided RDMA WRITE plus two-sided control messages, provider-neutral.
//
// Everything above the transport (ram/, colo/) talks to a Channel. Providers: `tcp` (user-space,
// rdma/tcp/) and `verbs` (libibverbs + librdmacm, rdma/verbs/). Both pass the same conformance
// suite (tests/rdma/conformance_test.cc); the semantics are those of a verbs RC queue pair:
//
// Memory
//   RegisterMemory() pins/registers a range and returns a MemoryRegion with a local key (for
//   writes sourced from it) and a remote key (handed to the peer so it can write into it).
//   DeregisterMemory() invalidates both keys at once: a write that arrives afterwards fails with
//   a remote access error at its initiator and touches nothing.
//
// One-sided writes
//   PostWrites() posts a batch of RDMA WRITEs (one doorbell). Each names local memory
//   (lkey + address) and a target (rkey + remote address, the address the peer registered).
//   The target validates key, bounds and access rights before any byte lands; a violation
//   completes that write with kRemoteAccessError and moves the connection to the error state.
//   Selective signalling: an unsignaled write produces no completion when it succeeds; its send
//   queue slot is freed when a later signaled work request completes (as on a verbs QP). Errors
//   always produce a completion, signaled or not.
//   A successful write completion means the bytes are visible in the target's memory.
//
// Two-sided control messages
//   PostSend() sends a message of at most info().max_message_bytes. Messages are delivered
//   reliably, in order, and only after every write posted before them is visible at the target
//   (verbs RC ordering): "data, then the message that says the data is there" is safe.
//   Flow control is a credit window: the peer has info().recv_credits receive buffers; a send
//   waits in the send queue (never blocking the caller) until a credit is free. The receiver
//   gets each message as a kRecv completion from Poll(); polling it returns the credit.
//
// Completions and errors
//   Poll() returns completions for signaled writes/sends (in post order), failed work requests,
//   and received messages. The first error moves the channel to ChannelState::kError for good
//   (like an RC QP): every outstanding work request completes with kFlushed, later posts fail
//   with kFlushed, and once nothing is left to report Poll() returns the sticky error (kPeerLost,
//   kRemoteAccess, kProtocol, ...), so a thread waiting for messages learns of peer loss.
//   When the peer is lost, outstanding requests complete kFlushed (the oldest may carry
//   kPeerLost instead, as verbs reports retry-exceeded). Once the channel left kConnected no new
//   write lands in our memory; one already landing may finish: DeregisterMemory() (or
//   destroying the channel) is the point after which nothing touches a region.
//   A peer that dies or goes silent is detected within options.peer_timeout even when idle
//   (keepalive), not only on the next write.
//
// Threading: a Channel is driven by one thread at a time. Shutdown() is the exception: any
// thread may call it to close the channel and wake a blocked Poll() (which then fails with
// kAborted). Memory regions must stay mapped until deregistered or the channel is destroyed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace ftvm::rdma {

// Access rights of a memory region (bit flags).
enum Access : uint32_t {
  kAccessLocalWrite = 1u << 0,
  kAccessRemoteWrite = 1u << 1,
  kAccessRemoteRead = 1u << 2,
};

struct MemoryRegion {
  std::byte* addr = nullptr;  // local address of byte 0
  uint64_t length = 0;
  uint32_t lkey = 0;  // names the region as the source of local writes
  uint32_t rkey = 0;  // names the region as a target for the peer's writes
  uint32_t access = 0;
  // The remote address the peer uses for byte 0 (the registered virtual address, as in verbs).
  uint64_t remote_addr() const { return reinterpret_cast<uint64_t>(addr); }
};

// One RDMA WRITE: `length` bytes from local memory (inside a region registered with `lkey`)
// to `remote_addr` inside the peer's region `rkey`.
struct WriteRequest {
  uint64_t wr_id = 0;
  const std::byte* local_addr = nullptr;
  uint32_t lkey = 0;
  uint32_t length = 0;
  uint64_t remote_addr = 0;
  uint32_t rkey = 0;
  bool signaled = true;
};

enum class Opcode : uint8_t { kWrite, kSend, kRecv };

enum class CompletionStatus : uint8_t {
  kSuccess,
  kRemoteAccessError,     // bad rkey, out of bounds, or no remote-write access at the target
  kLocalProtectionError,  // bad lkey or local range outside its region
  kPeerLost,              // connection reset, keepalive expired, retries exceeded
  kProtocolError,         // the peer sent something malformed
  kFlushed,               // not executed: the channel was already in error
};

std::string_view CompletionStatusName(CompletionStatus status);

struct Completion {
  uint64_t wr_id = 0;  // as posted; 0 for kRecv
  Opcode opcode = Opcode::kWrite;
  CompletionStatus status = CompletionStatus::kSuccess;
  std::vector<std::byte> message;  // kRecv: the received message (capacity reused across polls)
};

struct ChannelOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Keepalive: the channel sends a probe when idle this long, and declares the peer lost after
  // peer_timeout without any sign of life. Detection time is bounded by peer_timeout.
  std::chrono::milliseconds keepalive_interval{100};
  std::chrono::milliseconds peer_timeout{1000};
  uint32_t send_queue_depth = 1024;  // outstanding work requests (writes + sends)
  uint32_t recv_credits = 64;        // messages the peer may have in flight towards us
  uint32_t max_message_bytes = 64 * 1024;
  uint32_t max_inline_bytes = 256;  // verbs: sends up to this size are posted inline
  uint32_t streams = 1;             // tcp: TCP streams per connection (1..16)
  bool busy_poll = false;           // verbs: spin on the CQ instead of sleeping on its channel
};

struct ChannelInfo {
  std::string provider;   // "tcp" or "verbs"
  std::string local_uri;  // e.g. "tcp://127.0.0.1:40000"
  std::string peer_uri;
  std::string device;  // verbs: device and port, e.g. "rxe0:1"; empty for tcp
  uint32_t send_queue_depth = 0;
  uint32_t recv_credits = 0;       // the peer's receive window, as negotiated
  uint32_t max_message_bytes = 0;  // as negotiated (min of both sides)
  uint32_t streams = 1;
};

enum class ChannelState : uint8_t { kConnected, kError, kClosed };

class Channel {
 public:
  virtual ~Channel() = default;

  virtual const ChannelInfo& info() const = 0;
  virtual ChannelState state() const = 0;
  // The error that moved the channel out of kConnected (sticky), if any.
  virtual std::optional<Error> error() const = 0;

  virtual Result<MemoryRegion> RegisterMemory(std::span<std::byte> memory, uint32_t access) = 0;
  // Invalidates the region's keys before returning. Allowed in any state.
  virtual Result<void> DeregisterMemory(const MemoryRegion& region) = 0;

  // Posts the writes in order. Fails without posting anything when the batch does not fit in
  // the send queue (kResourceExhausted: poll first) or the channel is in error (kFlushed).
  // Local keys and ranges are checked at post time (kInvalidArgument).
  virtual Result<void> PostWrites(std::span<const WriteRequest> writes) = 0;
  Result<void> PostWrite(const WriteRequest& write) { return PostWrites({&write, 1}); }

  // Queues a control message (copied; the caller's buffer is free on return).
  virtual Result<void> PostSend(std::span<const std::byte> message, uint64_t wr_id,
                                bool signaled = false) = 0;

  // Waits up to `timeout` (0: don't wait; negative: forever) for at least one completion and
  // returns how many were stored in `out` (0 on timeout).
  virtual Result<size_t> Poll(std::span<Completion> out, Nanos timeout) = 0;

  // Orderly disconnect: outstanding work completes as kFlushed, the peer sees kClosed (after
  // the messages sent before). Waits briefly (bounded by peer_timeout) for the goodbye to go out.
  virtual void Close() = 0;
  // Thread-safe: closes and wakes a blocked Poll(), which reports what was flushed and then
  // fails with kAborted. No goodbye: the peer sees kPeerLost (use it to abort, e.g. failover).
  virtual void Shutdown() = 0;
};

class Listener {
 public:
  virtual ~Listener() = default;
  // The bound address, with the real port after listening on port 0.
  virtual std::string uri() const = 0;
  // Accepts one connection; kTimeout when none arrives in time.
  virtual Result<std::unique_ptr<Channel>> Accept(Nanos timeout) = 0;
};

// Connects to / listens on a URI: "tcp://host:port" or "rdma://host:port". Connect() errors:
// kPeerLost when refused or unreachable, kTimeout after options.connect_timeout, kProtocol when
// the other end does not speak the provider's protocol, kUnsupported for a missing provider or
// device, kInvalidArgument for a bad URI or options.
Result<std::unique_ptr<Channel>> Connect(std::string_view uri, const ChannelOptions& options);
Result<std::unique_ptr<Listener>> Listen(std::string_view uri, const ChannelOptions& options);

// Registers memory for the lifetime of the object; deregisters on destruction. The channel must
// outlive it (declare the channel first).
class ScopedRegion {
 public:
  ScopedRegion() = default;
  ScopedRegion(Channel* channel, MemoryRegion region) : channel_(channel), region_(region) {}
  ScopedRegion(ScopedRegion&& other) noexcept
      : channel_(std::exchange(other.channel_, nullptr)), region_(other.region_) {}
  ScopedRegion& operator=(ScopedRegion&& other) noexcept {
    if (this != &other) {
      Reset();
      channel_ = std::exchange(other.channel_, nullptr);
      region_ = other.region_;
    }
    return *this;
  }
  ~ScopedRegion() { Reset(); }

  const MemoryRegion& get() const { return region_; }
  const MemoryRegion* operator->() const { return &region_; }
  void Reset() {
    if (channel_ != nullptr) (void)channel_->DeregisterMemory(region_);
    channel_ = nullptr;
  }

 private:
  Channel* channel_ = nullptr;
  MemoryRegion region_;
};

}  // namespace ftvm::rdma
