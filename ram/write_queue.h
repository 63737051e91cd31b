// The primary's send queue discipline: many RDMA WRITEs in flight, selective signalling, a
// bounded number of outstanding work requests, and completion tracking by sequence number.
//
// Every work request ram/ posts (writes and control messages) gets the next sequence number;
// its wr_id is kRamWrIdTag | seq, so completions can be told apart from colo/'s on the shared
// channel. Writes are posted in batches of `signal_interval` with only the last one signaled;
// control messages are always signaled. Because a verbs send queue completes in order, the
// completion of seq s retires every work request up to s. Hence the tail of what is posted is
// always signaled and Drain() always terminates.
//
// Poll() hands received ram/ messages to inbox() for the owner to decode, and everything that
// is not ram/'s (colo/ messages, completions of colo/'s own work requests) to the foreign
// handler: nothing is dropped.
//
// Ownership: holds the channel by pointer (must outlive it). Not thread-safe: one thread drives
// the queue and the channel. Errors: a failed completion or poll is returned as an Error whose
// code reflects the completion status (kRemoteAccess, kPeerLost, kFlushed, ...).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "rdma/channel.h"

namespace ftvm::ram {

inline constexpr uint64_t kRamWrIdTag = uint64_t{0x52} << 56;
inline constexpr uint64_t kRamWrIdSeqMask = (uint64_t{1} << 56) - 1;
inline bool IsRamWorkRequest(uint64_t wr_id) { return (wr_id & ~kRamWrIdSeqMask) == kRamWrIdTag; }

// Receives every completion that is not ram/'s. Called from inside Poll().
using ForeignHandler = std::function<void(rdma::Completion&&)>;

struct WriteSpec {
  const std::byte* local_addr = nullptr;
  uint32_t lkey = 0;
  uint32_t length = 0;
  uint64_t remote_addr = 0;
  uint32_t rkey = 0;
};

class WriteQueue {
 public:
  WriteQueue(rdma::Channel* channel, uint32_t max_in_flight, uint32_t signal_interval,
             ForeignHandler foreign);

  // Queues a write and returns its sequence number. When max_in_flight work requests are
  // outstanding, first polls until one retires or `timeout` passes (kTimeout).
  Result<uint64_t> Write(const WriteSpec& write, Nanos timeout);
  // Posts queued writes, then `message` (signaled). Waits for room like Write().
  Result<uint64_t> Send(std::span<const std::byte> message, Nanos timeout);
  // Posts the queued writes (the last one signaled).
  Result<void> PostBatch(Nanos timeout);
  // Polls the channel once, waiting up to `timeout` for something to arrive; returns how many
  // completions it handled (0 on timeout).
  Result<size_t> Poll(Nanos timeout);
  // Posts queued writes and polls until every work request completed (kTimeout if `timeout`
  // passes without all of them completing).
  Result<void> Drain(Nanos timeout);

  uint64_t last_seq() const { return assigned_; }
  size_t unposted() const { return batch_.size(); }
  uint64_t completed_seq() const { return completed_; }
  uint64_t in_flight() const { return assigned_ - completed_; }
  uint64_t peak_writes_in_flight() const { return peak_writes_; }

  // A completion someone else polled off the shared channel (e.g. colo/'s loop): a ram/ work
  // request retires here; anything else goes to the foreign handler.
  Result<void> Accept(rdma::Completion& c) { return OnCompletion(c); }

  // Received ram/ messages, oldest first; the owner pops what it handles.
  std::deque<std::vector<std::byte>>& inbox() { return inbox_; }

 private:
  Result<void> WaitForRoom(Nanos timeout);
  Error Cause(Error error) const;
  Result<void> OnCompletion(rdma::Completion& c);
  void Retire(uint64_t seq);

  rdma::Channel* channel_;
  uint32_t max_in_flight_;
  uint32_t signal_interval_;
  ForeignHandler foreign_;
  std::vector<rdma::WriteRequest> batch_;
  std::vector<rdma::Completion> completions_;
  std::deque<std::pair<uint64_t, uint64_t>> signaled_;  // (seq, writes queued up to it)
  std::deque<std::vector<std::byte>> inbox_;
  uint64_t assigned_ = 0;   // last sequence number handed out
  uint64_t completed_ = 0;  // every seq <= completed_ has completed
  uint64_t writes_queued_ = 0;
  uint64_t writes_done_ = 0;
  uint64_t peak_writes_ = 0;
};

// The error code for a failed completion status.
ErrorCode CodeOf(rdma::CompletionStatus status);

}  // namespace ftvm::ram
