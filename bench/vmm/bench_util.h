// Shared helpers of the VMM benchmark driver (bench/vmm/*.cc). Results go to stdout as
// markdown table rows for docs/benchmarks.md.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "base/histogram.h"
#include "vmm/guests/abi.h"
#include "vmm/machine.h"

namespace ftvm::vmm::bench {

// Prints the error and exits: a benchmark that cannot set up has nothing to report.
template <class T>
T Must(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "vmm_bench: %s: %s\n", what, r.error().ToString().c_str());
    std::exit(1);
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

inline std::unique_ptr<Machine> MakeMachine(MachineConfig c) {
  c.serial.to_log = false;
  return Must(Machine::Create(std::move(c)), "create VM");
}

inline const ftvm_status* Status(const Machine& vm) {
  return reinterpret_cast<const ftvm_status*>(vm.AbiPage(FTVM_STATUS_GPA).data());
}

// Waits (up to `seconds`) until the dirtier reported round `round`.
inline void WaitRound(Machine& vm, uint64_t round, int seconds = 120) {
  if (!vm.control().WaitUntil(
          [&](const ControlStatus& s) { return s.last_work_done >= round || s.aborted; },
          Deadline(std::chrono::seconds(seconds))) ||
      vm.control().status().aborted) {
    std::fprintf(stderr, "vmm_bench: guest did not finish round %llu\n",
                 static_cast<unsigned long long>(round));
    std::exit(1);
  }
}

inline double Us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }
inline double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

void RunPauseBench(bool quick);
void RunDirtyBench(bool quick);
void RunStateBench(bool quick);
void RunSnapshotBench(bool quick);
void RunWriteBench(bool quick);

}  // namespace ftvm::vmm::bench
