// Snapshot write speed beside a raw sequential write of the same number of bytes from the same
// guest memory (write(2) of 1 MiB blocks to a file in the same directory), measured in the same
// run, alternating, best of five each; with and without fsync. RAM is fully written by the
// dirtier first, so no page is skipped as zero.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/unique_fd.h"
#include "bench/vmm/bench_util.h"
#include "vmm/snapshot.h"

namespace ftvm::vmm::bench {
namespace {

uint64_t RawWrite(const Machine& vm, const std::string& path, uint64_t bytes, bool fsync) {
  const Stopwatch w;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) std::exit(1);
  constexpr uint64_t kChunk = 1 << 20;
  uint64_t done = 0;
  for (const RamBlock& b : vm.ram_blocks()) {
    for (uint64_t off = 0; off < b.size() && done < bytes; off += kChunk) {
      const uint64_t n = std::min({kChunk, b.size() - off, bytes - done});
      if (::write(fd.get(), b.hva() + off, n) != static_cast<ssize_t>(n)) std::exit(1);
      done += n;
    }
  }
  if (fsync) ::fsync(fd.get());
  return w.ElapsedNs();
}

}  // namespace

void RunSnapshotBench(bool quick) {
  const uint64_t ram = quick ? 256ull << 20 : 2ull << 30;
  const char* dir_env = std::getenv("FTVM_BENCH_DIR");
  const std::string dir = dir_env != nullptr ? dir_env : "/tmp";
  MachineConfig c;
  c.ram_bytes = ram;
  c.guest = "dirtier";
  c.guest_args = fmt::format("pages={} stamp=1", (ram - FTVM_DATA_GPA) / kPageSize);
  auto vm = MakeMachine(c);
  Must(vm->Resume(), "resume");
  Must(vm->WaitForExit(std::chrono::seconds(300)), "dirtier run");
  const std::string ours = dir + "/ftvm-bench.snap", raw = dir + "/ftvm-bench.raw";
  std::printf("\n### Snapshot write, %llu MiB guest, all pages non-zero (files in %s)\n\n",
              static_cast<unsigned long long>(ram >> 20), dir.c_str());
  std::printf(
      "| fsync | file bytes | snapshot GB/s | raw write GB/s | ratio |\n|---|---|---|---|---|\n");
  for (const bool fsync : {false, true}) {
    uint64_t best_ours = UINT64_MAX, best_raw = UINT64_MAX, bytes = 0;
    for (int i = 0; i < 5; ++i) {
      // Start each run with no dirty page cache, so neither pays for the other's writeback.
      ::sync();
      const auto stats = Must(WriteSnapshot(*vm, ours, {.fsync = fsync}), "snapshot");
      bytes = stats.file_bytes;
      best_ours = std::min(best_ours, stats.elapsed_ns);
      ::unlink(ours.c_str());
      ::sync();
      best_raw = std::min(best_raw, RawWrite(*vm, raw, bytes, fsync));
      ::unlink(raw.c_str());
    }
    const double gbs_ours = static_cast<double>(bytes) / static_cast<double>(best_ours);
    const double gbs_raw = static_cast<double>(bytes) / static_cast<double>(best_raw);
    std::printf("| %s | %llu | %.2f | %.2f | %.0f %% |\n", fsync ? "yes" : "no",
                static_cast<unsigned long long>(bytes), gbs_ours, gbs_raw,
                100.0 * gbs_ours / gbs_raw);
    std::fflush(stdout);
  }
  // Restore speed, for reference.
  const auto stats = Must(WriteSnapshot(*vm, ours, {}), "snapshot");
  ::sync();
  SnapshotStats restored;
  auto copy = Must(RestoreSnapshot(
                       ours, [](MachineConfig& m) { m.serial.to_log = false; }, &restored),
                   "restore");
  std::printf("\nRestore of the same %llu-byte file: %.2f GB/s (%.0f ms, checksum verified)\n",
              static_cast<unsigned long long>(stats.file_bytes),
              static_cast<double>(stats.file_bytes) / static_cast<double>(restored.elapsed_ns),
              Ms(restored.elapsed_ns));
  ::unlink(ours.c_str());
}

}  // namespace ftvm::vmm::bench
