// RamSender's per-checkpoint path: Begin, dirty set, data, flush, End.
#include <algorithm>

#include "base/time.h"
#include "ram/dirty_bitmap.h"
#include "ram/log.h"
#include "ram/sender.h"
#include "ram/verify.h"

namespace ftvm::ram {

namespace {
// Zero words tolerated inside one DirtySet segment before a new segment starts (a segment header
// costs about as much as three words).
constexpr size_t kMaxZeroGapWords = 3;
}  // namespace

Result<CheckpointSummary> RamSender::SendCheckpoint(uint64_t id,
                                                    std::span<const DirtyBitmap> dirty) {
  FTVM_TRY(Usable());
  if (id <= last_id_) {
    return Fail(ErrorCode::kInvalidArgument, "checkpoint id {} is not above the last ({})", id,
                last_id_);
  }
  FTVM_TRY(CheckBitmaps(dirty));
  if (awaiting_ack_) {
    auto acked = WaitForAck(options_.reply_timeout);
    if (!acked) return Fail(std::move(acked.error()).Wrap("ack of the previous checkpoint"));
  }
  auto summary = Check(Transfer(id, dirty));
  if (!summary) {
    Log().warn("checkpoint {} failed: {}", id, summary.error().ToString());
    return Fail(std::move(summary.error()).Wrap(fmt::format("checkpoint {}", id)));
  }
  return summary;
}

Result<void> RamSender::CheckBitmaps(std::span<const DirtyBitmap> dirty) const {
  if (dirty.size() != blocks_.size()) {
    return Fail(ErrorCode::kInvalidArgument, "{} dirty bitmaps for {} blocks", dirty.size(),
                blocks_.size());
  }
  for (size_t b = 0; b < blocks_.size(); ++b) {
    if (dirty[b].size() < BitmapWords(blocks_[b].page_count())) {
      return Fail(ErrorCode::kInvalidArgument, "dirty bitmap of block {} has {} words, needs {}",
                  blocks_[b].name, dirty[b].size(), BitmapWords(blocks_[b].page_count()));
    }
  }
  return {};
}

Result<CheckpointSummary> RamSender::Transfer(uint64_t id, std::span<const DirtyBitmap> dirty) {
  const Stopwatch watch;
  const RamStats before = stats_;
  CheckpointSummary summary;
  summary.id = id;
  summary.full = !synced_;
  BuildEffective(dirty, summary.full);
  uint64_t covered_bytes = 0;
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const uint64_t pages = CountDirty(effective_[b], blocks_[b].page_count());
    summary.dirty_pages += pages;
    covered_bytes += pages * blocks_[b].page_size;
  }
  last_id_ = id;
  FTVM_TRY(SendMessage(CheckpointBegin{id, summary.full}));
  FTVM_ASSIGN_OR_RETURN(const uint32_t sets, SendDirtySets(id));

  // A full checkpoint after sync rounds sends only its own pages, but the secondary commits
  // (and verifies) every page: hash all of them here.
  const bool hash_all = options_.verify && summary.full && covered_all_;
  std::optional<PageHasher> hasher;
  if (options_.verify && !hash_all) hasher.emplace();
  FTVM_TRY(writer_->Write(id, effective_, hasher ? &*hasher : nullptr));
  FTVM_TRY_CTX(queue_.Drain(options_.reply_timeout), "flush writes");
  summary.ns = watch.ElapsedNs();

  const uint64_t hash = hash_all ? HashAllPages() : hasher ? hasher->Digest() : 0;
  FTVM_TRY(SendMessage(CheckpointEnd{id, sets, summary.dirty_pages, options_.verify, hash}));
  // Until the secondary says it committed, these pages may have to go out again.
  std::swap(carry_, effective_);
  awaiting_ack_ = id;
  awaiting_full_ = summary.full;

  summary.pages_written = stats_.pages_written - before.pages_written;
  summary.zero_pages = stats_.zero_pages - before.zero_pages;
  summary.writes = stats_.merged_runs - before.merged_runs;
  ++stats_.checkpoints;
  stats_.dirty_pages += summary.dirty_pages;
  stats_.last_transfer_ns = summary.ns;
  stats_.total_transfer_ns += summary.ns;
  stats_.last_transfer_bytes = stats_.bytes_written - before.bytes_written;
  stats_.last_transfer_rate_bps =
      summary.ns == 0 ? 0
                      : static_cast<uint64_t>(static_cast<double>(covered_bytes) * 1e9 /
                                              static_cast<double>(summary.ns));
  Log().debug("checkpoint {}{}: {} dirty pages, {} written in {} runs, {} zero, {:.3f} ms", id,
              summary.full ? " (full)" : "", summary.dirty_pages, summary.pages_written,
              summary.writes, summary.zero_pages, static_cast<double>(summary.ns) / 1e6);
  return summary;
}

void RamSender::BuildEffective(std::span<const DirtyBitmap> dirty, bool full) {
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const uint64_t pages = blocks_[b].page_count();
    std::vector<uint64_t>& out = effective_[b];
    if (full && !covered_all_) {
      SetAll(out, pages);
      continue;
    }
    std::copy_n(carry_[b].begin(), out.size(), out.begin());
    OrInto(out, dirty[b], pages);
  }
}

Result<uint32_t> RamSender::SendDirtySets(uint64_t id) {
  const size_t max_words =
      (channel_->info().max_message_bytes - kDirtySetOverhead) / sizeof(uint64_t);
  uint32_t sent = 0;
  for (uint32_t b = 0; b < blocks_.size(); ++b) {
    const std::vector<uint64_t>& words = effective_[b];
    size_t at = 0;
    while (at < words.size()) {
      while (at < words.size() && words[at] == 0) ++at;  // skip clean stretches
      if (at == words.size()) break;
      // Extend over non-zero words and short zero gaps, up to one message.
      size_t end = at + 1;
      size_t last_nonzero = at;
      while (end < words.size() && end - at < max_words && end - last_nonzero <= kMaxZeroGapWords) {
        if (words[end] != 0) last_nonzero = end;
        ++end;
      }
      DirtySet set{id, b, static_cast<uint32_t>(at),
                   std::vector<uint64_t>(words.begin() + static_cast<ptrdiff_t>(at),
                                         words.begin() + static_cast<ptrdiff_t>(last_nonzero) + 1)};
      FTVM_TRY(SendMessage(set));
      ++sent;
      at = last_nonzero + 1;
    }
  }
  return sent;
}

}  // namespace ftvm::ram
