// Checkpoint benchmark (issue 6): a real primary and secondary engine pair in this process over
// a Channel on loopback, a dirtier guest of 1 GiB, and the raw Channel (plus memcpy) moving the
// same bytes on a second connection in the same run. Prints markdown tables
// (docs/benchmarks.md, "Checkpoints").
//
//   build/bench/colo/colo_bench [--quick] [--mem 1G] [--dirty 0,100,1000,...] [--epochs 20]
//       [--orders staged,staged+pre,direct,direct+loaded] [--precapture-ms 5]
//       [--cases pause,sync,rate,hot] [--rate-seconds 5] [--period-ms 10] [--rate-pages 1000]
//       [--hot-seconds 3] [--colo-secondary] [--verify] [--uri tcp://...:0]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/strings.h"
#include "bench/colo/colo_cases.h"

namespace ftvm::colo::bench {
namespace {

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

Result<std::vector<uint64_t>> ParseList(std::string_view text) {
  std::vector<uint64_t> out;
  for (std::string_view item : Split(text, ',')) {
    FTVM_ASSIGN_OR_RETURN(const uint64_t v, ParseU64(item));
    if (v % kRoundPages != 0) {
      return Fail(ErrorCode::kInvalidArgument, "dirty counts are multiples of {}: {}", kRoundPages,
                  v);
    }
    out.push_back(v);
  }
  return out;
}

Result<std::vector<Order>> ParseOrders(std::string_view text) {
  std::vector<Order> out;
  for (std::string_view item : Split(text, ',')) {
    if (item == "staged") {
      out.push_back(Order::kStaged);
    } else if (item == "staged+pre") {
      out.push_back(Order::kStagedPre);
    } else if (item == "direct") {
      out.push_back(Order::kDirect);
    } else if (item == "direct+loaded") {
      out.push_back(Order::kDirectLoaded);
    } else {
      return Fail(ErrorCode::kInvalidArgument, "unknown order '{}'", item);
    }
  }
  return out;
}

Result<void> ApplyFlag(BenchConfig& c, std::string_view flag, const std::string& value) {
  if (flag == "--uri") {
    c.uri = value;
  } else if (flag == "--mem") {
    FTVM_ASSIGN_OR_RETURN(c.ram_bytes, ParseSize(value));
  } else if (flag == "--dirty") {
    FTVM_ASSIGN_OR_RETURN(c.dirty, ParseList(value));
  } else if (flag == "--epochs") {
    FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
    c.epochs = static_cast<int>(std::clamp<uint64_t>(n, 1, 100'000));
  } else if (flag == "--orders") {
    FTVM_ASSIGN_OR_RETURN(c.orders, ParseOrders(value));
  } else if (flag == "--cases") {
    c.pause = value.find("pause") != std::string::npos;
    c.sync = value.find("sync") != std::string::npos;
    c.rate = value.find("rate") != std::string::npos;
    c.hot = value.find("hot") != std::string::npos;
  } else if (flag == "--precapture-ms") {
    FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
    c.precapture_ms = static_cast<uint32_t>(std::clamp<uint64_t>(n, 1, 60'000));
  } else if (flag == "--hot-seconds") {
    FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
    c.hot_seconds = static_cast<double>(n);
  } else if (flag == "--rate-seconds") {
    FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
    c.rate_seconds = static_cast<double>(n);
  } else if (flag == "--period-ms") {
    FTVM_ASSIGN_OR_RETURN(c.period_ms, ParseU64(value));
  } else if (flag == "--rate-pages") {
    FTVM_ASSIGN_OR_RETURN(c.rate_pages, ParseU64(value));
  } else {
    return Fail(ErrorCode::kInvalidArgument, "unknown flag {}", flag);
  }
  return {};
}

Result<BenchConfig> ParseFlags(int argc, char** argv) {
  BenchConfig c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--quick") {  // a smoke run: small guest, few epochs, every order and case
      c.ram_bytes = 256ull << 20;
      c.dirty = {0, 100, 1000};
      c.epochs = 3;
      c.rate_seconds = 1;
      c.hot_seconds = 1;
    } else if (flag == "--colo-secondary") {
      c.passive = false;
    } else if (flag == "--verify") {
      c.verify = true;
    } else if (i + 1 < argc) {
      FTVM_TRY(ApplyFlag(c, flag, argv[++i]));
    } else {
      return Fail(ErrorCode::kInvalidArgument, "unknown flag or missing value: {}", flag);
    }
  }
  if (c.ram_bytes < (64u << 20) || c.ram_bytes % (2u << 20) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "--mem must be a multiple of 2 MiB, >= 64 MiB");
  }
  return c;
}

std::string MsOrDash(const Spread& s) { return s.n == 0 ? "-" : fmt::format("{:.3f}", Ms(s.p50)); }

void PrintPause(const std::vector<PauseRow>& rows) {
  std::printf(
      "\n| order | dirty pages / epoch | sent / ckpt | pause p50 ms | pause p99 ms | raw Channel "
      "p50 ms | pause / raw | memcpy p50 ms | ckpt avg ms | ram_time | dev_time | resume_time | "
      "guest writes p50 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const PauseRow& r : rows) {
    const double ratio = r.raw.p50 == 0 ? 0 : Ms(r.pause.p50) / Ms(r.raw.p50);
    std::printf(
        "| %s | %lu | %lu | %.3f | %.3f | %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %s |\n",
        OrderName(r.order), r.dirty, r.sent_pages, Ms(r.pause.p50), Ms(r.pause.p99),
        MsOrDash(r.raw).c_str(), r.raw.n ? fmt::format("{:.2f}", ratio).c_str() : "-",
        MsOrDash(r.copy).c_str(), Ms(r.stats.avg_time), Ms(r.stats.avg(Phase::kRam)),
        Ms(r.stats.avg(Phase::kDev)), Ms(r.stats.avg(Phase::kResume)), MsOrDash(r.guest).c_str());
  }
}

void PrintHot(const std::vector<HotRow>& rows, uint64_t hot_pages) {
  std::printf(
      "\n| order | guest rewrites | guest pages/s | ckpts | sent / ckpt | pause p50 ms | pause p99 "
      "ms |\n|---|---|---|---|---|---|---|\n");
  for (const HotRow& r : rows) {
    std::printf("| %s | %lu pages | %.0f | %lu | %lu | %.3f | %.3f |\n", OrderName(r.order),
                hot_pages, r.guest_pages_per_s, r.checkpoints, r.sent_pages, Ms(r.pause.p50),
                Ms(r.pause.p99));
  }
}

void PrintSync(const std::vector<SyncRow>& rows, uint64_t ram_bytes) {
  std::printf(
      "\n| order | guest | setup s | sync + ckpt 1 s | page data | zero pages | GB/s of guest "
      "RAM | raw Channel %s p50 s | raw GB/s | sync / raw |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      FormatBytes(ram_bytes).c_str());
  for (const SyncRow& r : rows) {
    const double secs = static_cast<double>(r.sync_ns) / 1e9;
    const double raw = static_cast<double>(r.raw.p50) / 1e9;
    std::printf("| %s | %s | %.2f | %.2f | %s | %lu | %.2f | %.3f | %.2f | %.1f |\n",
                OrderName(r.order), r.fill ? "fully written" : "mostly zero",
                static_cast<double>(r.setup_ns) / 1e9, secs, FormatBytes(r.transferred).c_str(),
                r.zero_pages, static_cast<double>(ram_bytes) / 1e9 / secs, raw,
                static_cast<double>(ram_bytes) / 1e9 / raw, secs / raw);
  }
}

void PrintRate(const std::vector<RateRow>& rows, uint64_t period_ms) {
  std::printf(
      "\n| order | period | pages / ckpt | ckpts | checkpoints/s | ceiling 1/(period + raw) | "
      "pause p50 ms | pause p99 ms | ckpt avg ms |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const RateRow& r : rows) {
    const double cps = static_cast<double>(r.checkpoints) / r.seconds;
    const double ceiling = 1e3 / (static_cast<double>(period_ms) + Ms(r.raw.p50));
    std::printf("| %s | %lu ms | %lu | %lu | %.1f | %.1f | %.3f | %.3f | %.3f |\n",
                OrderName(r.order), period_ms, r.sent_pages, r.checkpoints, cps, ceiling,
                Ms(r.pause.p50), Ms(r.pause.p99), Ms(r.avg_total_ns));
  }
}

int Main(int argc, char** argv) {
  // Engine warnings at the end of each pair (the peer left) are expected; FTVM_LOG overrides.
  const char* log = std::getenv("FTVM_LOG");
  (void)SetLogLevels(log != nullptr ? log : "error");
  auto config = ParseFlags(argc, argv);
  if (!config) {
    std::fprintf(stderr, "colo_bench: %s\n", config.error().ToString().c_str());
    return 2;
  }
  auto results = RunAll(*config);
  if (!results) {
    std::fprintf(stderr, "colo_bench: %s\n", results.error().ToString().c_str());
    return 1;
  }
  std::printf("%s guest (dirtier, stamp=0), %s secondary, over %s; %d checkpoints per row\n",
              FormatBytes(config->ram_bytes).c_str(),
              config->passive ? "passive" : "COLO (running)", config->uri.c_str(), config->epochs);
  if (!results->pause.empty()) PrintPause(results->pause);
  if (!results->sync.empty()) PrintSync(results->sync, config->ram_bytes);
  if (!results->rate.empty()) PrintRate(results->rate, config->period_ms);
  if (!results->hot.empty()) PrintHot(results->hot, config->hot_pages);
  return 0;
}

}  // namespace
}  // namespace ftvm::colo::bench

int main(int argc, char** argv) { return ftvm::colo::bench::Main(argc, argv); }
