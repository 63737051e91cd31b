// RamSender's initial sync: rounds of pages sent while the guest runs (live migration style),
// so that the first checkpoint, taken with the guest paused, only carries what changed since.
#include <algorithm>

#include "base/time.h"
#include "ram/dirty_bitmap.h"
#include "ram/log.h"
#include "ram/sender.h"
#include "ram/verify.h"

namespace ftvm::ram {

Result<RoundSummary> RamSender::SendSyncRound(uint64_t id, std::span<const DirtyBitmap> dirty) {
  FTVM_TRY(Usable());
  if (synced_ || awaiting_ack_ || last_ack_) {
    return Fail(ErrorCode::kInvalidArgument, "sync round {} after the first checkpoint", id);
  }
  if (id <= last_id_) {
    return Fail(ErrorCode::kInvalidArgument, "sync round id {} is not above the last ({})", id,
                last_id_);
  }
  FTVM_TRY(CheckBitmaps(dirty));
  const Stopwatch watch;
  const RamStats before = stats_;
  RoundSummary summary;
  summary.id = id;
  if (covered_.empty()) {
    for (const RamBlock& b : blocks_) covered_.emplace_back(BitmapWords(b.page_count()));
  }
  // The round's pages: exactly `dirty` (no carry: nothing of a round is ever committed).
  for (size_t b = 0; b < blocks_.size(); ++b) {
    std::ranges::fill(effective_[b], 0);
    OrInto(effective_[b], dirty[b], blocks_[b].page_count());
    summary.dirty_pages += CountDirty(effective_[b], blocks_[b].page_count());
  }
  last_id_ = id;
  auto sent = Check([&]() -> Result<void> {
    FTVM_TRY(SendMessage(CheckpointBegin{id, /*full=*/false, /*sync_round=*/true}));
    FTVM_ASSIGN_OR_RETURN(const uint32_t sets, SendDirtySets(id));
    FTVM_TRY(writer_->Write(id, effective_, nullptr));
    FTVM_TRY_CTX(queue_.Drain(options_.reply_timeout), "flush writes");
    return SendMessage(CheckpointEnd{id, sets, summary.dirty_pages, false, 0});
  }());
  if (!sent) return Fail(std::move(sent.error()).Wrap(fmt::format("sync round {}", id)));

  bool all = true;
  for (size_t b = 0; b < blocks_.size(); ++b) {
    OrInto(covered_[b], effective_[b], blocks_[b].page_count());
    all = all && CountDirty(covered_[b], blocks_[b].page_count()) == blocks_[b].page_count();
  }
  covered_all_ = all;
  summary.ns = watch.ElapsedNs();
  summary.pages_written = stats_.pages_written - before.pages_written;
  summary.zero_pages = stats_.zero_pages - before.zero_pages;
  ++stats_.sync_rounds;
  return summary;
}

uint64_t RamSender::HashAllPages() const {
  std::vector<std::span<const std::byte>> memory;
  std::vector<uint32_t> page_sizes;
  std::vector<std::vector<uint64_t>> all;
  for (const RamBlock& b : blocks_) {
    memory.emplace_back(b.host);
    page_sizes.push_back(b.page_size);
    all.emplace_back(BitmapWords(b.page_count()));
    SetAll(all.back(), b.page_count());
  }
  return HashDirtyPages(memory, page_sizes, all);
}

Result<void> RamSender::HandleCompletion(const rdma::Completion& completion) {
  FTVM_TRY(Usable());
  rdma::Completion copy = completion;
  return Check(queue_.Accept(copy));
}

}  // namespace ftvm::ram
