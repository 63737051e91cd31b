// The initial sync's rounds, sent in slices so that a long round (the first carries all of
// RAM) reports progress and heartbeats as it goes. Each slice is its own ram/ sync round: the
// secondary ORs every round into what its cache covers, so slices add up to the round they came
// from.
#include <algorithm>
#include <bit>

#include "colo/primary.h"

namespace ftvm::colo {
namespace {

uint64_t CountWords(std::span<const uint64_t> words) {
  uint64_t pages = 0;
  for (const uint64_t w : words) pages += static_cast<uint64_t>(std::popcount(w));
  return pages;
}

}  // namespace

Result<ram::RoundSummary> Primary::SendSyncRound(uint32_t round_no, const vmm::DirtyBitmaps& round,
                                                 uint64_t sync_start_ns) {
  const uint64_t round_pages = vmm::CountDirtyPages(round);
  const size_t slice_words = std::max<uint64_t>(1, options_.sync_slice_pages / 64);
  vmm::DirtyBitmaps slice(round.size());
  for (size_t b = 0; b < round.size(); ++b) slice[b].assign(round[b].size(), 0);
  ram::RoundSummary total;
  for (size_t b = 0; b < round.size(); ++b) {
    for (size_t first = 0; first < round[b].size(); first += slice_words) {
      const size_t end = std::min(round[b].size(), first + slice_words);
      const std::span<const uint64_t> words(round[b].data() + first, end - first);
      if (CountWords(words) == 0) continue;
      std::copy(words.begin(), words.end(), slice[b].begin() + static_cast<ptrdiff_t>(first));
      // Each slice is captured into the staging mirror just before it is sent (not the whole
      // round up front: copying all of RAM at once kept the link silent for seconds). The
      // guest runs meanwhile: pages it tears are dirty again for a later round.
      if (staging_) staging_->Capture(slice);
      const std::vector<ram::DirtyBitmap> views(slice.begin(), slice.end());
      FTVM_ASSIGN_OR_RETURN(const ram::RoundSummary s, sender_->SendSyncRound(++ram_id_, views));
      std::fill(slice[b].begin() + static_cast<ptrdiff_t>(first),
                slice[b].begin() + static_cast<ptrdiff_t>(end), 0);
      control_.stats().RecordSync(s.pages_written * vmm::kPageSize, s.zero_pages, s.pages_written);
      total.id = s.id;
      total.dirty_pages += s.dirty_pages;
      total.pages_written += s.pages_written;
      total.zero_pages += s.zero_pages;
      total.ns += s.ns;
      sync_bytes_ += s.pages_written * vmm::kPageSize;
      FTVM_TRY(link_->MaybeHeartbeat(0));
      if (options_.sync_progress) {
        options_.sync_progress({.round = round_no,
                                .round_pages = round_pages,
                                .round_pages_done = total.dirty_pages,
                                .bytes_sent = sync_bytes_,
                                .ram_bytes = options_.machine.ram_bytes,
                                .elapsed_ns = MonotonicNs() - sync_start_ns,
                                .done = false});
      }
    }
  }
  return total;
}

}  // namespace ftvm::colo
