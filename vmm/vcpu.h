// One KVM vCPU: its fd, the shared kvm_run page and (in dirty-ring mode) its dirty ring.
// Get/Set wrap the per-vCPU state ioctls; Run() enters the guest once.
//
// Thread safety: KVM requires vCPU ioctls from the thread that runs the vCPU or while it is
// not running; VcpuThread guarantees that (state is saved only while paused). The kvm_run page
// is written by the kernel during Run() and read by the running thread afterwards.
#pragma once

#include <cstdint>
#include <span>

#include "base/mapping.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"

namespace ftvm::vmm {

enum class RunOutcome {
  kExit,         // the guest exited; run()->exit_reason says why
  kInterrupted,  // KVM_RUN returned EINTR/EAGAIN (a signal or immediate_exit): nothing pending
};

class Vcpu {
 public:
  // KVM_CREATE_VCPU, maps kvm_run (and the dirty ring when `dirty_ring_entries` > 0, which
  // requires the VM to have KVM_CAP_DIRTY_LOG_RING enabled), and sets CPUID to what KVM
  // supports.
  static Result<Vcpu> Create(const Kvm& kvm, const Vm& vm, uint32_t index,
                             uint32_t dirty_ring_entries);

  uint32_t index() const { return index_; }
  int fd() const { return fd_.get(); }
  kvm_run* run() const { return reinterpret_cast<kvm_run*>(run_map_.data()); }
  std::span<kvm_dirty_gfn> dirty_ring() const {
    return {reinterpret_cast<kvm_dirty_gfn*>(ring_map_.data()),
            ring_map_.size() / sizeof(kvm_dirty_gfn)};
  }

  // One KVM_RUN. Errors other than EINTR/EAGAIN are kSys naming KVM_RUN.
  Result<RunOutcome> Run();

  // The guest TSC frequency (KVM_GET_TSC_KHZ), 0 when unknown.
  uint32_t TscKhz() const;

  // Fixed-size state: T and the ioctl must match (KVM_GET_REGS with kvm_regs, ...).
  template <class T>
  Result<T> Get(unsigned long request, const char* name) const;
  template <class T>
  Result<void> Set(unsigned long request, const char* name, const T& value);

 private:
  Vcpu() = default;

  uint32_t index_ = 0;
  UniqueFd fd_;       // declared first: destroyed last, after the mappings of it
  Mapping run_map_;   // kvm_run
  Mapping ring_map_;  // kvm_dirty_gfn[dirty_ring_entries] or empty
};

Result<void> VcpuIoctl(int fd, unsigned long request, const char* name, void* arg);

template <class T>
Result<T> Vcpu::Get(unsigned long request, const char* name) const {
  T value{};
  FTVM_TRY(VcpuIoctl(fd(), request, name, &value));
  return value;
}

template <class T>
Result<void> Vcpu::Set(unsigned long request, const char* name, const T& value) {
  T copy = value;
  return VcpuIoctl(fd(), request, name, &copy);
}

#define FTVM_VCPU_GET(vcpu, type, req) (vcpu).Get<type>((req), #req)
#define FTVM_VCPU_SET(vcpu, req, value) (vcpu).Set((req), #req, (value))

}  // namespace ftvm::vmm
