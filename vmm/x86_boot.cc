#include "vmm/x86_boot.h"

#include <array>
#include <cstring>

#include "vmm/guests/abi.h"

namespace ftvm::vmm {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kPte = 0x7;        // present | writable | user
constexpr uint64_t kPdeLarge = 0x87;  // ... | 2 MiB page
constexpr uint64_t kTssBase = 104;    // bytes of the 64-bit TSS proper
constexpr uint64_t kIoBitmapBytes = 65536 / 8;
// The TSS, an I/O bitmap with every port allowed, and the all-ones byte that must follow it.
constexpr uint64_t kTssLimit = kTssBase + kIoBitmapBytes;
static_assert(FTVM_TSS_GPA + kTssLimit < FTVM_PML4_GPA, "TSS overlaps the page tables");
constexpr uint64_t kTssRsp0 = 0x10000;  // unused (no ring 0 code), but sane
constexpr uint16_t kGdtEntries = 9;     // null, k-code, k-data, 2 unused, u-data, u-code, TSS x2

constexpr uint64_t kCr0Pe = 1, kCr0Mp = 1 << 1, kCr0Et = 1 << 4, kCr0Ne = 1 << 5, kCr0Wp = 1 << 16,
                   kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1 << 5, kCr4Osfxsr = 1 << 9, kCr4Osxmmexcpt = 1 << 10,
                   kCr4Osxsave = 1 << 18;
constexpr uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10;
constexpr uint64_t kRflagsIopl3 = 0x3002;
constexpr uint64_t kXcr0X87Sse = 0x3;

uint64_t TssDescriptorLow(uint64_t base) {
  return (kTssLimit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
         (((kTssLimit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

template <class T>
void Store(std::span<std::byte> bytes, uint64_t offset, const T& value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

kvm_segment UserSegment(uint16_t selector, bool code) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = code ? 11 : 3;  // execute/read, accessed | read/write, accessed
  s.present = 1;
  s.dpl = 3;
  s.db = code ? 0 : 1;
  s.s = 1;
  s.l = code ? 1 : 0;
  s.g = 1;
  return s;
}

}  // namespace

Result<void> WriteLongModeTables(const GuestMemory& memory) {
  FTVM_ASSIGN_OR_RETURN(auto low, memory.Translate(0, FTVM_DATA_GPA));
  const uint64_t gib = (memory.end_gpa() + kGiB - 1) / kGiB;
  const uint64_t pd_base = FTVM_PML4_GPA + 2 * kPageSize;
  if (pd_base + gib * kPageSize > FTVM_PAGE_TABLE_END) {
    return Fail(ErrorCode::kInvalidArgument, "guest address space of {} GiB is too large", gib);
  }
  std::memset(low.data() + FTVM_PML4_GPA, 0, FTVM_PAGE_TABLE_END - FTVM_PML4_GPA);
  Store(low, FTVM_PML4_GPA, (FTVM_PML4_GPA + kPageSize) | kPte);
  for (uint64_t g = 0; g < gib; ++g) {
    const uint64_t pd = pd_base + g * kPageSize;
    Store(low, FTVM_PML4_GPA + kPageSize + g * 8, pd | kPte);
    for (uint64_t i = 0; i < 512; ++i)
      Store(low, pd + i * 8, (g * kGiB + i * (2 << 20)) | kPdeLarge);
  }

  const std::array<uint64_t, kGdtEntries> gdt = {
      0,
      0x00af9b000000ffff,  // 0x08 kernel code 64
      0x00cf93000000ffff,  // 0x10 kernel data
      0,
      0,
      0x00cff3000000ffff,  // 0x28 user data (DPL 3)
      0x00affb000000ffff,  // 0x30 user code 64 (DPL 3)
      TssDescriptorLow(FTVM_TSS_GPA),
      FTVM_TSS_GPA >> 32,
  };
  Store(low, FTVM_GDT_GPA, gdt);
  std::memset(low.data() + FTVM_TSS_GPA, 0, kTssLimit);
  Store(low, FTVM_TSS_GPA + 4, kTssRsp0);                           // RSP0
  Store(low, FTVM_TSS_GPA + 102, static_cast<uint16_t>(kTssBase));  // I/O map base
  Store(low, FTVM_TSS_GPA + kTssLimit, uint8_t{0xff});
  return {};
}

Result<void> SetLongModeState(Vcpu& vcpu, const InitialRegisters& regs) {
  FTVM_ASSIGN_OR_RETURN(kvm_sregs sregs, FTVM_VCPU_GET(vcpu, kvm_sregs, KVM_GET_SREGS));
  sregs.cs = UserSegment(FTVM_SEL_USER_CS, true);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = UserSegment(FTVM_SEL_USER_DS, false);
  sregs.tr = kvm_segment{};
  sregs.tr.base = FTVM_TSS_GPA;
  sregs.tr.limit = kTssLimit;
  sregs.tr.selector = FTVM_SEL_TSS;
  sregs.tr.type = 11;  // busy 64-bit TSS
  sregs.tr.present = 1;
  sregs.ldt = kvm_segment{};
  sregs.ldt.type = 2;
  sregs.ldt.unusable = 1;
  sregs.gdt.base = FTVM_GDT_GPA;
  sregs.gdt.limit = kGdtEntries * 8 - 1;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;  // no interrupts, ever: any exception shuts the guest down
  sregs.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
  sregs.cr3 = FTVM_PML4_GPA;
  sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt | kCr4Osxsave;
  sregs.efer = kEferLme | kEferLma;
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_SREGS, sregs));

  kvm_xcrs xcrs{};
  xcrs.nr_xcrs = 1;
  xcrs.xcrs[0].xcr = 0;
  xcrs.xcrs[0].value = kXcr0X87Sse;
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_XCRS, xcrs));

  kvm_regs r{};
  r.rip = regs.rip;
  r.rsp = regs.rsp;
  r.rdi = regs.rdi;
  r.rsi = regs.rsi;
  r.rflags = kRflagsIopl3;
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_REGS, r));
  return {};
}

}  // namespace ftvm::vmm
