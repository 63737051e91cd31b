// The cases of bench/colo/colo_bench.cc: guest pause per checkpoint at fixed dirty counts, the
// initial sync, and the sustained checkpoint rate, each beside the raw Channel (and memcpy)
// moving the same bytes on a second connection in the same run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/mapping.h"
#include "base/result.h"
#include "bench/colo/colo_pair.h"
#include "bench/ram/raw_link.h"

namespace ftvm::colo::bench {

struct BenchConfig {
  std::string uri = "tcp://127.0.0.1:0";
  uint64_t ram_bytes = 1ull << 30;
  std::vector<uint64_t> dirty = {0, 100, 1000, 2800, 10000, 25700, 50000};
  int epochs = 20;  // checkpoints per dirty count
  std::vector<Order> orders = {Order::kStaged, Order::kStagedPre, Order::kDirect,
                               Order::kDirectLoaded};
  uint32_t precapture_ms = 5;
  bool pause = true;
  bool sync = true;
  bool rate = true;
  bool hot = true;
  double hot_seconds = 3;
  uint64_t hot_pages = 1024;  // the hot set the guest rewrites flat out
  double rate_seconds = 5;
  uint64_t rate_pages = 1000;
  uint64_t period_ms = 10;
  bool passive = true;
  bool verify = false;
};

struct Spread {
  uint64_t p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};
Spread SpreadOf(std::vector<uint64_t> samples);

struct PauseRow {
  Order order;
  uint64_t dirty = 0;       // pages the guest dirtied per epoch
  uint64_t sent_pages = 0;  // average pages per checkpoint on the wire
  Spread pause;             // guest paused, per checkpoint
  Spread raw;               // raw Channel: the same bytes as 1 MiB WRITEs, to completion
  Spread copy;              // memcpy of the same bytes
  Spread guest;             // the guest writing its pages (what precapture may slow down)
  StatsSnapshot stats;      // the primary's, over this case
};

struct SyncRow {
  Order order;
  bool fill = false;
  uint64_t setup_ns = 0;
  uint64_t sync_ns = 0;  // initial sync + checkpoint 1 (the bench thread saw sync -> colo)
  uint64_t transferred = 0;
  uint64_t zero_pages = 0;
  Spread raw;  // raw Channel, the whole guest size
};

struct RateRow {
  Order order;
  double seconds = 0;
  uint64_t checkpoints = 0;
  uint64_t sent_pages = 0;  // average per checkpoint
  Spread pause;
  uint64_t avg_total_ns = 0;  // checkpoint transaction (request to loaded)
  Spread raw;                 // raw Channel for the average bytes per checkpoint
};

// The raw Channel and memcpy ceilings: one connection and a source of the guest's size.
class Ceilings {
 public:
  static Result<std::unique_ptr<Ceilings>> Open(const BenchConfig& config);
  Result<uint64_t> Wire(uint64_t bytes) { return raw_->Round(0, bytes); }
  uint64_t Copy(uint64_t bytes);

 private:
  Mapping source_;
  std::unique_ptr<ram::bench::RawLink> raw_;
};

// A guest rewriting a small hot set flat out, checkpointed at the engine's default period:
// what the staging choices cost the guest.
struct HotRow {
  Order order;
  double guest_pages_per_s = 0;
  uint64_t checkpoints = 0;
  uint64_t sent_pages = 0;
  Spread pause;
};

struct Results {
  std::vector<PauseRow> pause;
  std::vector<SyncRow> sync;
  std::vector<RateRow> rate;
  std::vector<HotRow> hot;
};

// Runs every selected case; prints progress to stderr.
Result<Results> RunAll(const BenchConfig& config);

}  // namespace ftvm::colo::bench
