#include "base/io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/unique_fd.h"

namespace ftvm {
namespace {

Result<bool> WaitFor(int fd, short events, Deadline deadline) {
  pollfd pfd{.fd = fd, .events = events, .revents = 0};
  for (;;) {
    const int n = ::poll(&pfd, 1, deadline.poll_timeout_ms());
    if (n > 0) return true;
    if (n == 0) {
      if (deadline.expired()) return false;
      continue;
    }
    if (errno != EINTR) return SysFail("poll fd {}", fd);
  }
}

bool IsPeerGone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

}  // namespace

Result<bool> WaitReadable(int fd, Deadline deadline) { return WaitFor(fd, POLLIN, deadline); }
Result<bool> WaitWritable(int fd, Deadline deadline) { return WaitFor(fd, POLLOUT, deadline); }

Result<void> WriteAll(int fd, std::span<const std::byte> bytes, Deadline deadline) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a dead peer must be an error value, never SIGPIPE. Fall back to write()
    // for descriptors that are not sockets.
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, bytes.data(), bytes.size());
    if (n >= 0) {
      bytes = bytes.subspan(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      FTVM_ASSIGN_OR_RETURN(const bool ready, WaitWritable(fd, deadline));
      if (!ready) return Fail(ErrorCode::kTimeout, "write to fd {} timed out", fd);
      continue;
    }
    if (IsPeerGone(errno)) {
      return std::unexpected<Error>(std::in_place, ErrorCode::kPeerLost, "write: peer gone", errno);
    }
    return SysFail("write fd {}", fd);
  }
  return {};
}

Result<void> ReadExact(int fd, std::span<std::byte> out, Deadline deadline, bool eof_ok_at_start) {
  const size_t wanted = out.size();
  while (!out.empty()) {
    const ssize_t n = ::read(fd, out.data(), out.size());
    if (n > 0) {
      out = out.subspan(static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      if (eof_ok_at_start && out.size() == wanted) {
        return Fail(ErrorCode::kClosed, "fd {} closed by peer", fd);
      }
      return Fail(ErrorCode::kPeerLost, "fd {}: end of stream after {} of {} bytes", fd,
                  wanted - out.size(), wanted);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      FTVM_ASSIGN_OR_RETURN(const bool ready, WaitReadable(fd, deadline));
      if (!ready) return Fail(ErrorCode::kTimeout, "read from fd {} timed out", fd);
      continue;
    }
    if (IsPeerGone(errno)) {
      return std::unexpected<Error>(std::in_place, ErrorCode::kPeerLost, "read: peer gone", errno);
    }
    return SysFail("read fd {}", fd);
  }
  return {};
}

Result<void> SetNonBlocking(int fd, bool non_blocking) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return SysFail("fcntl F_GETFL fd {}", fd);
  const int wanted = non_blocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0)
    return SysFail("fcntl F_SETFL fd {}", fd);
  return {};
}

void ConsumeIovecs(std::span<iovec> iov, size_t* first, size_t n) {
  while (*first < iov.size() && (n > 0 || iov[*first].iov_len == 0)) {
    iovec& v = iov[*first];
    const size_t take = n < v.iov_len ? n : v.iov_len;
    v.iov_base = static_cast<std::byte*>(v.iov_base) + take;
    v.iov_len -= take;
    n -= take;
    if (v.iov_len == 0) ++*first;
  }
}

Result<std::string> ReadFileToString(const char* path) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return SysFail("open {}", path);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n == 0) return out;
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysFail("read {}", path);
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace ftvm
