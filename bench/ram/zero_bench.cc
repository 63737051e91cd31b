// Local ceilings of the RAM path, each beside the memory bandwidth it is bounded by:
//   IsZero over 1 GiB of zeros vs a plain read (sum of words) and memset,
//   RamCache::CopyToGuest of 1 % scattered pages vs memcpy of the same bytes contiguous.
//   build/bench/ram/zero_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "base/mapping.h"
#include "ram/dirty_bitmap.h"
#include "ram/ram_cache.h"
#include "ram/zero_chunk.h"

namespace ftvm::ram {
namespace {

constexpr size_t kBytes = 1 << 30;

std::span<std::byte> Buffer(int which) {
  static Mapping buffers[2] = {*Mapping::Anonymous(kBytes), *Mapping::Anonymous(kBytes)};
  static bool touched = [] {
    for (auto& b : buffers) std::memset(b.data(), 0, b.size());
    return true;
  }();
  (void)touched;
  return buffers[which].bytes();
}

void BM_IsZero(benchmark::State& state) {
  auto buffer = Buffer(0);
  for (auto _ : state) {
    bool zero = true;
    for (size_t at = 0; at < buffer.size(); at += 4096) zero &= IsZero(buffer.subspan(at, 4096));
    benchmark::DoNotOptimize(zero);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_IsZero)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReadSum(benchmark::State& state) {  // the read-bandwidth ceiling
  auto buffer = Buffer(0);
  for (auto _ : state) {
    uint64_t sum = 0;
    const auto* words = reinterpret_cast<const uint64_t*>(buffer.data());
    for (size_t i = 0; i < buffer.size() / 8; ++i) sum += words[i];
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_ReadSum)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Memset(benchmark::State& state) {
  auto buffer = Buffer(1);
  for (auto _ : state) {
    std::memset(buffer.data(), 0, buffer.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_Memset)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Memcpy(benchmark::State& state) {
  auto src = Buffer(0);
  auto dst = Buffer(1);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * src.size()));
}
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();

// Commit of 1 % scattered pages of 1 GiB, cache -> guest.
void BM_CommitScattered(benchmark::State& state) {
  constexpr uint64_t kGuestBytes = 1ull << 30;
  static Mapping guest = *Mapping::Anonymous(kGuestBytes);
  static std::optional<RamCache> cache;
  if (!cache) {
    std::memset(guest.data(), 1, kGuestBytes);
    cache.emplace(*RamCache::Create(std::vector<RamBlock>{{"pc.ram", guest.bytes(), 0, 4096}}));
    std::memset(cache->block(0).data(), 2, kGuestBytes);
  }
  const uint64_t pages = kGuestBytes / 4096;
  std::vector<std::vector<uint64_t>> dirty(1, std::vector<uint64_t>(BitmapWords(pages)));
  std::mt19937_64 rng(1);
  for (uint64_t i = 0; i < pages / 100; ++i) {
    const uint64_t p = rng() % pages;
    dirty[0][p / 64] |= 1ull << (p % 64);
  }
  uint64_t bytes = 0;
  for (auto _ : state) bytes += cache->CopyToGuest(dirty, {}).bytes;
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_CommitScattered)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ftvm::ram

BENCHMARK_MAIN();
