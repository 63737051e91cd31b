// vmm_bench: the VMM benchmarks of docs/benchmarks.md ("VMM"), as a small driver because each
// case needs its own long-lived guest.
//   vmm_bench [all|pause|dirty|state|snapshot|write] [--quick]
#include <cstring>
#include <string_view>

#include "bench/vmm/bench_util.h"
#include "vmm/kvm.h"

int main(int argc, char** argv) {
  using namespace ftvm::vmm::bench;  // NOLINT(google-build-using-namespace)
  std::string_view which = "all";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      which = argv[i];
    }
  }
  if (const std::string why = ftvm::vmm::Kvm::Unavailable(); !why.empty()) {
    std::fprintf(stderr, "vmm_bench: no usable /dev/kvm: %s\n", why.c_str());
    return 77;
  }
  const bool all = which == "all";
  if (all || which == "pause") RunPauseBench(quick);
  if (all || which == "state") RunStateBench(quick);
  if (all || which == "dirty") RunDirtyBench(quick);
  if (all || which == "write") RunWriteBench(quick);
  if (all || which == "snapshot") RunSnapshotBench(quick);
  return 0;
}
