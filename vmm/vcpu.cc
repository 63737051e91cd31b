#include "vmm/vcpu.h"

#include <sys/mman.h>
#include <unistd.h>

#include "vmm/flex_buffer.h"
#include "vmm/ioctl.h"

namespace ftvm::vmm {

Result<void> VcpuIoctl(int fd, unsigned long request, const char* name, void* arg) {
  FTVM_TRY(Ioctl(fd, request, name, reinterpret_cast<uintptr_t>(arg)));
  return {};
}

Result<Vcpu> Vcpu::Create(const Kvm& kvm, const Vm& vm, uint32_t index,
                          uint32_t dirty_ring_entries) {
  Vcpu vcpu;
  vcpu.index_ = index;
  FTVM_ASSIGN_OR_RETURN(const int fd, FTVM_IOCTL(vm.fd(), KVM_CREATE_VCPU, index));
  vcpu.fd_.Reset(fd);
  FTVM_ASSIGN_OR_RETURN(
      vcpu.run_map_, Mapping::MapFd(fd, kvm.vcpu_mmap_size(), PROT_READ | PROT_WRITE, MAP_SHARED));
  if (dirty_ring_entries > 0) {
    const auto page = static_cast<off_t>(::sysconf(_SC_PAGESIZE));
    FTVM_ASSIGN_OR_RETURN(
        vcpu.ring_map_,
        Mapping::MapFd(fd, dirty_ring_entries * sizeof(kvm_dirty_gfn), PROT_READ | PROT_WRITE,
                       MAP_SHARED, KVM_DIRTY_LOG_PAGE_OFFSET * page));
  }
  const auto& entries = kvm.supported_cpuid();
  FlexBuffer<kvm_cpuid2, kvm_cpuid_entry2> cpuid(entries.size());
  cpuid->nent = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), cpuid->entries);
  FTVM_TRY_CTX(FTVM_IOCTL(fd, KVM_SET_CPUID2, cpuid.get()), fmt::format("vCPU {}", index));
  return vcpu;
}

Result<RunOutcome> Vcpu::Run() {
  const int err = FTVM_IOCTL_ERRNO(fd(), KVM_RUN, 0);
  if (err == 0) return RunOutcome::kExit;
  if (err == EINTR || err == EAGAIN) return RunOutcome::kInterrupted;
  errno = err;
  return SysFail("KVM_RUN vCPU {}", index_);
}

uint32_t Vcpu::TscKhz() const {
  auto r = FTVM_IOCTL(fd(), KVM_GET_TSC_KHZ, 0);
  return r ? static_cast<uint32_t>(*r) : 0;
}

}  // namespace ftvm::vmm
