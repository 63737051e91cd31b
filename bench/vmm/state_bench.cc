// State save and load time: Machine::SaveState() of a paused counter guest (1 vCPU, with and
// without the in-kernel irqchip), and LoadState() of that blob into a fresh VM.
#include "bench/vmm/bench_util.h"

namespace ftvm::vmm::bench {

void RunStateBench(bool quick) {
  const int iterations = quick ? 50 : 500;
  std::printf("\n### State save / load (%d iterations, 1 vCPU, median and p99)\n\n", iterations);
  std::printf("| VM | blob bytes | save median | save p99 | load median | load p99 |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const bool irqchip : {false, true}) {
    MachineConfig c;
    c.guest = "counter";
    c.guest_args = "quiet=1";
    c.irqchip = irqchip;
    auto vm = MakeMachine(c);
    Must(vm->Resume(), "resume");
    Must(vm->Pause(), "pause");
    Histogram save, load;
    std::vector<std::byte> blob;
    for (int i = 0; i < iterations; ++i) {
      const Stopwatch w;
      blob = Must(vm->SaveState(), "save");
      save.Record(w.ElapsedNs());
    }
    MachineConfig fresh = c;
    fresh.boot = false;
    auto target = MakeMachine(fresh);
    for (int i = 0; i < iterations; ++i) {
      const Stopwatch w;
      Must(target->LoadState(blob), "load");
      load.Record(w.ElapsedNs());
    }
    std::printf("| %s | %zu | %.0f us | %.0f us | %.0f us | %.0f us |\n",
                irqchip ? "with irqchip" : "no irqchip", blob.size(), Us(save.Percentile(0.5)),
                Us(save.Percentile(0.99)), Us(load.Percentile(0.5)), Us(load.Percentile(0.99)));
  }
}

}  // namespace ftvm::vmm::bench
