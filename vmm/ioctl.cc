#include "vmm/ioctl.h"

#include <sys/ioctl.h>

#include <cerrno>

namespace ftvm::vmm {

Result<int> Ioctl(int fd, unsigned long request, const char* request_name, uintptr_t arg) {
  const int rc = ::ioctl(fd, request, arg);
  if (rc < 0) return SysFail("{}", request_name);
  return rc;
}

int IoctlErrno(int fd, unsigned long request, uintptr_t arg) {
  return ::ioctl(fd, request, arg) < 0 ? errno : 0;
}

}  // namespace ftvm::vmm
