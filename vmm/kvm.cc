#include "vmm/kvm.h"

#include <fcntl.h>

#include <array>
#include <cstring>

#include "vmm/flex_buffer.h"
#include "vmm/ioctl.h"

namespace ftvm::vmm {
namespace {

constexpr int kApiVersion = 12;

struct RequiredCap {
  long cap;
  const char* name;
};
constexpr std::array kRequiredCaps = {
    RequiredCap{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    RequiredCap{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    RequiredCap{KVM_CAP_XSAVE, "KVM_CAP_XSAVE"},
    RequiredCap{KVM_CAP_XCRS, "KVM_CAP_XCRS"},
    RequiredCap{KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    RequiredCap{KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS"},
    RequiredCap{KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK"},
    RequiredCap{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

}  // namespace

Result<Kvm> Kvm::Open(const char* path) {
  Kvm kvm;
  kvm.fd_.Reset(::open(path, O_RDWR | O_CLOEXEC));
  if (!kvm.fd_) {
    if (errno == ENOENT) return Fail(ErrorCode::kUnsupported, "no {} (KVM not available)", path);
    return SysFail("open {}", path);
  }
  FTVM_TRY_CTX(kvm.Probe(), path);
  return kvm;
}

std::string Kvm::Unavailable(const char* path) {
  auto kvm = Open(path);
  return kvm ? std::string() : kvm.error().ToString();
}

int Kvm::CheckExtension(long capability) const {
  auto r = FTVM_IOCTL(fd(), KVM_CHECK_EXTENSION, capability);
  return r ? *r : 0;
}

Result<void> Kvm::Probe() {
  FTVM_ASSIGN_OR_RETURN(const int version, FTVM_IOCTL(fd(), KVM_GET_API_VERSION, 0));
  if (version != kApiVersion) {
    return Fail(ErrorCode::kUnsupported, "KVM API version {}, need {}", version, kApiVersion);
  }
  for (const RequiredCap& c : kRequiredCaps) {
    if (CheckExtension(c.cap) <= 0) return Fail(ErrorCode::kUnsupported, "{} missing", c.name);
  }
  FTVM_ASSIGN_OR_RETURN(const int mmap_size, FTVM_IOCTL(fd(), KVM_GET_VCPU_MMAP_SIZE, 0));
  vcpu_mmap_size_ = static_cast<size_t>(mmap_size);

  // The kernel reports the needed count with E2BIG when the buffer is too small.
  kvm_msr_list probe{};
  if (FTVM_IOCTL_ERRNO(fd(), KVM_GET_MSR_INDEX_LIST, &probe) != E2BIG && probe.nmsrs == 0) {
    return Fail(ErrorCode::kUnsupported, "KVM_GET_MSR_INDEX_LIST returned no MSRs");
  }
  FlexBuffer<kvm_msr_list, uint32_t> msrs(probe.nmsrs);
  msrs.get()->nmsrs = probe.nmsrs;
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_GET_MSR_INDEX_LIST, msrs.get()));
  msr_indices_.assign(msrs.get()->indices, msrs.get()->indices + msrs.get()->nmsrs);

  constexpr uint32_t kMaxCpuidEntries = 256;
  FlexBuffer<kvm_cpuid2, kvm_cpuid_entry2> cpuid(kMaxCpuidEntries);
  cpuid.get()->nent = kMaxCpuidEntries;
  FTVM_TRY(FTVM_IOCTL(fd(), KVM_GET_SUPPORTED_CPUID, cpuid.get()));
  supported_cpuid_.assign(cpuid.get()->entries, cpuid.get()->entries + cpuid.get()->nent);
  return {};
}

}  // namespace ftvm::vmm
