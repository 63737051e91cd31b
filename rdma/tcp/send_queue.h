// The initiator's send queue: sequence numbers, slots, and the completions acknowledgements and
// errors produce. Pure bookkeeping (no I/O, no locking: the channel holds its mutex).
//
// Every work request (write or send) takes the next sequence number and one slot. The peer
// acknowledges cumulatively ("every seq < watermark is done"). A done request produces a
// completion only if it was signaled; slots are freed when a signaled completion is *polled*
// (Release), which frees that request and every done request before it, as on a verbs QP.
// Flush() ends the queue after an error: every request not yet done completes (kFlushed, or a
// given status for the one that failed) and all slots are freed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "base/result.h"
#include "rdma/channel.h"

namespace ftvm::rdma::tcp {

inline constexpr uint64_t kNoSeq = UINT64_MAX;

struct QueuedCompletion {
  Completion completion;
  uint64_t release_seq = kNoSeq;  // polling this completion frees slots up to this seq
};

class SendQueue {
 public:
  explicit SendQueue(uint32_t depth) : depth_(depth) {}

  uint32_t depth() const { return depth_; }
  uint32_t free_slots() const { return depth_ - static_cast<uint32_t>(entries_.size()); }
  uint64_t next_seq() const { return next_seq_; }
  uint64_t acked() const { return acked_; }  // every seq < acked() is done
  bool idle() const { return acked_ == next_seq_; }

  // Takes a slot (the caller checked free_slots()); returns the request's seq.
  uint64_t Push(uint64_t wr_id, Opcode opcode, bool signaled);

  // The peer reports every seq < watermark done. Stale (smaller) watermarks are ignored; one
  // beyond next_seq() is a kProtocol error. Appends a kSuccess completion per signaled request.
  Result<void> Acknowledge(uint64_t watermark, std::deque<QueuedCompletion>* out);

  // A completion with release_seq = seq was polled: frees the slots of done requests <= seq.
  void Release(uint64_t seq);

  // Completes every request not yet done: `failed_seq` (if it is one of them) with
  // `failed_status`, the others with kFlushed. Frees every slot.
  void Flush(std::optional<uint64_t> failed_seq, CompletionStatus failed_status,
             std::deque<QueuedCompletion>* out);

 private:
  struct Entry {
    uint64_t wr_id;
    Opcode opcode;
    bool signaled;
  };
  uint32_t depth_;
  std::deque<Entry> entries_;  // entries_[i] has seq base_seq_ + i
  uint64_t base_seq_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t acked_ = 0;
};

}  // namespace ftvm::rdma::tcp
