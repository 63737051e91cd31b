#include "base/socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/io.h"
#include "base/strings.h"

namespace ftvm {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

Result<AddrInfoPtr> Resolve(const HostPort& where, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(where.port);
  const char* host = where.host.empty() ? nullptr : where.host.c_str();
  const int rc = ::getaddrinfo(host, port.c_str(), &hints, &result);
  if (rc != 0) {
    return Fail(ErrorCode::kInvalidArgument, "resolve {}: {}", where.ToString(),
                ::gai_strerror(rc));
  }
  return AddrInfoPtr(result);
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Fail(ErrorCode::kInvalidArgument, "'{}': expected [addr]:port", text);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "'{}': expected host:port", text);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto number = ParseU64(port);
  if (!number || *number > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "'{}': port must be 0..65535", text);
  }
  return HostPort{std::string(host), static_cast<uint16_t>(*number)};
}

Result<void> SetTcpNoDelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
    return SysFail("setsockopt TCP_NODELAY");
  }
  return {};
}

Result<void> SetSocketBuffers(int fd, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) < 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) {
    return SysFail("setsockopt SO_SNDBUF/SO_RCVBUF {}", bytes);
  }
  return {};
}

Result<UniqueFd> TcpListen(const HostPort& where, int backlog) {
  FTVM_ASSIGN_OR_RETURN(AddrInfoPtr addrs, Resolve(where, /*passive=*/true));
  Error last(ErrorCode::kNotFound, fmt::format("listen {}: no address", where.ToString()));
  for (addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last = SysFail("socket").error();
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
      last = SysFail("bind {}", where.ToString()).error();
      continue;
    }
    if (::listen(fd.get(), backlog) < 0) {
      last = SysFail("listen {}", where.ToString()).error();
      continue;
    }
    return fd;
  }
  return Fail(std::move(last));
}

Result<UniqueFd> TcpConnect(const HostPort& where, Deadline deadline) {
  FTVM_ASSIGN_OR_RETURN(AddrInfoPtr addrs, Resolve(where, /*passive=*/false));
  Error last(ErrorCode::kNotFound, fmt::format("connect {}: no address", where.ToString()));
  for (addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd) {
      last = SysFail("socket").error();
      continue;
    }
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      FTVM_ASSIGN_OR_RETURN(const bool ready, WaitWritable(fd.get(), deadline));
      if (!ready) {
        last = Error(ErrorCode::kTimeout, fmt::format("connect {} timed out", where.ToString()));
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      errno = err;
      rc = err == 0 ? 0 : -1;
    }
    if (rc < 0) {
      const int err = errno;
      last = Error(err == ECONNREFUSED ? ErrorCode::kPeerLost : ErrorCode::kSys,
                   fmt::format("connect {}", where.ToString()), err);
      continue;
    }
    FTVM_TRY(SetNonBlocking(fd.get(), false));
    FTVM_TRY(SetTcpNoDelay(fd.get()));
    return fd;
  }
  return Fail(std::move(last));
}

Result<UniqueFd> AcceptWithin(int listen_fd, Deadline deadline) {
  for (;;) {
    FTVM_ASSIGN_OR_RETURN(const bool ready, WaitReadable(listen_fd, deadline));
    if (!ready) return Fail(ErrorCode::kTimeout, "accept timed out");
    UniqueFd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return SysFail("accept");
    }
    FTVM_TRY(SetNonBlocking(fd.get(), false));
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        (addr.ss_family == AF_INET || addr.ss_family == AF_INET6)) {
      FTVM_TRY(SetTcpNoDelay(fd.get()));
    }
    return fd;
  }
}

Result<uint16_t> LocalPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    return SysFail("getsockname");
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return Fail(ErrorCode::kInvalidArgument, "fd {} is not an IP socket", fd);
}

Result<UniqueFd> UnixListen(const std::string& path, unsigned mode, int backlog) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Fail(ErrorCode::kInvalidArgument, "unix socket path '{}' is empty or too long", path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return SysFail("socket AF_UNIX");
  ::unlink(path.c_str());  // a stale socket from a previous run
  // Create the socket file with the final mode from the start: no window where others can
  // connect.
  const mode_t old_umask = ::umask(static_cast<mode_t>(~mode & 0777));
  const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  ::umask(old_umask);
  if (rc < 0) return SysFail("bind {}", path);
  if (::chmod(path.c_str(), mode) < 0) return SysFail("chmod {}", path);
  if (::listen(fd.get(), backlog) < 0) return SysFail("listen {}", path);
  return fd;
}

Result<UniqueFd> UnixConnect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Fail(ErrorCode::kInvalidArgument, "unix socket path '{}' is empty or too long", path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return SysFail("socket AF_UNIX");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0) {
    return SysFail("connect {}", path);
  }
  return fd;
}

}  // namespace ftvm
