#include "bench/colo/colo_cases.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/time.h"
#include "vmm/guest_memory.h"

namespace ftvm::colo::bench {
namespace {

constexpr int kRawRoundsFull = 3;  // raw rounds of the whole guest size per sync row
constexpr int kRawRoundsRate = 5;

rdma::ChannelOptions RawOptions() {
  rdma::ChannelOptions o;
  o.peer_timeout = std::chrono::milliseconds(30'000);
  return o;
}

PairConfig PairFor(const BenchConfig& config, Order order, bool fill) {
  return {.uri = config.uri,
          .ram_bytes = config.ram_bytes,
          .order = order,
          .fill = fill,
          .passive = config.passive,
          .verify = config.verify,
          .precapture_ms = config.precapture_ms,
          .guest_args = {}};
}

ParameterUpdate Period(uint64_t ms) {
  ParameterUpdate u;
  u.checkpoint_delay_ms = ms;
  return u;
}

Result<Spread> WireRounds(Ceilings& ceilings, uint64_t bytes, int rounds) {
  std::vector<uint64_t> ns;
  for (int i = 0; i < rounds; ++i) {
    FTVM_ASSIGN_OR_RETURN(const uint64_t t, ceilings.Wire(bytes));
    ns.push_back(t);
  }
  return SpreadOf(std::move(ns));
}

Result<SyncRow> SyncCase(const BenchConfig& config, Ceilings& ceilings, Order order, bool fill,
                         std::unique_ptr<EnginePair>* keep) {
  std::fprintf(stderr, "colo_bench: %s pair, %s guest: setup + initial sync\n", OrderName(order),
               fill ? "fully written" : "mostly zero");
  SyncRow row;
  row.order = order;
  row.fill = fill;
  // The ceiling runs right before the pair: the pair's memory is not allocated yet.
  FTVM_ASSIGN_OR_RETURN(row.raw, WireRounds(ceilings, config.ram_bytes, kRawRoundsFull));
  FTVM_ASSIGN_OR_RETURN(auto pair, EnginePair::Start(PairFor(config, order, fill)));
  row.setup_ns = pair->setup_ns();
  row.sync_ns = pair->sync_ns();
  const StatsSnapshot s = pair->primary().Stats();
  row.transferred = s.info.transferred;
  row.zero_pages = s.info.duplicate;
  if (keep != nullptr) {
    *keep = std::move(pair);
  } else {
    FTVM_TRY(pair->Stop());
  }
  return row;
}

Result<PauseRow> PauseCase(const BenchConfig& config, Ceilings& ceilings, EnginePair& pair,
                           Order order, uint64_t dirty) {
  std::fprintf(stderr, "colo_bench: %s, %lu dirty pages per epoch, %d epochs\n", OrderName(order),
               static_cast<unsigned long>(dirty), config.epochs);
  const uint64_t bytes = dirty * vmm::kPageSize;
  // One epoch to settle (the first checkpoint after a change of pace), not counted.
  if (dirty > 0) FTVM_TRY(pair.Dirty(dirty));
  FTVM_TRY(pair.Checkpoint());
  pair.primary().ResetStats();
  std::vector<uint64_t> pause, raw, copy, guest;
  for (int e = 0; e < config.epochs; ++e) {
    if (dirty > 0) {
      const Stopwatch writing;
      FTVM_TRY(pair.Dirty(dirty));
      guest.push_back(writing.ElapsedNs());
      // The ceilings move the same bytes while the guest waits, as it does when the
      // checkpoint starts.
      FTVM_ASSIGN_OR_RETURN(const uint64_t wire, ceilings.Wire(bytes));
      raw.push_back(wire);
      copy.push_back(ceilings.Copy(bytes));
    }
    FTVM_ASSIGN_OR_RETURN(const CheckpointSeen seen, pair.Checkpoint());
    pause.push_back(seen.downtime_ns);
  }
  PauseRow row;
  row.order = order;
  row.dirty = dirty;
  row.stats = pair.primary().Stats();
  row.sent_pages = row.stats.ram_size / vmm::kPageSize;
  row.pause = SpreadOf(std::move(pause));
  row.raw = SpreadOf(std::move(raw));
  row.copy = SpreadOf(std::move(copy));
  row.guest = SpreadOf(std::move(guest));
  return row;
}

// The engine's own period; the guest may always run `rate_pages` ahead of where it was at the
// last checkpoint, so no epoch holds more than about that many pages.
Result<RateRow> RateCase(const BenchConfig& config, Ceilings& ceilings, EnginePair& pair,
                         Order order) {
  std::fprintf(stderr, "colo_bench: %s, %lu ms period, %lu pages per epoch, %.0f s\n",
               OrderName(order), static_cast<unsigned long>(config.period_ms),
               static_cast<unsigned long>(config.rate_pages), config.rate_seconds);
  FTVM_TRY(pair.ReleaseAhead(config.rate_pages));
  pair.primary().ResetStats();
  const size_t since = pair.checkpoint_count();
  FTVM_TRY(pair.primary().SetParameters(Period(config.period_ms)));
  const Stopwatch run;
  size_t seen = since;
  while (static_cast<double>(run.ElapsedNs()) < config.rate_seconds * 1e9) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    const size_t now = pair.checkpoint_count();
    if (now != seen) {
      seen = now;
      FTVM_TRY(pair.ReleaseAhead(config.rate_pages));
    }
  }
  const double seconds = static_cast<double>(run.ElapsedNs()) / 1e9;
  const std::vector<CheckpointSeen> done = pair.CheckpointsSince(since);
  FTVM_TRY(pair.primary().SetParameters(Period(kCheckpointDelayMsRange.max)));
  RateRow row;
  row.order = order;
  row.seconds = seconds;
  row.checkpoints = done.size();
  const StatsSnapshot stats = pair.primary().Stats();
  row.sent_pages = stats.ram_size / vmm::kPageSize;
  std::vector<uint64_t> pause;
  for (const CheckpointSeen& c : done) pause.push_back(c.downtime_ns);
  row.pause = SpreadOf(std::move(pause));
  row.avg_total_ns = stats.avg_time;
  if (row.sent_pages > 0) {
    FTVM_ASSIGN_OR_RETURN(row.raw,
                          WireRounds(ceilings, row.sent_pages * vmm::kPageSize, kRawRoundsRate));
  }
  return row;
}

Result<HotRow> HotCase(const BenchConfig& config, Order order) {
  std::fprintf(stderr, "colo_bench: %s, guest rewriting %lu pages, default period, %.0f s\n",
               OrderName(order), static_cast<unsigned long>(config.hot_pages), config.hot_seconds);
  PairConfig pc = PairFor(config, order, false);
  pc.guest_args = fmt::format("size={} stamp=0", config.hot_pages * vmm::kPageSize);
  FTVM_ASSIGN_OR_RETURN(auto pair, EnginePair::Start(pc));
  FTVM_TRY(pair->primary().SetParameters(Period(Parameters{}.checkpoint_delay_ms)));
  pair->primary().ResetStats();
  const size_t since = pair->checkpoint_count();
  const uint64_t written = pair->guest_pages_written();
  const Stopwatch run;
  std::this_thread::sleep_for(std::chrono::duration<double>(config.hot_seconds));
  HotRow row;
  row.order = order;
  row.guest_pages_per_s = static_cast<double>(pair->guest_pages_written() - written) /
                          (static_cast<double>(run.ElapsedNs()) / 1e9);
  const std::vector<CheckpointSeen> done = pair->CheckpointsSince(since);
  row.checkpoints = done.size();
  row.sent_pages = pair->primary().Stats().ram_size / vmm::kPageSize;
  std::vector<uint64_t> pause;
  for (const CheckpointSeen& c : done) pause.push_back(c.downtime_ns);
  row.pause = SpreadOf(std::move(pause));
  FTVM_TRY(pair->Stop());
  return row;
}

}  // namespace

Spread SpreadOf(std::vector<uint64_t> samples) {
  Spread s{.n = samples.size()};
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {  // nearest rank
    const auto i = static_cast<size_t>(q * static_cast<double>(samples.size()) + 0.999999);
    return samples[std::clamp<size_t>(i, 1, samples.size()) - 1];
  };
  s.p50 = rank(0.5);
  s.p99 = rank(0.99);
  s.max = samples.back();
  return s;
}

Result<std::unique_ptr<Ceilings>> Ceilings::Open(const BenchConfig& config) {
  auto c = std::make_unique<Ceilings>();
  FTVM_ASSIGN_OR_RETURN(c->source_, Mapping::Anonymous(config.ram_bytes));
  std::memset(c->source_.data(), 0x5a, c->source_.size());  // populated, not zero
  FTVM_ASSIGN_OR_RETURN(c->raw_,
                        ram::bench::RawLink::Open(config.uri, RawOptions(), c->source_.bytes()));
  return c;
}

uint64_t Ceilings::Copy(uint64_t bytes) {
  const Stopwatch watch;
  std::memcpy(raw_->target().data(), source_.data(), bytes);
  return watch.ElapsedNs();
}

Result<Results> RunAll(const BenchConfig& config) {
  FTVM_ASSIGN_OR_RETURN(auto ceilings, Ceilings::Open(config));
  Results out;
  for (const Order order : config.orders) {
    std::unique_ptr<EnginePair> pair;
    FTVM_ASSIGN_OR_RETURN(SyncRow zero, SyncCase(config, *ceilings, order, false, &pair));
    if (config.sync) out.sync.push_back(zero);
    if (config.pause) {
      for (const uint64_t dirty : config.dirty) {
        FTVM_ASSIGN_OR_RETURN(PauseRow row, PauseCase(config, *ceilings, *pair, order, dirty));
        out.pause.push_back(std::move(row));
      }
    }
    if (config.rate) {
      FTVM_ASSIGN_OR_RETURN(RateRow row, RateCase(config, *ceilings, *pair, order));
      out.rate.push_back(row);
    }
    FTVM_TRY(pair->Stop());
    pair.reset();
    // A fully written guest: its sync does not depend on when the guest resumes.
    if (config.sync && (order == Order::kStaged || order == Order::kDirect)) {
      FTVM_ASSIGN_OR_RETURN(SyncRow full, SyncCase(config, *ceilings, order, true, nullptr));
      out.sync.push_back(full);
    }
  }
  if (config.hot) {
    for (const Order order : config.orders) {
      FTVM_ASSIGN_OR_RETURN(HotRow row, HotCase(config, order));
      out.hot.push_back(row);
    }
  }
  return out;
}

}  // namespace ftvm::colo::bench
