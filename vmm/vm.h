// A KVM virtual machine file descriptor and the VM-wide ioctls: memory slots, capabilities,
// the in-kernel irqchip and PIT, the clock, and the dirty log. vCPUs are separate objects
// (vcpu.h) created from it; they must be destroyed before the Vm (Machine declares them after).
//
// Thread safety: KVM serialises VM ioctls itself; this class holds no mutable state except the
// flags set at creation, so it may be used from any thread once set up.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "base/unique_fd.h"
#include "vmm/kvm.h"

namespace ftvm::vmm {

class Vm {
 public:
  // KVM_CREATE_VM on `kvm`.
  static Result<Vm> Create(const Kvm& kvm);

  int fd() const { return fd_.get(); }
  int CheckExtension(long capability) const;
  Result<void> EnableCap(uint32_t capability, uint64_t arg0);

  // KVM_SET_USER_MEMORY_REGION; `flags` e.g. KVM_MEM_LOG_DIRTY_PAGES. Size 0 deletes the slot.
  Result<void> SetMemoryRegion(uint32_t slot, uint64_t gpa, uint64_t size, void* hva,
                               uint32_t flags);

  // KVM_CREATE_IRQCHIP / KVM_CREATE_PIT2. Must precede vCPU creation.
  Result<void> CreateIrqchip();
  Result<void> CreatePit();
  bool has_irqchip() const { return has_irqchip_; }
  bool has_pit() const { return has_pit_; }

  Result<kvm_clock_data> GetClock() const;
  Result<void> SetClock(const kvm_clock_data& clock);
  Result<void> GetIrqchip(kvm_irqchip& chip) const;  // chip.chip_id selects PIC0/PIC1/IOAPIC
  Result<void> SetIrqchip(const kvm_irqchip& chip);
  Result<kvm_pit_state2> GetPit() const;
  Result<void> SetPit(const kvm_pit_state2& pit);

  // Classic and manual-protect dirty log of one slot. `bitmap` has room for the slot's pages.
  Result<void> GetDirtyLog(uint32_t slot, uint64_t* bitmap) const;
  // Re-protects pages [first_page, first_page + num_pages) whose bits are set in `bitmap`
  // (bit 0 = first_page). first_page must be a multiple of 64.
  Result<void> ClearDirtyLog(uint32_t slot, uint64_t first_page, uint32_t num_pages,
                             uint64_t* bitmap) const;
  // KVM_RESET_DIRTY_RINGS: re-protects every harvested ring entry. Returns entries reset.
  Result<int> ResetDirtyRings() const;

 private:
  explicit Vm(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  bool has_irqchip_ = false;
  bool has_pit_ = false;
};

}  // namespace ftvm::vmm
