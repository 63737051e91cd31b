#include "base/unique_fd.h"

#include <unistd.h>

namespace ftvm {

void UniqueFd::Reset(int fd) {
  const int old = std::exchange(fd_, fd);
  // close() may fail with EINTR, but on Linux the fd is released anyway; never retry.
  if (old >= 0) ::close(old);
}

}  // namespace ftvm
