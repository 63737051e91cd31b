// The verbs provider's Channel: rdma/channel.h over one RC queue pair made by librdmacm.
//
// Work requests: user writes and sends, and internal messages (keepalive, credit, goodbye; see
// protocol.h) share the QP. Each posted WR takes the next sequence number (its verbs wr_id) and
// an entry in ring_; a completion for sequence s retires every entry up to s (earlier
// unsignaled ones succeeded silently, as verbs defines). Messages are always signaled on the QP
// so their send buffers recycle; the user sees a completion only for what it asked to be
// signaled, and for every failure. User send-queue slots (options.send_queue_depth) are freed
// when the user polls a completion, which frees every earlier user request too.
// Sends wait in held_ (as do all later posts, keeping RC order) while the peer has no free
// receive buffer for them (credits) or no send buffer is free.
//
// Threads: the user's thread (one at a time, rdma/channel.h), and a progress thread that sleeps
// on the completion channel (event mode; in busy-poll mode the user's Poll spins on the CQ), the
// CM event channel and a timer: it harvests completions, handles internal messages, sends
// keepalives, detects a silent peer and a disconnect. mu_ guards all state below it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/unique_fd.h"
#include "rdma/channel.h"
#include "rdma/verbs/policy.h"
#include "rdma/verbs/protocol.h"
#include "rdma/verbs/queue_pair.h"
#include "rdma/verbs/raii.h"

namespace ftvm::rdma::verbs {

// What connection establishment hands to the channel (connected, receive buffers posted).
struct ChannelSetup {
  EventChannelPtr events;  // this connection's own CM event channel
  CmIdPtr id;
  QueuePair qp;
  BufferPool recv_buffers;  // all posted, wr_id = kRecvTag | slot
  ChannelOptions options;
  Hello peer;
  std::string local_uri;
  std::string peer_uri;
  std::string device;  // "rxe0:1"
};

class VerbsChannel final : public Channel {
 public:
  static Result<std::unique_ptr<VerbsChannel>> Create(ChannelSetup setup);
  ~VerbsChannel() override;

  const ChannelInfo& info() const override { return info_; }
  ChannelState state() const override;
  std::optional<Error> error() const override;
  Result<MemoryRegion> RegisterMemory(std::span<std::byte> memory, uint32_t access) override;
  Result<void> DeregisterMemory(const MemoryRegion& region) override;
  Result<void> PostWrites(std::span<const WriteRequest> writes) override;
  Result<void> PostSend(std::span<const std::byte> message, uint64_t wr_id,
                        bool signaled = false) override;
  Result<size_t> Poll(std::span<Completion> out, Nanos timeout) override;
  void Close() override;
  void Shutdown() override;

  // Receive work requests carry this bit in their wr_id (error completions have no opcode).
  static constexpr uint64_t kRecvTag = 1ull << 63;

 private:
  enum class WrKind : uint8_t { kWrite, kSend, kInternal };
  struct SendEntry {
    uint64_t seq = 0;
    WrKind kind = WrKind::kWrite;
    bool user_signaled = false;
    MessageKind message = MessageKind::kUser;
    int32_t send_slot = -1;  // send buffer in use, or -1 (inline, or a write)
    uint64_t wr_id = 0;      // the user's
    uint64_t ordinal = 0;    // the user's request count at posting
  };
  struct Held {  // a user request waiting behind a send without credit or buffer
    bool is_send = false;
    WriteRequest write;
    std::vector<std::byte> message;
    uint64_t wr_id = 0;
    bool signaled = false;
    uint64_t ordinal = 0;
  };
  struct Ready {  // a completion for the user, in order
    uint64_t wr_id = 0;
    Opcode opcode = Opcode::kWrite;
    CompletionStatus status = CompletionStatus::kSuccess;
    uint64_t ordinal = 0;         // send side: frees user slots through this request
    int32_t recv_slot = -1;       // kRecv: the buffer holding the message
    uint32_t length = 0;          // kRecv: payload bytes
    bool awaits_verdict = false;  // a remote access error that may be the peer's death
  };
  struct UserRegion {
    MemoryRegion region;
    Registration registration;
  };

  explicit VerbsChannel(ChannelSetup setup);
  Result<void> Start();

  // verbs_channel.cc: posting.
  Result<void> CheckPostableLocked(size_t requests) const;
  Result<void> CheckWriteLocked(const WriteRequest& w) const;
  Result<void> PostWriteChainLocked(std::span<const WriteRequest> writes, uint64_t first_ordinal);
  bool CanPostMessageLocked(bool internal, size_t payload_bytes) const;
  Result<void> PostMessageLocked(MessageKind kind, std::span<const std::byte> payload,
                                 uint64_t wr_id, bool user_signaled, uint64_t ordinal);
  bool SendInternalLocked(MessageKind kind);
  void PostHeldLocked();
  void RepostLocked(uint32_t slot, bool user);

  // verbs_completions.cc: completions, delivery, failure.
  void HarvestLocked();
  void OnSendCompletionLocked(uint64_t seq, int wc_status, uint32_t vendor_err);
  void OnRecvCompletionLocked(uint32_t slot, int wc_status, uint32_t byte_len);
  size_t DeliverLocked(std::span<Completion> out);
  void FinishFlushLocked();
  bool DrainedLocked() const { return ready_.empty() && ring_.empty() && held_.empty(); }
  void FailLocked(Error error, ChannelState next, bool disconnect = true);
  void DisconnectLocked();
  void StartAccessVerdictLocked();
  void ResolveAccessVerdictLocked(bool peer_disconnected);

  // verbs_progress.cc: the progress thread.
  void ProgressLoop();
  void OnCompletionEventLocked();
  void OnCmEventsLocked();
  void KeepaliveLocked(uint64_t now_ns);
  void Wake();

  // Declared in creation order: destroyed in reverse (MRs, then QP/CQ/PD, then id, channel).
  EventChannelPtr events_;
  CmIdPtr id_;
  QueuePair qp_;
  BufferPool recv_;
  BufferPool send_;
  ChannelOptions options_;
  Hello peer_;
  ChannelInfo info_;
  uint32_t max_inline_ = 0;
  uint64_t keepalive_ns_ = 0;
  uint64_t peer_timeout_ns_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  ChannelState state_ = ChannelState::kConnected;
  std::optional<Error> error_;
  uint64_t failed_at_ns_ = 0;
  std::unordered_map<uint32_t, UserRegion> regions_;  // by lkey
  std::deque<SendEntry> ring_;
  std::deque<Held> held_;
  std::deque<Ready> ready_;
  std::vector<int32_t> free_send_slots_;
  uint64_t next_seq_ = 0;
  uint64_t user_posted_ = 0;  // user requests accepted (posted or held)
  uint64_t user_freed_ = 0;   // user requests whose slots a polled completion freed
  uint32_t internal_outstanding_ = 0;
  SendCredits credits_;
  uint32_t reposted_ = 0;    // receive buffers re-posted (cumulative, announced in headers)
  uint32_t owed_user_ = 0;   // user buffers re-posted since the last announcement
  uint64_t last_rx_ns_ = 0;  // last message from the peer
  uint64_t last_tx_ns_ = 0;  // last message to the peer
  bool goodbye_done_ = false;
  bool disconnected_ = false;            // we called rdma_disconnect
  bool access_verdict_pending_ = false;  // see StartAccessVerdictLocked
  uint64_t access_verdict_at_ns_ = 0;
  std::vector<ibv_send_wr> wr_scratch_;
  std::vector<ibv_sge> sge_scratch_;

  bool stop_ = false;
  UniqueFd wake_fd_;
  std::thread progress_;  // last: stopped (in the destructor body) before anything else goes
};

}  // namespace ftvm::rdma::verbs
