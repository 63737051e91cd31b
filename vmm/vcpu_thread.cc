#include "vmm/vcpu_thread.h"

#include <sched.h>
#include <signal.h>

#include <cstring>

#include "vmm/log.h"
#include "vmm/trace_events.h"

namespace ftvm::vmm {
namespace {

constexpr auto kResignalPeriod = std::chrono::milliseconds(1);

// The kvm_run of the vCPU this thread runs, for the signal handler.
thread_local kvm_run* tls_run = nullptr;

int PauseSignal() { return SIGRTMIN + 3; }

void OnPauseSignal(int) {
  if (kvm_run* run = tls_run) run->immediate_exit = 1;
}

void InstallSignalHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa{};
    sa.sa_handler = OnPauseSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    ::sigaction(PauseSignal(), &sa, nullptr);
  });
}

// "rip=... rsp=..." for error messages about a dead guest.
std::string DescribeCpu(const Vcpu& vcpu) {
  auto regs = FTVM_VCPU_GET(vcpu, kvm_regs, KVM_GET_REGS);
  auto sregs = FTVM_VCPU_GET(vcpu, kvm_sregs, KVM_GET_SREGS);
  if (!regs || !sregs) return "(registers unreadable)";
  return fmt::format(
      "rip={:#x} rsp={:#x} rflags={:#x} cs={:#x} cr0={:#x} cr3={:#x} cr4={:#x} "
      "efer={:#x}",
      regs->rip, regs->rsp, regs->rflags, sregs->cs.selector, sregs->cr0, sregs->cr3, sregs->cr4,
      sregs->efer);
}

void PinTo(int cpu, uint32_t index) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int err = ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set); err != 0) {
    Log().warn("vCPU {}: cannot pin to CPU {}: {}", index, cpu, std::strerror(err));
  }
}

}  // namespace

Result<std::unique_ptr<VcpuThread>> VcpuThread::Start(Vcpu& vcpu, VcpuHooks hooks, int cpu) {
  InstallSignalHandler();
  std::unique_ptr<VcpuThread> t(new VcpuThread(vcpu, std::move(hooks), cpu));
  std::unique_lock lock(t->mu_);
  t->thread_ = std::thread([raw = t.get()] { raw->Loop(); });
  t->handle_ = t->thread_.native_handle();
  t->cv_.wait(lock, [&] { return t->state_ != VcpuState::kStarting; });
  return t;
}

VcpuThread::~VcpuThread() { Stop(); }

void VcpuThread::SetState(VcpuState state) {
  {
    std::lock_guard lock(mu_);
    state_ = state;
  }
  cv_.notify_all();
}

VcpuState VcpuThread::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

void VcpuThread::Signal() { ::pthread_kill(handle_, PauseSignal()); }

void VcpuThread::RequestPause() {
  Request expected = Request::kRun;
  request_.compare_exchange_strong(expected, Request::kPause);
  std::lock_guard lock(mu_);
  if (state_ == VcpuState::kRunning) Signal();
}

Result<void> VcpuThread::WaitPaused(Deadline deadline) {
  std::unique_lock lock(mu_);
  while (state_ == VcpuState::kRunning) {
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "vCPU {} did not pause in time", index());
    }
    cv_.wait_for(lock, std::min<Nanos>(kResignalPeriod, deadline.remaining()));
    if (state_ == VcpuState::kRunning) Signal();
  }
  return {};
}

Result<void> VcpuThread::Resume(Deadline deadline) {
  std::unique_lock lock(mu_);
  if (state_ != VcpuState::kPaused) return {};
  request_.store(Request::kRun);
  cv_.notify_all();
  while (state_ == VcpuState::kPaused) {
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "vCPU {} did not resume in time", index());
    }
    cv_.wait_for(lock, deadline.remaining());
  }
  return {};
}

void VcpuThread::Stop() {
  if (!thread_.joinable()) return;
  request_.store(Request::kStop);
  {
    std::lock_guard lock(mu_);
    if (state_ == VcpuState::kRunning) Signal();
  }
  cv_.notify_all();
  // The handler may have been deferred (see WaitPaused): keep signalling until the loop ends.
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, kResignalPeriod, [&] { return state_ == VcpuState::kFinished; })) {
    if (state_ == VcpuState::kRunning) Signal();
  }
  lock.unlock();
  thread_.join();
}

bool VcpuThread::Park() {
  trace_vmm_vcpu_park(index());
  std::unique_lock lock(mu_);
  state_ = VcpuState::kPaused;
  cv_.notify_all();
  cv_.wait(lock, [&] { return request_.load() != Request::kPause; });
  if (request_.load() == Request::kStop) return false;
  state_ = VcpuState::kRunning;
  cv_.notify_all();
  return true;
}

void VcpuThread::Loop() {
  tls_run = vcpu_.run();
  PinTo(cpu_, index());
  std::optional<Error> error;
  bool running = Park();
  while (running) {
    auto r = RunOnce();
    if (!r) {
      error = std::move(r).error();
      break;
    }
    running = *r;
  }
  tls_run = nullptr;
  if (error) Log().error("vCPU {}: {}", index(), error->ToString());
  if (hooks_.on_finish && request_.load() != Request::kStop) hooks_.on_finish(index(), error);
  SetState(VcpuState::kFinished);
}

Result<bool> VcpuThread::RunOnce() {
  // Set from the flag *before* entering: a pause requested after this store is caught by the
  // signal handler (which also sets it), one requested before by this load.
  vcpu_.run()->immediate_exit = request_.load() != Request::kRun ? 1 : 0;
  FTVM_ASSIGN_OR_RETURN(const RunOutcome outcome, vcpu_.Run());
  if (outcome == RunOutcome::kInterrupted) {
    if (request_.load() == Request::kRun) return true;  // a late signal from an earlier pause
    return Park();
  }
  return HandleExit();
}

Result<bool> VcpuThread::HandleExit() {
  kvm_run* run = vcpu_.run();
  switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      const auto dir = run->io.direction == KVM_EXIT_IO_OUT ? IoDirection::kOut : IoDirection::kIn;
      trace_vmm_exit_io(index(), run->io.port, dir == IoDirection::kOut, run->io.size,
                        run->io.count);
      auto* data = reinterpret_cast<std::byte*>(run) + run->io.data_offset;
      for (uint32_t i = 0; i < run->io.count; ++i) {
        const std::span<std::byte> access(data + i * run->io.size, run->io.size);
        if (hooks_.bus->Dispatch(run->io.port, dir, access) == IoAction::kExitVm) return false;
      }
      return true;
    }
    case KVM_EXIT_DIRTY_RING_FULL:
      trace_vmm_dirty_ring_full(index(), static_cast<uint32_t>(vcpu_.dirty_ring().size()));
      if (!hooks_.on_dirty_ring_full) {
        return Fail(ErrorCode::kInternal, "dirty ring full but no dirty log attached");
      }
      FTVM_TRY_CTX(hooks_.on_dirty_ring_full(vcpu_), "harvest full dirty ring");
      return true;
    case KVM_EXIT_INTR:
      return true;
    case KVM_EXIT_MMIO:
      // No MMIO devices: reads see all ones, writes are dropped (like an empty bus).
      if (!run->mmio.is_write) std::memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
      trace_vmm_exit_other(index(), run->exit_reason);
      return true;
    case KVM_EXIT_SHUTDOWN:
      return Fail(ErrorCode::kAborted,
                  "guest shut down (triple fault: an exception at CPL3 with no IDT) at {}",
                  DescribeCpu(vcpu_));
    case KVM_EXIT_HLT:
      return Fail(ErrorCode::kAborted, "guest halted");
    case KVM_EXIT_FAIL_ENTRY:
      return Fail(ErrorCode::kInternal, "VM entry failed, hardware reason {:#x}",
                  run->fail_entry.hardware_entry_failure_reason);
    case KVM_EXIT_INTERNAL_ERROR:
      return Fail(ErrorCode::kInternal, "KVM internal error, suberror {}", run->internal.suberror);
    default:
      return Fail(ErrorCode::kInternal, "unhandled exit reason {}", run->exit_reason);
  }
}

}  // namespace ftvm::vmm
