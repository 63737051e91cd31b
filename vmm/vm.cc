#include "vmm/vm.h"

#include "vmm/ioctl.h"
#include "vmm/log.h"

namespace ftvm::vmm {

Result<Vm> Vm::Create(const Kvm& kvm) {
  FTVM_ASSIGN_OR_RETURN(const int fd, FTVM_IOCTL(kvm.fd(), KVM_CREATE_VM, 0));
  Vm vm{UniqueFd(fd)};
  // Only VT-x without unrestricted guest needs the TSS region (for real mode); harmless
  // elsewhere, and some hosts (PVM) do not implement it.
  if (auto r = FTVM_IOCTL(vm.fd(), KVM_SET_TSS_ADDR, 0xfffbd000ul); !r) {
    Log().debug("{} (ignored)", r.error().ToString());
  }
  return vm;
}

int Vm::CheckExtension(long capability) const {
  auto r = FTVM_IOCTL(fd(), KVM_CHECK_EXTENSION, capability);
  return r ? *r : 0;
}

Result<void> Vm::EnableCap(uint32_t capability, uint64_t arg0) {
  kvm_enable_cap cap{};
  cap.cap = capability;
  cap.args[0] = arg0;
  FTVM_TRY_CTX(FTVM_IOCTL(fd(), KVM_ENABLE_CAP, &cap), fmt::format("capability {}", capability));
  return {};
}

Result<void> Vm::SetMemoryRegion(uint32_t slot, uint64_t gpa, uint64_t size, void* hva,
                                 uint32_t flags) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(hva);
  FTVM_TRY_CTX(FTVM_IOCTL(fd(), KVM_SET_USER_MEMORY_REGION, &region),
               fmt::format("slot {} gpa {:#x} size {:#x}", slot, gpa, size));
  return {};
}

Result<void> Vm::CreateIrqchip() {
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_CREATE_IRQCHIP, 0));
  has_irqchip_ = true;
  return {};
}

Result<void> Vm::CreatePit() {
  kvm_pit_config config{};
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_CREATE_PIT2, &config));
  has_pit_ = true;
  return {};
}

Result<kvm_clock_data> Vm::GetClock() const {
  kvm_clock_data clock{};
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_GET_CLOCK, &clock));
  return clock;
}

Result<void> Vm::SetClock(const kvm_clock_data& clock) {
  kvm_clock_data copy{};
  copy.clock = clock.clock;  // flags such as KVM_CLOCK_TSC_STABLE are output-only
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_SET_CLOCK, &copy));
  return {};
}

Result<void> Vm::GetIrqchip(kvm_irqchip& chip) const {
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_GET_IRQCHIP, &chip));
  return {};
}

Result<void> Vm::SetIrqchip(const kvm_irqchip& chip) {
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_SET_IRQCHIP, &chip));
  return {};
}

Result<kvm_pit_state2> Vm::GetPit() const {
  kvm_pit_state2 pit{};
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_GET_PIT2, &pit));
  return pit;
}

Result<void> Vm::SetPit(const kvm_pit_state2& pit) {
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_SET_PIT2, &pit));
  return {};
}

Result<void> Vm::GetDirtyLog(uint32_t slot, uint64_t* bitmap) const {
  kvm_dirty_log log{};
  log.slot = slot;
  log.dirty_bitmap = bitmap;
  FTVM_TRY_CTX(FTVM_IOCTL(fd(), KVM_GET_DIRTY_LOG, &log), fmt::format("slot {}", slot));
  return {};
}

Result<void> Vm::ClearDirtyLog(uint32_t slot, uint64_t first_page, uint32_t num_pages,
                               uint64_t* bitmap) const {
  kvm_clear_dirty_log clear{};
  clear.slot = slot;
  clear.first_page = first_page;
  clear.num_pages = num_pages;
  clear.dirty_bitmap = bitmap;
  FTVM_TRY_CTX(FTVM_IOCTL(fd(), KVM_CLEAR_DIRTY_LOG, &clear),
               fmt::format("slot {} pages [{}, +{})", slot, first_page, num_pages));
  return {};
}

Result<int> Vm::ResetDirtyRings() const { return FTVM_IOCTL(fd(), KVM_RESET_DIRTY_RINGS, 0); }

}  // namespace ftvm::vmm
