// Counters of RAM replication, kept by both RamSender (primary) and RamReceiver (secondary).
// colo/ copies them into its per-checkpoint stats; control/ exports them by name (Fields()).
// Totals since setup unless named last_*. A plain value: copy it from the owning thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace ftvm::ram {

struct RamStats {
  uint64_t checkpoints = 0;  // sender: checkpoints sent; receiver: checkpoints fully received
  uint64_t sync_rounds = 0;  // rounds of the initial sync (before the first checkpoint)
  uint64_t commits = 0;      // receiver: committed; sender: acknowledged as committed
  uint64_t discards = 0;     // discarded (incomplete or aborted) checkpoints
  uint64_t verify_failures = 0;

  // Data movement (sender counts what it sent, receiver what the dirty sets announced).
  uint64_t dirty_pages = 0;    // pages in checkpoint dirty sets
  uint64_t pages_written = 0;  // pages sent by RDMA WRITE
  uint64_t bytes_written = 0;
  uint64_t merged_runs = 0;  // RDMA WRITEs posted (each a run of contiguous dirty pages)
  uint64_t zero_pages = 0;   // pages sent as compress entries instead of data
  uint64_t zero_ranges = 0;  // compress entries (all-zero runs or chunks)
  uint64_t compress_messages = 0;
  uint64_t peak_writes_in_flight = 0;

  // Registration (both sides count their own pins).
  uint64_t registrations = 0;      // chunk (on-demand) or block (pin-all) registrations
  uint64_t unregistrations = 0;    // chunks unregistered under the pinned budget
  uint64_t register_requests = 0;  // RegisterRequest messages (sender) / handled (receiver)
  uint64_t pinned_bytes = 0;
  uint64_t peak_pinned_bytes = 0;

  // Timing of the last checkpoint.
  uint64_t last_transfer_ns = 0;        // sender: SendCheckpoint start to last write completion
  uint64_t last_transfer_bytes = 0;     // data bytes of that checkpoint (written, not zero)
  uint64_t last_transfer_rate_bps = 0;  // bytes per second of dirty data covered (incl. zero)
  uint64_t last_commit_ns = 0;          // receiver: Commit() copy time
  uint64_t last_commit_bytes = 0;
  uint64_t total_transfer_ns = 0;
  uint64_t committed_bytes = 0;  // receiver: bytes copied cache -> guest, all commits
};

// Every field by name, in declaration order ("bytes_written", value), for export.
std::vector<std::pair<std::string_view, uint64_t>> Fields(const RamStats& stats);

}  // namespace ftvm::ram
