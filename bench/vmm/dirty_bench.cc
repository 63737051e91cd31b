// Dirty harvest time for a 2 GiB guest with 100 / 10,000 / all pages dirty, in each mode. The
// dirtier writes N pages spread over the RAM per round and waits; the VM is paused and
// HarvestDirty() timed. The last of several rounds is reported (the first also pays for
// first-touch faults in the guest, not in the harvest). In ring mode a full ring is drained
// by the vCPU thread during the round; that time is added to the harvest's.
#include <fmt/format.h>

#include "bench/vmm/bench_util.h"
#include "vmm/dirty_log.h"

namespace ftvm::vmm::bench {
namespace {

struct Result1 {
  uint64_t ns = 0;
  uint64_t pages = 0;
};

Result1 Measure(DirtyMode mode, uint64_t ram_bytes, uint64_t dirty, int rounds) {
  const uint64_t range = ram_bytes - FTVM_DATA_GPA;
  const uint64_t range_pages = range / kPageSize;
  const uint64_t n = std::min(dirty, range_pages);
  MachineConfig c;
  c.ram_bytes = ram_bytes;
  c.guest = "dirtier";
  c.guest_args = fmt::format("start={} size={} stride={} round_pages={} stamp=0", FTVM_DATA_GPA,
                             range, std::max<uint64_t>(1, range_pages / n), n);
  c.dirty_mode = mode;
  auto vm = MakeMachine(c);
  Must(vm->StartDirtyLog(), "start dirty log");
  Must(vm->Resume(), "resume");
  DirtyBitmaps bitmaps;
  Result1 last;
  uint64_t drained_before = 0;
  for (int r = 1; r <= rounds; ++r) {
    WaitRound(*vm, static_cast<uint64_t>(r), 300);
    Must(vm->Pause(), "pause");
    const Stopwatch w;
    Must(vm->HarvestDirty(bitmaps), "harvest");
    // Ring mode: count the drains vCPU threads did on full rings during the round too.
    last = {w.ElapsedNs() + vm->dirty_stats().ring_full_drain_ns - drained_before,
            CountDirtyPages(bitmaps)};
    drained_before = vm->dirty_stats().ring_full_drain_ns;
    Must(SetMailboxGo(*vm, static_cast<uint64_t>(r)), "mailbox");
    Must(vm->Resume(), "resume");
  }
  return last;
}

}  // namespace

void RunDirtyBench(bool quick) {
  const uint64_t ram = quick ? 256ull << 20 : 2ull << 30;
  const uint64_t all = (ram - FTVM_DATA_GPA) / kPageSize;
  std::printf(
      "\n### Dirty harvest, %llu MiB guest (VM paused; HarvestDirty + ring-full drains)\n\n",
      static_cast<unsigned long long>(ram >> 20));
  std::printf("| mode | 100 pages dirty | 10,000 pages dirty | all %llu pages dirty |\n",
              static_cast<unsigned long long>(all));
  std::printf("|---|---|---|---|\n");
  for (const DirtyMode mode : {DirtyMode::kClassic, DirtyMode::kManualProtect, DirtyMode::kRing}) {
    std::string row = fmt::format("| {} ", DirtyModeName(mode));
    for (const uint64_t n : {uint64_t{100}, uint64_t{10000}, all}) {
      const Result1 r = Measure(mode, ram, n, n == all ? 2 : 4);
      row += fmt::format("| {:.3f} ms ({} pages) ", Ms(r.ns), r.pages);
      std::fflush(stdout);
    }
    std::printf("%s|\n", row.c_str());
  }
}

}  // namespace ftvm::vmm::bench
