// The tcp provider's Channel: verbs RC semantics (rdma/channel.h) over one or more TCP streams.
//
// Sequence numbers: every work request this side posts takes the next seq; the peer lands
// writes and delivers messages in seq order (rdma/tcp/receive_order.h) and acknowledges
// cumulatively; acknowledgements complete our requests (rdma/tcp/send_queue.h). Frames of one
// post go to the streams round-robin; a message is delivered only once every earlier seq has
// landed, whichever stream carried it.
//
// Locking: mu_ guards the queues, the credits and the state; stream and region-table mutexes
// nest inside it (mu_ -> Stream::mu_ -> RegionTable::mu_), never the other way round. Stream
// threads call the FrameHandler / StreamHost methods, which take mu_ briefly.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "rdma/channel.h"
#include "rdma/tcp/frame.h"
#include "rdma/tcp/frame_reader.h"
#include "rdma/tcp/receive_order.h"
#include "rdma/tcp/region_table.h"
#include "rdma/tcp/send_queue.h"
#include "rdma/tcp/stream.h"

namespace ftvm::rdma::tcp {

struct ChannelSetup {
  std::vector<UniqueFd> sockets;  // connected, handshake done; sockets[i] carries stream i
  ChannelOptions options;         // ours
  Hello peer;                     // the peer's hello (its limits)
  std::string local_uri;
  std::string peer_uri;
};

class TcpChannel final : public Channel, private FrameHandler, private StreamHost {
 public:
  static Result<std::unique_ptr<TcpChannel>> Create(ChannelSetup setup);
  ~TcpChannel() override;

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

 private:
  explicit TcpChannel(const ChannelSetup& setup);

  // FrameHandler (stream receiver threads).
  bool Accepting() const override { return accepting_.load(std::memory_order_relaxed); }
  Result<void> OnWritesLanded(uint64_t first_seq, uint32_t count, bool ack_requested) override;
  void OnWriteRejected(uint64_t seq, NakReason reason, const std::string& detail) override;
  MessageBuffer TakeMessageBuffer() override;
  Result<void> OnMessage(uint64_t seq, MessageBuffer message, bool ack_requested) override;
  Result<void> OnAck(uint64_t watermark, uint64_t consumed) override;
  void OnNak(uint64_t seq, NakReason reason, std::string_view text) override;
  void OnClose() override;
  // StreamHost (stream sender and receiver threads).
  FrameHeader MakeAck() override;
  void OnStreamFailed(uint32_t stream, Error error) override;
  void OnTransmitted(uint32_t stream, size_t frames) override;

  // Leaves kConnected for good: flushes outstanding work (`failed_seq` gets `failed_status`),
  // then either writes `goodbye` on every stream (orderly close, rejection, protocol error) or,
  // when it is empty, cuts every stream at once.
  void FailLocked(Error error, std::vector<std::byte> goodbye,
                  std::optional<uint64_t> failed_seq = std::nullopt,
                  CompletionStatus failed_status = CompletionStatus::kFlushed);
  Result<void> CheckPostableLocked(size_t requests) const;
  OutFrame BuildWritesFrameLocked(std::span<const WriteRequest> writes);
  // `inline_ok`: the posting thread may write the frame itself when its stream is idle (a
  // single small post); frames dispatched in bulk go to the sender threads, which batch them.
  void DispatchLocked(OutFrame frame, bool inline_ok);
  void TransmitLocked(OutFrame frame, bool inline_ok);
  uint64_t CreditsLocked() const;
  // Completes requests the peer acknowledged and our senders finished transmitting.
  Result<void> CompleteLocked();
  void LandedLocked(std::vector<MessageBuffer>& ready);
  void Recycle(MessageBuffer buffer);
  void StopStreams(std::chrono::milliseconds linger);

  ChannelInfo info_;
  ChannelOptions options_;
  Hello peer_;
  RegionTable regions_;

  mutable std::mutex mu_;
  std::condition_variable completions_cv_;
  ChannelState state_ = ChannelState::kConnected;
  std::optional<Error> error_;
  std::atomic<bool> accepting_{true};
  SendQueue sq_;
  std::deque<QueuedCompletion> cq_;
  std::deque<OutFrame> blocked_;  // posted behind a send that waits for a credit (FIFO)
  uint64_t sends_transmitted_ = 0;
  uint64_t peer_watermark_ = 0;  // the peer acknowledged every seq below this
  // Per stream: first seq of each frame queued there and not yet written (oldest first).
  std::vector<std::deque<uint64_t>> unsent_;
  uint64_t peer_consumed_ = 0;  // of our messages, as the peer last reported
  ReceiveOrder order_;
  uint64_t consumed_reported_ = 0;
  uint64_t ack_wanted_end_ = 0;  // a signaled peer request ends here: acknowledge through it
  uint64_t ack_requested_at_ = 0;
  std::mutex pool_mu_;  // a leaf lock, so receivers get buffers without contending for mu_
  std::vector<MessageBuffer> buffer_pool_;
  std::vector<MessageBuffer> ready_;  // scratch for delivered messages
  size_t next_stream_ = 0;
  std::atomic<uint64_t> watermark_{0};
  std::atomic<uint64_t> consumed_{0};

  std::vector<std::unique_ptr<Stream>> streams_;  // last: destroyed (joined) first
};

}  // namespace ftvm::rdma::tcp
