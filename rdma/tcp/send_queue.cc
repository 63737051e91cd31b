#include "rdma/tcp/send_queue.h"

namespace ftvm::rdma::tcp {

uint64_t SendQueue::Push(uint64_t wr_id, Opcode opcode, bool signaled) {
  entries_.push_back(Entry{wr_id, opcode, signaled});
  return next_seq_++;
}

Result<void> SendQueue::Acknowledge(uint64_t watermark, std::deque<QueuedCompletion>* out) {
  if (watermark > next_seq_) {
    return Fail(ErrorCode::kProtocol, "peer acknowledged seq {} but only {} were posted", watermark,
                next_seq_);
  }
  for (; acked_ < watermark; ++acked_) {
    const Entry& e = entries_[acked_ - base_seq_];
    if (!e.signaled) continue;
    QueuedCompletion q;
    q.completion.wr_id = e.wr_id;
    q.completion.opcode = e.opcode;
    q.completion.status = CompletionStatus::kSuccess;
    q.release_seq = acked_;
    out->push_back(std::move(q));
  }
  return {};
}

void SendQueue::Release(uint64_t seq) {
  while (!entries_.empty() && base_seq_ <= seq && base_seq_ < acked_) {
    entries_.pop_front();
    ++base_seq_;
  }
}

void SendQueue::Flush(std::optional<uint64_t> failed_seq, CompletionStatus failed_status,
                      std::deque<QueuedCompletion>* out) {
  for (uint64_t seq = acked_; seq < next_seq_; ++seq) {
    const Entry& e = entries_[seq - base_seq_];
    QueuedCompletion q;
    q.completion.wr_id = e.wr_id;
    q.completion.opcode = e.opcode;
    q.completion.status =
        failed_seq && *failed_seq == seq ? failed_status : CompletionStatus::kFlushed;
    out->push_back(std::move(q));
  }
  entries_.clear();
  base_seq_ = next_seq_;
  acked_ = next_seq_;
}

}  // namespace ftvm::rdma::tcp
