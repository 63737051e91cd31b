// Pause and resume latency with the counter guest running: median and p99 of Machine::Pause()
// (returns when no vCPU is in the guest) and Machine::Resume() (returns when every vCPU has
// left its parking spot), pinned and unpinned.
#include "bench/vmm/bench_util.h"

namespace ftvm::vmm::bench {

void RunPauseBench(bool quick) {
  const int cycles = quick ? 200 : 3000;
  std::printf("\n### Pause / resume (%d cycles, counter guest, 1 vCPU)\n\n", cycles);
  std::printf("| vCPU thread | pause median | pause p99 | resume median | resume p99 |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const bool pin : {true, false}) {
    MachineConfig c;
    c.guest = "counter";
    c.guest_args = "quiet=1";
    c.pin_vcpus = pin;
    auto vm = MakeMachine(c);
    Must(vm->Resume(), "resume");
    Histogram pause, resume;
    for (int i = 0; i < cycles; ++i) {
      Stopwatch w;
      Must(vm->Pause(), "pause");
      pause.Record(w.ElapsedNs());
      w.Restart();
      Must(vm->Resume(), "resume");
      resume.Record(w.ElapsedNs());
    }
    std::printf("| %s | %.0f us | %.0f us | %.0f us | %.0f us |\n", pin ? "pinned" : "unpinned",
                Us(pause.Percentile(0.5)), Us(pause.Percentile(0.99)), Us(resume.Percentile(0.5)),
                Us(resume.Percentile(0.99)));
  }
}

}  // namespace ftvm::vmm::bench
