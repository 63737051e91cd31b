// What dirty tracking costs the guest: the dirtier's write rate (rep stosq of whole 4 KiB
// pages over a 1 GiB range) untracked, then with dirty logging and a harvest every 100 ms (a
// checkpoint-like cycle: pause, harvest, resume), per mode. Measured after one full pass so
// first-touch faults are excluded.
#include <thread>

#include "bench/vmm/bench_util.h"
#include "vmm/dirty_log.h"

namespace ftvm::vmm::bench {
namespace {

double GuestGBps(Machine& vm, std::chrono::milliseconds duration, bool harvest) {
  DirtyBitmaps bitmaps;
  const uint64_t before = Status(vm)->pages_written;
  const Stopwatch w;
  while (w.ElapsedNs() < static_cast<uint64_t>(Nanos(duration).count())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (harvest) {
      Must(vm.Pause(), "pause");
      Must(vm.HarvestDirty(bitmaps), "harvest");
      Must(vm.Resume(), "resume");
    }
  }
  const uint64_t pages = Status(vm)->pages_written - before;
  return static_cast<double>(pages * kPageSize) / static_cast<double>(w.ElapsedNs());
}

}  // namespace

void RunWriteBench(bool quick) {
  const uint64_t range = quick ? 64ull << 20 : 1ull << 30;
  const auto duration = std::chrono::milliseconds(quick ? 500 : 3000);
  std::printf("\n### Guest write speed over %llu MiB (whole pages, rep stosq)\n\n",
              static_cast<unsigned long long>(range >> 20));
  std::printf("| dirty mode | untracked GB/s | tracked, harvest every 100 ms GB/s | ratio |\n");
  std::printf("|---|---|---|---|\n");
  for (const DirtyMode mode : {DirtyMode::kClassic, DirtyMode::kManualProtect, DirtyMode::kRing}) {
    MachineConfig c;
    c.ram_bytes = range + (4ull << 20);
    c.guest = "dirtier";
    c.guest_args = fmt::format("start={} size={} stamp=0", FTVM_DATA_GPA, range);
    c.dirty_mode = mode;
    auto vm = MakeMachine(c);
    Must(vm->Resume(), "resume");
    while (Status(*vm)->generation < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const double untracked = GuestGBps(*vm, duration, false);
    Must(vm->Pause(), "pause");
    Must(vm->StartDirtyLog(), "start dirty log");
    Must(vm->Resume(), "resume");
    const double tracked = GuestGBps(*vm, duration, true);
    std::printf("| %s | %.2f | %.3f | %.1f %% |\n", std::string(DirtyModeName(mode)).c_str(),
                untracked, tracked, 100.0 * tracked / untracked);
    std::fflush(stdout);
  }
}

}  // namespace ftvm::vmm::bench
