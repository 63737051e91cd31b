#include "ram/stats.h"

namespace ftvm::ram {

std::vector<std::pair<std::string_view, uint64_t>> Fields(const RamStats& s) {
  return {
      {"checkpoints", s.checkpoints},
      {"sync_rounds", s.sync_rounds},
      {"commits", s.commits},
      {"discards", s.discards},
      {"verify_failures", s.verify_failures},
      {"dirty_pages", s.dirty_pages},
      {"pages_written", s.pages_written},
      {"bytes_written", s.bytes_written},
      {"merged_runs", s.merged_runs},
      {"zero_pages", s.zero_pages},
      {"zero_ranges", s.zero_ranges},
      {"compress_messages", s.compress_messages},
      {"peak_writes_in_flight", s.peak_writes_in_flight},
      {"registrations", s.registrations},
      {"unregistrations", s.unregistrations},
      {"register_requests", s.register_requests},
      {"pinned_bytes", s.pinned_bytes},
      {"peak_pinned_bytes", s.peak_pinned_bytes},
      {"last_transfer_ns", s.last_transfer_ns},
      {"last_transfer_bytes", s.last_transfer_bytes},
      {"last_transfer_rate_bps", s.last_transfer_rate_bps},
      {"last_commit_ns", s.last_commit_ns},
      {"last_commit_bytes", s.last_commit_bytes},
      {"total_transfer_ns", s.total_transfer_ns},
      {"committed_bytes", s.committed_bytes},
  };
}

}  // namespace ftvm::ram
