// An open /dev/kvm: API version and capability checks, plus the system-wide queries every VM
// needs (vCPU mmap size, MSR index list, supported CPUID), read once at Open().
//
// Move-only; const methods are safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "vmm/kvm_headers.h"

namespace ftvm::vmm {

inline constexpr const char* kDefaultKvmPath = "/dev/kvm";

class Kvm {
 public:
  // Opens `path`, checks KVM_GET_API_VERSION == 12 and the extensions every VM here needs
  // (USER_MEMORY, XSAVE, XCRS, VCPU_EVENTS, DEBUGREGS, ADJUST_CLOCK, EXT_CPUID, ...).
  // kUnsupported naming the missing piece, or kSys when the device cannot be opened.
  static Result<Kvm> Open(const char* path = kDefaultKvmPath);

  // Why KVM cannot be used here ("" when it can): for tests that skip and for --help output.
  static std::string Unavailable(const char* path = kDefaultKvmPath);

  int fd() const { return fd_.get(); }
  // KVM_CHECK_EXTENSION on the system fd: 0 when absent, else a capability-specific value.
  int CheckExtension(long capability) const;
  size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
  // Every MSR index KVM can save and restore (KVM_GET_MSR_INDEX_LIST).
  const std::vector<uint32_t>& msr_indices() const { return msr_indices_; }
  // KVM_GET_SUPPORTED_CPUID, given to every vCPU with KVM_SET_CPUID2.
  const std::vector<kvm_cpuid_entry2>& supported_cpuid() const { return supported_cpuid_; }

 private:
  Kvm() = default;
  Result<void> Probe();

  UniqueFd fd_;
  size_t vcpu_mmap_size_ = 0;
  std::vector<uint32_t> msr_indices_;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
};

}  // namespace ftvm::vmm
