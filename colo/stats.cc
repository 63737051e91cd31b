#include "colo/stats.h"

#include "base/time.h"

namespace ftvm::colo {

std::string_view PhaseStatName(Phase phase) {
  switch (phase) {
    case Phase::kWait:
      return "wait_time";
    case Phase::kStat:
      return "stat_time";
    case Phase::kRam:
      return "ram_time";
    case Phase::kDev:
      return "dev_time";
    case Phase::kPut:
      return "put_time";
    case Phase::kRecv:
      return "recv_time";
    case Phase::kLoad:
      return "load_time";
    case Phase::kResume:
      return "resume_time";
  }
  return "?";
}

CheckpointStats::CheckpointStats() : start_ns_(MonotonicNs()) {}

void CheckpointStats::RecordCheckpoint(const CheckpointSample& sample, uint64_t total_ns) {
  std::lock_guard lock(mu_);
  ++tot_num_;
  tot_time_ += total_ns;
  for (size_t i = 0; i < kPhaseCount; ++i) {
    phase_sum_[i] += sample.phase_ns[i];
    phase_hist_[i].Record(sample.phase_ns[i]);
  }
  downtime_.Record(sample.downtime_ns);
  last_downtime_ns_ = sample.downtime_ns;
  dev_bytes_sum_ += sample.dev_bytes;
  ram_bytes_sum_ += sample.ram_bytes;
  transferred_ += sample.ram_bytes;
  zero_pages_ += sample.zero_pages;
  normal_pages_ += sample.normal_pages;
}

void CheckpointStats::RecordSync(uint64_t bytes, uint64_t zero_pages, uint64_t normal_pages) {
  std::lock_guard lock(mu_);
  transferred_ += bytes;
  zero_pages_ += zero_pages;
  normal_pages_ += normal_pages;
}

void CheckpointStats::RecordDirtySync(uint64_t dirty_pages, uint64_t interval_ns) {
  std::lock_guard lock(mu_);
  ++dirty_syncs_;
  if (interval_ns > 0) {
    dirty_pages_rate_ = static_cast<uint64_t>(static_cast<double>(dirty_pages) * 1e9 /
                                              static_cast<double>(interval_ns));
  }
}

void CheckpointStats::SetInitTime(uint64_t ns) {
  std::lock_guard lock(mu_);
  init_ns_ = ns;
}

void CheckpointStats::Reset() {
  std::lock_guard lock(mu_);
  tot_num_ = 0;
  tot_time_ = 0;
  phase_sum_ = {};
  dev_bytes_sum_ = 0;
  ram_bytes_sum_ = 0;
  last_downtime_ns_ = 0;
  downtime_.Reset();
  for (auto& h : phase_hist_) h.Reset();
  transferred_ = 0;
  zero_pages_ = 0;
  normal_pages_ = 0;
  dirty_syncs_ = 0;
  dirty_pages_rate_ = 0;
}

StatsSnapshot CheckpointStats::Snapshot(std::string_view status) const {
  std::lock_guard lock(mu_);
  StatsSnapshot s;
  const uint64_t n = tot_num_;
  auto per = [n](uint64_t sum) { return n == 0 ? 0 : sum / n; };
  s.tot_num = n;
  s.tot_time = tot_time_;
  s.avg_time = per(tot_time_);
  s.init_time = init_ns_;
  for (size_t i = 0; i < kPhaseCount; ++i) {
    s.phase_avg[i] = per(phase_sum_[i]);
    s.phase_pct[i] = {phase_hist_[i].Percentile(0.5), phase_hist_[i].Percentile(0.99),
                      phase_hist_[i].max()};
  }
  s.dev_size = per(dev_bytes_sum_);
  s.ram_size = per(ram_bytes_sum_);
  s.downtime = {downtime_.Percentile(0.5), downtime_.Percentile(0.99), downtime_.max()};
  s.last_downtime_ns = last_downtime_ns_;

  MigrationInfo& info = s.info;
  info.status = std::string(status);
  const uint64_t elapsed_ns = MonotonicNs() - start_ns_;
  info.total_time_ms = elapsed_ns / 1'000'000;
  info.transferred = transferred_;
  info.duplicate = zero_pages_;
  info.normal = normal_pages_;
  info.normal_bytes = normal_pages_ * info.page_size;
  info.dirty_sync_count = dirty_syncs_;
  info.dirty_pages_rate = dirty_pages_rate_;
  info.mbps = elapsed_ns == 0
                  ? 0.0
                  : static_cast<double>(transferred_) * 8.0 * 1e3 / static_cast<double>(elapsed_ns);
  return s;
}

}  // namespace ftvm::colo
