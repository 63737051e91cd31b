// Runs one vCPU on its own thread: KVM_RUN, exit dispatch (port I/O to the bus, dirty-ring-full
// to the dirty log), and the pause/resume handshake.
//
// Pause: RequestPause() sets a flag and signals the thread; the signal handler sets
// kvm_run.immediate_exit so KVM_RUN returns EINTR at once, and the loop also sets it from the
// flag right before entering, so no signal can be lost in between. The thread parks only after
// a KVM_RUN that returned EINTR, i.e. with every pending I/O completed (KVM finishes an
// in-flight exit on the next KVM_RUN before it checks immediate_exit), so a parked vCPU's state
// is consistent for saving. WaitPaused() re-signals every millisecond until the thread has
// parked (some sanitizers defer signal handlers), bounded by a deadline.
//
// Thread safety: RequestPause/WaitPaused/Resume/Stop are called from one controlling thread
// (Machine) at a time; observers (state()) from any thread.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "base/result.h"
#include "base/time.h"
#include "vmm/devices/io_bus.h"
#include "vmm/vcpu.h"

namespace ftvm::vmm {

struct VcpuHooks {
  IoBus* bus = nullptr;
  // KVM_EXIT_DIRTY_RING_FULL: harvest this vCPU's ring (runs on the vCPU thread).
  std::function<Result<void>(Vcpu&)> on_dirty_ring_full;
  // The guest asked to exit, or the vCPU failed (`error` set). Runs on the vCPU thread, once.
  std::function<void(uint32_t index, const std::optional<Error>& error)> on_finish;
};

enum class VcpuState : uint8_t { kStarting, kRunning, kPaused, kFinished };

class VcpuThread {
 public:
  // Starts the thread parked (no KVM_RUN until Resume()). `cpu` >= 0 pins it to that core
  // (a failure to pin is logged, not fatal).
  static Result<std::unique_ptr<VcpuThread>> Start(Vcpu& vcpu, VcpuHooks hooks, int cpu);
  ~VcpuThread();  // Stop()s and joins
  VcpuThread(const VcpuThread&) = delete;
  VcpuThread& operator=(const VcpuThread&) = delete;

  void RequestPause();
  // Returns once the thread is parked or finished; kTimeout otherwise (the request stays).
  Result<void> WaitPaused(Deadline deadline);
  // Unparks; returns once the thread acknowledged (kTimeout otherwise).
  Result<void> Resume(Deadline deadline);
  // Stops the loop for good and joins. Idempotent.
  void Stop();

  VcpuState state() const;
  uint32_t index() const { return vcpu_.index(); }

 private:
  enum class Request : uint8_t { kRun, kPause, kStop };

  VcpuThread(Vcpu& vcpu, VcpuHooks hooks, int cpu)
      : vcpu_(vcpu), hooks_(std::move(hooks)), cpu_(cpu) {}
  void Loop();
  Result<bool> RunOnce();  // false: the guest exited
  Result<bool> HandleExit();
  bool Park();  // false: stop requested
  void SetState(VcpuState state);
  void Signal();

  Vcpu& vcpu_;
  VcpuHooks hooks_;
  const int cpu_;
  std::atomic<Request> request_{Request::kPause};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  VcpuState state_ = VcpuState::kStarting;
  std::thread thread_;
  pthread_t handle_{};
};

}  // namespace ftvm::vmm
