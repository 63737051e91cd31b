#include "vmm/vcpu_state.h"

#include "base/wire.h"
#include "vmm/flex_buffer.h"
#include "vmm/ioctl.h"
#include "vmm/log.h"

namespace ftvm::vmm {
namespace {

std::string Name(const Vcpu& vcpu, std::string_view part) {
  return fmt::format("cpu{}.{}", vcpu.index(), part);
}

size_t XsaveBytes(const Vm& vm) {
  const int size = vm.CheckExtension(KVM_CAP_XSAVE2);
  return size > static_cast<int>(sizeof(kvm_xsave)) ? static_cast<size_t>(size) : sizeof(kvm_xsave);
}

Result<std::vector<std::byte>> GetXsave(const Vm& vm, const Vcpu& vcpu) {
  std::vector<std::byte> buffer(XsaveBytes(vm));
  if (vm.CheckExtension(KVM_CAP_XSAVE2) > 0) {
    FTVM_TRY(FTVM_IOCTL(vcpu.fd(), KVM_GET_XSAVE2, buffer.data()));
  } else {
    FTVM_TRY(FTVM_IOCTL(vcpu.fd(), KVM_GET_XSAVE, buffer.data()));
  }
  return buffer;
}

// KVM_GET_MSRS/KVM_SET_MSRS process entries in order and return how many succeeded; an MSR
// KVM lists but cannot access on this host stops the batch. Skip it and go on, so one odd
// MSR never costs the rest. Returns the entries that were processed.
template <bool kSet>
std::vector<kvm_msr_entry> TransferMsrs(const Vcpu& vcpu, std::vector<kvm_msr_entry> entries,
                                        std::vector<uint32_t>& skipped) {
  std::vector<kvm_msr_entry> done;
  size_t at = 0;
  while (at < entries.size()) {
    const size_t n = entries.size() - at;
    FlexBuffer<kvm_msrs, kvm_msr_entry> buf(n);
    buf->nmsrs = static_cast<uint32_t>(n);
    std::copy(entries.begin() + static_cast<long>(at), entries.end(), buf->entries);
    auto r = kSet ? FTVM_IOCTL(vcpu.fd(), KVM_SET_MSRS, buf.get())
                  : FTVM_IOCTL(vcpu.fd(), KVM_GET_MSRS, buf.get());
    const size_t ok = r ? static_cast<size_t>(*r) : 0;
    done.insert(done.end(), buf->entries, buf->entries + ok);
    at += ok;
    if (at < entries.size()) skipped.push_back(entries[at++].index);
  }
  return done;
}

std::vector<std::byte> EncodeMsrs(const std::vector<kvm_msr_entry>& msrs) {
  std::vector<std::byte> out;
  WireWriter w(&out);
  w.Put(static_cast<uint32_t>(msrs.size()));
  for (const kvm_msr_entry& e : msrs) w.Put(e.index).Put(e.data);
  return out;
}

Result<std::vector<kvm_msr_entry>> DecodeMsrs(std::span<const std::byte> bytes) {
  WireReader r(bytes);
  const auto count = r.Get<uint32_t>();
  if (count > 4096) return Fail(ErrorCode::kCorrupt, "state: {} MSRs", count);
  std::vector<kvm_msr_entry> msrs(count);
  for (kvm_msr_entry& e : msrs) {
    e.index = r.Get<uint32_t>();
    e.data = r.Get<uint64_t>();
  }
  FTVM_TRY(r.Finish("MSR section"));
  return msrs;
}

}  // namespace

Result<void> SaveVcpuState(const Kvm& kvm, const Vm& vm, const Vcpu& vcpu, VmState& state) {
  FTVM_ASSIGN_OR_RETURN(auto regs, FTVM_VCPU_GET(vcpu, kvm_regs, KVM_GET_REGS));
  FTVM_ASSIGN_OR_RETURN(auto sregs, FTVM_VCPU_GET(vcpu, kvm_sregs, KVM_GET_SREGS));
  FTVM_ASSIGN_OR_RETURN(auto xcrs, FTVM_VCPU_GET(vcpu, kvm_xcrs, KVM_GET_XCRS));
  FTVM_ASSIGN_OR_RETURN(auto events, FTVM_VCPU_GET(vcpu, kvm_vcpu_events, KVM_GET_VCPU_EVENTS));
  FTVM_ASSIGN_OR_RETURN(auto debugregs, FTVM_VCPU_GET(vcpu, kvm_debugregs, KVM_GET_DEBUGREGS));
  FTVM_ASSIGN_OR_RETURN(auto mp_state, FTVM_VCPU_GET(vcpu, kvm_mp_state, KVM_GET_MP_STATE));
  FTVM_ASSIGN_OR_RETURN(auto xsave, GetXsave(vm, vcpu));
  std::vector<kvm_msr_entry> wanted;
  for (uint32_t index : kvm.msr_indices())
    wanted.push_back({.index = index, .reserved = 0, .data = 0});
  std::vector<uint32_t> skipped;
  const auto msrs = TransferMsrs<false>(vcpu, std::move(wanted), skipped);
  if (!skipped.empty()) Log().debug("vCPU {}: {} MSRs unreadable", vcpu.index(), skipped.size());

  state.PutStruct(Name(vcpu, "regs"), regs);
  state.PutStruct(Name(vcpu, "sregs"), sregs);
  state.Put(Name(vcpu, "xsave"), std::move(xsave));
  state.PutStruct(Name(vcpu, "xcrs"), xcrs);
  state.Put(Name(vcpu, "msrs"), EncodeMsrs(msrs));
  state.PutStruct(Name(vcpu, "events"), events);
  state.PutStruct(Name(vcpu, "debugregs"), debugregs);
  state.PutStruct(Name(vcpu, "mp_state"), mp_state);
  if (vm.has_irqchip()) {
    FTVM_ASSIGN_OR_RETURN(auto lapic, FTVM_VCPU_GET(vcpu, kvm_lapic_state, KVM_GET_LAPIC));
    state.PutStruct(Name(vcpu, "lapic"), lapic);
  }
  return {};
}

Result<void> LoadVcpuState(const Vm& vm, Vcpu& vcpu, const VmState& state) {
  FTVM_ASSIGN_OR_RETURN(auto regs, state.GetStruct<kvm_regs>(Name(vcpu, "regs")));
  FTVM_ASSIGN_OR_RETURN(auto sregs, state.GetStruct<kvm_sregs>(Name(vcpu, "sregs")));
  FTVM_ASSIGN_OR_RETURN(auto xcrs, state.GetStruct<kvm_xcrs>(Name(vcpu, "xcrs")));
  FTVM_ASSIGN_OR_RETURN(auto events, state.GetStruct<kvm_vcpu_events>(Name(vcpu, "events")));
  FTVM_ASSIGN_OR_RETURN(auto debugregs, state.GetStruct<kvm_debugregs>(Name(vcpu, "debugregs")));
  FTVM_ASSIGN_OR_RETURN(auto mp_state, state.GetStruct<kvm_mp_state>(Name(vcpu, "mp_state")));
  FTVM_ASSIGN_OR_RETURN(auto xsave_bytes, state.Get(Name(vcpu, "xsave")));
  FTVM_ASSIGN_OR_RETURN(auto msr_bytes, state.Get(Name(vcpu, "msrs")));
  FTVM_ASSIGN_OR_RETURN(auto msrs, DecodeMsrs(msr_bytes));
  if (xsave_bytes.size() != XsaveBytes(vm)) {
    return Fail(ErrorCode::kCorrupt, "state: XSAVE area of {} bytes, this host uses {}",
                xsave_bytes.size(), XsaveBytes(vm));
  }
  if (vm.has_irqchip() != state.Has(Name(vcpu, "lapic"))) {
    return Fail(ErrorCode::kCorrupt, "state: irqchip presence differs from the saved VM");
  }
  std::vector<std::byte> xsave(xsave_bytes.begin(), xsave_bytes.end());
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_REGS, regs));
  FTVM_TRY(FTVM_IOCTL(vcpu.fd(), KVM_SET_XSAVE, xsave.data()));
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_XCRS, xcrs));
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_SREGS, sregs));
  std::vector<uint32_t> skipped;
  TransferMsrs<true>(vcpu, std::move(msrs), skipped);
  if (!skipped.empty()) Log().debug("vCPU {}: {} MSRs not settable", vcpu.index(), skipped.size());
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_MP_STATE, mp_state));
  if (vm.has_irqchip()) {
    FTVM_ASSIGN_OR_RETURN(auto lapic, state.GetStruct<kvm_lapic_state>(Name(vcpu, "lapic")));
    FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_LAPIC, lapic));
  }
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_VCPU_EVENTS, events));
  FTVM_TRY(FTVM_VCPU_SET(vcpu, KVM_SET_DEBUGREGS, debugregs));
  return {};
}

}  // namespace ftvm::vmm
