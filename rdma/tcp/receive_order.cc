#include "rdma/tcp/receive_order.h"

#include <iterator>
#include <utility>

namespace ftvm::rdma::tcp {

Result<void> ReceiveOrder::CheckRange(uint64_t first, uint64_t count) const {
  if (count == 0 || first < watermark_ || first - watermark_ >= window_ ||
      count > window_ - (first - watermark_)) {
    return Fail(ErrorCode::kProtocol, "seqs [{}, +{}) outside the window [{}, +{})", first, count,
                watermark_, window_);
  }
  const uint64_t end = first + count;
  auto next = pending_.lower_bound(first);
  if (next != pending_.end() && next->first < end) {
    return Fail(ErrorCode::kProtocol, "seqs [{}, {}) received twice", first, end);
  }
  if (next != pending_.begin() && std::prev(next)->second.end > first) {
    return Fail(ErrorCode::kProtocol, "seqs [{}, {}) received twice", first, end);
  }
  return {};
}

Result<void> ReceiveOrder::Add(uint64_t first, uint64_t count, std::optional<MessageBuffer> message,
                               std::vector<MessageBuffer>* ready) {
  FTVM_TRY(CheckRange(first, count));
  if (message) {
    if (count != 1) return Fail(ErrorCode::kInternal, "a message takes one seq");
    if (received_messages_ - consumed_ >= recv_credits_) {
      return Fail(ErrorCode::kProtocol, "message seq {} beyond the credit window of {}", first,
                  recv_credits_);
    }
    ++received_messages_;
  }
  if (first != watermark_) {
    pending_.emplace(first, Pending{first + count, std::move(message)});
    return {};
  }
  watermark_ = first + count;
  if (message) ready->push_back(std::move(*message));
  for (auto it = pending_.begin(); it != pending_.end() && it->first == watermark_;
       it = pending_.erase(it)) {
    watermark_ = it->second.end;
    if (it->second.message) ready->push_back(std::move(*it->second.message));
  }
  return {};
}

void ReceiveOrder::Clear(std::vector<MessageBuffer>* buffers) {
  for (auto& [seq, p] : pending_) {
    if (p.message) buffers->push_back(std::move(*p.message));
  }
  pending_.clear();
}

}  // namespace ftvm::rdma::tcp
