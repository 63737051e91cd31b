// Blocking and deadline-bounded I/O on file descriptors, with EINTR handled in one place.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>

#include "base/result.h"
#include "base/time.h"

namespace ftvm {

// Writes every byte (blocking fd; for non-blocking fds waits with poll until `deadline`).
// A peer that closed or reset the connection yields kPeerLost.
Result<void> WriteAll(int fd, std::span<const std::byte> bytes,
                      Deadline deadline = Deadline::Never());

// Reads exactly `out.size()` bytes. End of file before that is kPeerLost (kClosed when no
// byte at all was read and `eof_ok_at_start`), the deadline is kTimeout.
Result<void> ReadExact(int fd, std::span<std::byte> out, Deadline deadline = Deadline::Never(),
                       bool eof_ok_at_start = false);

// Waits until `fd` is readable (or hung up). Returns false on timeout.
Result<bool> WaitReadable(int fd, Deadline deadline);
Result<bool> WaitWritable(int fd, Deadline deadline);

Result<void> SetNonBlocking(int fd, bool non_blocking);

// After a readv/writev/sendmsg moved `n` bytes of iov[*first..]: skips the iovecs it consumed
// (advancing *first) and trims the one it consumed in part, in place. `n` must not exceed the
// bytes left in iov[*first..].
void ConsumeIovecs(std::span<iovec> iov, size_t* first, size_t n);

// Reads a whole (small) file, e.g. from /proc or /sys.
Result<std::string> ReadFileToString(const char* path);

}  // namespace ftvm
