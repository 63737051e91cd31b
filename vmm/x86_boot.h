// The x86 structures a CPL3 long-mode guest needs (docs/guest-abi.md): a GDT with user code
// and data segments and a busy 64-bit TSS, identity-mapped page tables of 2 MiB pages with the
// U bit, and a vCPU's initial special and general registers.
//
// Ordinary VT-x/AMD-V hosts check these at VM entry (TR must be a busy 64-bit TSS, segment
// attributes consistent with long mode); PVM here is more lenient, so keep them strict.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "vmm/guest_memory.h"
#include "vmm/vcpu.h"

namespace ftvm::vmm {

// Writes the GDT, TSS and page tables at the ABI's fixed addresses in the block at GPA 0,
// mapping [0, memory.end_gpa()) rounded up to 1 GiB. kInvalidArgument if no block holds the
// first 2 MiB or the address space exceeds what the page-table area can map.
Result<void> WriteLongModeTables(const GuestMemory& memory);

struct InitialRegisters {
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rdi = 0;  // first argument: boot info GPA
  uint64_t rsi = 0;  // second argument: vCPU index
};

// Puts `vcpu` into 64-bit mode at CPL3 (CS 0x33, SS 0x2b), paging on with the tables above,
// SSE and XSAVE enabled (XCR0 = x87|SSE), IOPL 3 so port I/O works at CPL3, interrupts off.
Result<void> SetLongModeState(Vcpu& vcpu, const InitialRegisters& regs);

}  // namespace ftvm::vmm
