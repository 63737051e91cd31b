// Save and restore the complete architectural state of one vCPU as VmState sections named
// "cpu<N>.<part>": regs, sregs, xsave (KVM_GET_XSAVE2 when available), xcrs, msrs (every index
// in KVM's MSR list that it lets us read), events, debugregs, mp_state, and lapic when the VM
// has an in-kernel irqchip.
//
// Call only while the vCPU is not running (paused or never started). Restore order follows
// KVM's dependencies: registers and XSAVE before SREGS, MSRs after SREGS, then MP state,
// LAPIC, events and debug registers.
#pragma once

#include "base/result.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

namespace ftvm::vmm {

Result<void> SaveVcpuState(const Kvm& kvm, const Vm& vm, const Vcpu& vcpu, VmState& state);
Result<void> LoadVcpuState(const Vm& vm, Vcpu& vcpu, const VmState& state);

}  // namespace ftvm::vmm
