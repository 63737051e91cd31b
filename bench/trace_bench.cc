// Cost of a trace event call site: disabled (the common case) and enabled (logged to a null
// sink), beside an empty loop body as the floor. Run: build/bench/trace_bench
#include <benchmark/benchmark.h>

#include "base/log.h"
#include "base/trace.h"

namespace ftvm::bench {

FTVM_TRACE_EVENT(bench_event, "chunk={} addr={:#x} len={}", (uint32_t, chunk), (uint64_t, addr),
                 (uint32_t, len))

static void BM_Baseline(benchmark::State& state) {
  uint64_t addr = 0;
  for (auto _ : state) {
    addr += 4096;
    benchmark::DoNotOptimize(addr);
  }
}
BENCHMARK(BM_Baseline);

static void BM_TraceDisabled(benchmark::State& state) {
  trace::SetState("bench_event", false);
  uint64_t addr = 0;
  for (auto _ : state) {
    addr += 4096;
    trace_bench_event(7, addr, 4096);
    benchmark::DoNotOptimize(addr);
  }
}
BENCHMARK(BM_TraceDisabled);

static void BM_TraceEnabledToFile(benchmark::State& state) {
  if (!SetLogFile("/dev/null")) {
    state.SkipWithError("cannot redirect log to /dev/null");
    return;
  }
  trace::SetState("bench_event", true);
  uint64_t addr = 0;
  for (auto _ : state) {
    addr += 4096;
    trace_bench_event(7, addr, 4096);
    benchmark::DoNotOptimize(addr);
  }
  trace::SetState("bench_event", false);
  (void)SetLogFile("");
}
BENCHMARK(BM_TraceEnabledToFile);

}  // namespace ftvm::bench

BENCHMARK_MAIN();
