// RAM replication benchmark (issue 4): cases (a)-(d) over a real Channel in pin-all and
// on-demand mode, each beside the raw Channel bandwidth and memcpy measured in the same run.
// Prints a markdown table (docs/benchmarks.md, "RAM replication").
//
//   build/bench/ram/ram_bench [--uri tcp://127.0.0.1:0] [--size 1G] [--rounds 3] [--streams 1]
//       [--cases a,b,c,d]
//
// Both ends run in this process (the secondary on its own thread), as in channel_bench.
#include <cstdio>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/strings.h"
#include "bench/ram/ram_bench_cases.h"

namespace ftvm::ram::bench {
namespace {

Result<BenchConfig> ParseFlags(int argc, char** argv) {
  BenchConfig c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return Fail(ErrorCode::kInvalidArgument, "{} needs a value", flag);
    const std::string value = argv[++i];
    if (flag == "--uri") {
      c.uri = value;
    } else if (flag == "--size") {
      FTVM_ASSIGN_OR_RETURN(c.ram_bytes, ParseSize(value));
    } else if (flag == "--rounds") {
      FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
      c.rounds = static_cast<int>(std::max<uint64_t>(n, 1));
    } else if (flag == "--cases") {
      c.cases = value;
    } else if (flag == "--streams") {
      FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
      c.streams = static_cast<uint32_t>(n);
    } else {
      return Fail(ErrorCode::kInvalidArgument, "unknown flag {}", flag);
    }
  }
  if (c.ram_bytes < (64u << 20) || c.ram_bytes % (1u << 20) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "--size must be a multiple of 1 MiB, >= 64 MiB");
  }
  return c;
}

void PrintRow(const CaseResult& r, uint64_t raw_bytes) {
  const double raw = r.raw_gbps(raw_bytes);
  std::printf(
      "| %s | %s | %.1f | %.1f | %.2f | %.2f | %.2f | %s in %.2f ms: %.2f GB/s = %.0f %% "
      "of memcpy (%.2f GB/s) |\n",
      r.name.c_str(), r.mode.c_str(), static_cast<double>(r.ns) / 1e6,
      static_cast<double>(r.ack_ns) / 1e6, r.gbps(), raw, raw == 0 ? 0 : r.gbps() / raw,
      FormatBytes(r.commit_bytes).c_str(), static_cast<double>(r.commit_ns) / 1e6, r.commit_gbps(),
      100 * r.commit_gbps() / r.memcpy_gbps(), r.memcpy_gbps());
}

int Main(int argc, char** argv) {
  (void)SetLogLevels("warn");
  auto config = ParseFlags(argc, argv);
  if (!config) {
    std::fprintf(stderr, "ram_bench: %s\n", config.error().ToString().c_str());
    return 2;
  }
  std::printf(
      "%s of guest RAM over %s, best of %d rounds per case; raw Channel and memcpy "
      "rounds interleaved with each case's rounds\n\n",
      FormatBytes(config->ram_bytes).c_str(), config->uri.c_str(), config->rounds);
  std::printf(
      "| case | mode | send ms | to ack ms | GB/s | raw GB/s | x raw | commit |\n"
      "|---|---|---|---|---|---|---|---|\n");
  for (auto mode : {RegistrationMode::kPinAll, RegistrationMode::kOnDemand}) {
    auto results = Replication(*config, mode);
    if (!results) {
      std::fprintf(stderr, "ram_bench: %s\n", results.error().ToString().c_str());
      return 1;
    }
    for (const CaseResult& r : *results) PrintRow(r, config->ram_bytes);
    const RamStats& s = results->back().stats;
    std::printf(
        "| (%s totals) | | | | | | | %lu writes, %lu zero pages, %lu registrations, peak %lu "
        "writes in flight |\n",
        results->back().mode.c_str(), s.merged_runs, s.zero_pages, s.registrations,
        s.peak_writes_in_flight);
  }
  return 0;
}

}  // namespace
}  // namespace ftvm::ram::bench

int main(int argc, char** argv) { return ftvm::ram::bench::Main(argc, argv); }
