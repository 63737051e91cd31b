// The one ioctl path of the VMM: every failure names the request that failed.
//
//   FTVM_ASSIGN_OR_RETURN(int fd, FTVM_IOCTL(vm_fd, KVM_CREATE_VCPU, index));
//   -> on failure: kSys error "KVM_CREATE_VCPU: Invalid argument" (errno kept in the Error)
//
// Nothing here retries: EINTR from KVM_RUN is how a pause arrives, so callers that expect it
// use FTVM_IOCTL_ERRNO and branch on the errno. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <type_traits>

#include "base/result.h"

namespace ftvm::vmm {

// Returns ioctl's non-negative result, or a kSys error "<request_name>: <strerror>".
Result<int> Ioctl(int fd, unsigned long request, const char* request_name, uintptr_t arg);
// Returns 0 or the errno of the failed call (for calls where some errnos are expected).
int IoctlErrno(int fd, unsigned long request, uintptr_t arg);

template <class T>
uintptr_t IoctlArg(T arg) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<uintptr_t>(arg);
  } else {
    static_assert(std::is_integral_v<T>, "ioctl argument must be a pointer or an integer");
    return static_cast<uintptr_t>(arg);
  }
}

}  // namespace ftvm::vmm

#define FTVM_IOCTL(fd, req, arg) ::ftvm::vmm::Ioctl((fd), (req), #req, ::ftvm::vmm::IoctlArg(arg))
#define FTVM_IOCTL_ERRNO(fd, req, arg) \
  ::ftvm::vmm::IoctlErrno((fd), (req), ::ftvm::vmm::IoctlArg(arg))
