// Per-phase checkpoint statistics, with the names operators know from COLO tooling.
//
// Both sides record one CheckpointSample per committed checkpoint. Names and units (nanoseconds,
// bytes) are fixed by the control protocol:
//   tot_num      checkpoints                  tot_time   total time in checkpoint transactions
//   avg_time     tot_time / tot_num           init_time  setup until COLO mode
//   wait_time    waiting for the next checkpoint
//   stat_time    request/reply and stop       dev_time   device-state save (load on secondary)
//   ram_time     RAM transfer                 put_time   device-state transfer
//   recv_time    waiting for `received`       load_time  waiting for `loaded`
//   resume_time  resume                       dev_size / ram_size  bytes per checkpoint
// The per-phase values in a snapshot are per-checkpoint averages (0 before the first
// checkpoint, never a division by zero); percentiles (p50/p99/max) come from histograms over
// every checkpoint since the last reset. The migration-info block counts the initial sync too.
//
// Thread-safety: CheckpointStats is internally locked; the engine thread records, the control
// thread takes snapshots and resets.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "base/histogram.h"

namespace ftvm::colo {

// The timed phases of one checkpoint transaction, in order.
enum class Phase : uint8_t {
  kWait,    // waiting for the trigger
  kStat,    // request/reply and stop
  kRam,     // RAM transfer
  kDev,     // device-state save (primary) or load (secondary)
  kPut,     // device-state transfer
  kRecv,    // waiting for `received`
  kLoad,    // waiting for `loaded`
  kResume,  // resume
};
inline constexpr size_t kPhaseCount = 8;
// "wait_time", "stat_time", ...
std::string_view PhaseStatName(Phase phase);

struct CheckpointSample {
  std::array<uint64_t, kPhaseCount> phase_ns{};  // indexed by Phase
  uint64_t downtime_ns = 0;                      // guest paused (primary: stop -> resume)
  uint64_t dev_bytes = 0;
  uint64_t ram_bytes = 0;     // bytes that crossed the wire as page data
  uint64_t dirty_pages = 0;   // pages in this checkpoint's dirty set
  uint64_t zero_pages = 0;    // sent as compress messages
  uint64_t normal_pages = 0;  // sent as data
  uint64_t& operator[](Phase p) { return phase_ns[static_cast<size_t>(p)]; }
};

struct Percentiles {
  uint64_t p50 = 0, p99 = 0, max = 0;
};

struct MigrationInfo {
  std::string status;          // the COLO status name (setup, sync, colo, ...)
  uint64_t total_time_ms = 0;  // since the engine started
  uint64_t transferred = 0;    // bytes of page data, initial sync included
  uint64_t duplicate = 0;      // zero pages (sent as compress messages)
  uint64_t normal = 0;         // pages sent as data
  uint64_t normal_bytes = 0;
  uint64_t page_size = 4096;
  uint64_t dirty_sync_count = 0;  // dirty-log harvests
  uint64_t dirty_pages_rate = 0;  // pages/s over the last checkpoint interval
  double mbps = 0;                // page data rate over the whole run, megabits per second
};

struct StatsSnapshot {
  uint64_t tot_num = 0;
  uint64_t tot_time = 0;
  uint64_t avg_time = 0;
  uint64_t init_time = 0;
  std::array<uint64_t, kPhaseCount> phase_avg{};  // wait_time .. resume_time
  uint64_t dev_size = 0;
  uint64_t ram_size = 0;
  Percentiles downtime;
  std::array<Percentiles, kPhaseCount> phase_pct{};
  uint64_t last_downtime_ns = 0;
  MigrationInfo info;
  uint64_t avg(Phase p) const { return phase_avg[static_cast<size_t>(p)]; }
  const Percentiles& pct(Phase p) const { return phase_pct[static_cast<size_t>(p)]; }
};

class CheckpointStats {
 public:
  CheckpointStats();

  // One committed checkpoint: `total_ns` is the whole transaction (request to resumed).
  void RecordCheckpoint(const CheckpointSample& sample, uint64_t total_ns);
  // Page data moved outside checkpoints (initial sync rounds).
  void RecordSync(uint64_t bytes, uint64_t zero_pages, uint64_t normal_pages);
  void RecordDirtySync(uint64_t dirty_pages, uint64_t interval_ns);
  void SetInitTime(uint64_t ns);

  // Zeroes the checkpoint counters and histograms (init_time and the start time stay).
  void Reset();
  StatsSnapshot Snapshot(std::string_view status) const;

 private:
  mutable std::mutex mu_;
  uint64_t start_ns_;
  uint64_t init_ns_ = 0;
  uint64_t tot_num_ = 0;
  uint64_t tot_time_ = 0;
  std::array<uint64_t, kPhaseCount> phase_sum_{};
  uint64_t dev_bytes_sum_ = 0;
  uint64_t ram_bytes_sum_ = 0;
  uint64_t last_downtime_ns_ = 0;
  Histogram downtime_;
  std::array<Histogram, kPhaseCount> phase_hist_;
  // Migration-info counters.
  uint64_t transferred_ = 0;
  uint64_t zero_pages_ = 0;
  uint64_t normal_pages_ = 0;
  uint64_t dirty_syncs_ = 0;
  uint64_t dirty_pages_rate_ = 0;
};

}  // namespace ftvm::colo
