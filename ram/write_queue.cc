#include "ram/write_queue.h"

#include <algorithm>

#include "base/check.h"
#include "ram/wire.h"

namespace ftvm::ram {

namespace {
constexpr size_t kPollBatch = 64;
}  // namespace

ErrorCode CodeOf(rdma::CompletionStatus status) {
  switch (status) {
    case rdma::CompletionStatus::kSuccess:
      return ErrorCode::kInternal;
    case rdma::CompletionStatus::kRemoteAccessError:
      return ErrorCode::kRemoteAccess;
    case rdma::CompletionStatus::kLocalProtectionError:
      return ErrorCode::kInvalidArgument;
    case rdma::CompletionStatus::kPeerLost:
      return ErrorCode::kPeerLost;
    case rdma::CompletionStatus::kProtocolError:
      return ErrorCode::kProtocol;
    case rdma::CompletionStatus::kFlushed:
      return ErrorCode::kFlushed;
  }
  return ErrorCode::kInternal;
}

WriteQueue::WriteQueue(rdma::Channel* channel, uint32_t max_in_flight, uint32_t signal_interval,
                       ForeignHandler foreign)
    : channel_(channel),
      max_in_flight_(std::max(max_in_flight, 2u)),
      signal_interval_(std::clamp(signal_interval, 1u, std::max(max_in_flight, 2u) / 2)),
      foreign_(std::move(foreign)),
      completions_(kPollBatch) {
  batch_.reserve(signal_interval_);
}

Result<uint64_t> WriteQueue::Write(const WriteSpec& w, Nanos timeout) {
  if (in_flight() >= max_in_flight_) FTVM_TRY(WaitForRoom(timeout));
  const uint64_t seq = ++assigned_;
  batch_.push_back(rdma::WriteRequest{kRamWrIdTag | seq, w.local_addr, w.lkey, w.length,
                                      w.remote_addr, w.rkey, /*signaled=*/false});
  ++writes_queued_;
  peak_writes_ = std::max(peak_writes_, writes_queued_ - writes_done_);
  if (batch_.size() >= signal_interval_) FTVM_TRY(PostBatch(timeout));
  return seq;
}

Result<void> WriteQueue::PostBatch(Nanos timeout) {
  if (batch_.empty()) return {};
  batch_.back().signaled = true;
  const Deadline deadline(timeout);
  for (;;) {
    auto posted = channel_->PostWrites(batch_);
    if (posted) break;
    // The provider's queue is shared with colo/: when it is full, retire something and retry.
    if (posted.error().code() != ErrorCode::kResourceExhausted || deadline.expired()) {
      return Fail(Cause(std::move(posted.error())).Wrap("post writes"));
    }
    FTVM_TRY(Poll(deadline.remaining()));
  }
  signaled_.emplace_back(batch_.back().wr_id & kRamWrIdSeqMask, writes_queued_);
  batch_.clear();
  return {};
}

Result<uint64_t> WriteQueue::Send(std::span<const std::byte> message, Nanos timeout) {
  FTVM_TRY(PostBatch(timeout));
  if (in_flight() >= max_in_flight_) FTVM_TRY(WaitForRoom(timeout));
  const uint64_t seq = assigned_ + 1;
  const Deadline deadline(timeout);
  for (;;) {
    auto sent = channel_->PostSend(message, kRamWrIdTag | seq, /*signaled=*/true);
    if (sent) break;
    if (sent.error().code() != ErrorCode::kResourceExhausted || deadline.expired()) {
      return Fail(Cause(std::move(sent.error())).Wrap("post send"));
    }
    FTVM_TRY(Poll(deadline.remaining()));
  }
  assigned_ = seq;
  signaled_.emplace_back(seq, writes_queued_);
  return seq;
}

Error WriteQueue::Cause(Error error) const {
  // A post into a failed channel says kFlushed; the channel's sticky error says why it failed.
  if (error.code() == ErrorCode::kFlushed) {
    if (auto cause = channel_->error()) return std::move(*cause);
  }
  return error;
}

Result<void> WriteQueue::WaitForRoom(Nanos timeout) {
  FTVM_TRY(PostBatch(timeout));
  const Deadline deadline(timeout);
  while (in_flight() >= max_in_flight_) {
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "no write completion for {} ms ({} in flight)",
                  std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(),
                  in_flight());
    }
    FTVM_TRY(Poll(deadline.remaining()));
  }
  return {};
}

Result<void> WriteQueue::Drain(Nanos timeout) {
  FTVM_TRY(PostBatch(timeout));
  const Deadline deadline(timeout);
  while (completed_ < assigned_) {
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "flush: {} work requests still in flight", in_flight());
    }
    FTVM_TRY(Poll(deadline.remaining()));
  }
  return {};
}

Result<size_t> WriteQueue::Poll(Nanos timeout) {
  FTVM_ASSIGN_OR_RETURN(const size_t n, channel_->Poll(completions_, timeout));
  for (size_t i = 0; i < n; ++i) FTVM_TRY(OnCompletion(completions_[i]));
  return n;
}

Result<void> WriteQueue::OnCompletion(rdma::Completion& c) {
  if (c.opcode == rdma::Opcode::kRecv) {
    if (c.status == rdma::CompletionStatus::kSuccess && IsRamMessage(c.message)) {
      inbox_.push_back(std::move(c.message));
      c.message = {};
    } else {
      foreign_(std::move(c));
    }
    return {};
  }
  if (!IsRamWorkRequest(c.wr_id)) {
    foreign_(std::move(c));
    return {};
  }
  const uint64_t seq = c.wr_id & kRamWrIdSeqMask;
  if (c.status != rdma::CompletionStatus::kSuccess) {
    return Fail(CodeOf(c.status), "{} seq {} failed: {}",
                c.opcode == rdma::Opcode::kWrite ? "write" : "send", seq,
                rdma::CompletionStatusName(c.status));
  }
  Retire(seq);
  return {};
}

void WriteQueue::Retire(uint64_t seq) {
  FTVM_CHECK(seq <= assigned_, "completion for seq {} never posted (last {})", seq, assigned_);
  completed_ = std::max(completed_, seq);
  while (!signaled_.empty() && signaled_.front().first <= seq) {
    writes_done_ = signaled_.front().second;
    signaled_.pop_front();
  }
}

}  // namespace ftvm::ram
