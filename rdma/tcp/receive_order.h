// The target's view of the peer's work requests: which sequence numbers have landed, and when a
// received message may be delivered. Pure bookkeeping (the channel holds its mutex).
//
// With several streams, frames arrive out of order across streams. A message (kSend) with seq s
// is delivered only when every seq < s has landed: this is what makes "writes, then the message
// that says they are there" safe over several streams (verbs RC ordering). The watermark is the
// first seq not yet landed; everything below it is done and is what the target acknowledges.
//
// The peer must stay within its send queue depth (seqs in [watermark, watermark + window)) and
// our receive credits (messages received but not yet consumed); anything else, or a range that
// overlaps one already received, is a kProtocol error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/result.h"

namespace ftvm::rdma::tcp {

using MessageBuffer = std::vector<std::byte>;

class ReceiveOrder {
 public:
  ReceiveOrder(uint64_t window, uint32_t recv_credits)
      : window_(window), recv_credits_(recv_credits) {}

  // Records seqs [first, first + count) as landed; with `message`, that one seq (count 1) is a
  // message. Appends every message that became deliverable, in order, to `ready`.
  Result<void> Add(uint64_t first, uint64_t count, std::optional<MessageBuffer> message,
                   std::vector<MessageBuffer>* ready);

  // A delivered message was consumed by the application: its credit is free again.
  void Consume() { ++consumed_; }

  uint64_t watermark() const { return watermark_; }
  uint64_t consumed() const { return consumed_; }
  // Drops undelivered messages (after an error), returning their buffers for reuse.
  void Clear(std::vector<MessageBuffer>* buffers);

 private:
  struct Pending {
    uint64_t end;
    std::optional<MessageBuffer> message;
  };
  Result<void> CheckRange(uint64_t first, uint64_t count) const;

  uint64_t window_;
  uint32_t recv_credits_;
  uint64_t watermark_ = 0;
  uint64_t received_messages_ = 0;
  uint64_t consumed_ = 0;
  std::map<uint64_t, Pending> pending_;  // landed ranges above the watermark, by first seq
};

}  // namespace ftvm::rdma::tcp
