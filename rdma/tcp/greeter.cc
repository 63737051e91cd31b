#include "rdma/tcp/greeter.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/socket.h"
#include "rdma/log.h"
#include "rdma/tcp/handshake.h"

namespace ftvm::rdma::tcp {

Result<Greeter::Greeting> Greeter::Next(Deadline deadline) {
  for (;;) {
    const uint64_t now = MonotonicNs();
    std::erase_if(waiting_, [&](const Waiting& w) {
      if (w.expires_ns > now) return false;
      Log().warn("listener {}: {} sent no hello in time", name_, SocketUri(w.fd.get(), true));
      return true;
    });
    std::vector<pollfd> fds{{.fd = listen_fd_, .events = POLLIN, .revents = 0}};
    for (const Waiting& w : waiting_)
      fds.push_back({.fd = w.fd.get(), .events = POLLIN, .revents = 0});
    const int n = ::poll(fds.data(), fds.size(), PollTimeoutMs(deadline));
    if (n < 0 && errno != EINTR) return SysFail("poll listener {}", name_);
    if (n > 0) {
      // Greetings first: fds[i + 1] is waiting_[i] until AcceptQueued() appends to waiting_.
      for (size_t i = waiting_.size(); i-- > 0;) {
        if (fds[i + 1].revents == 0) continue;
        auto hello = ReadSome(waiting_[i]);
        if (hello && !*hello) continue;  // not complete yet
        Waiting w = std::move(waiting_[i]);
        waiting_.erase(waiting_.begin() + static_cast<ptrdiff_t>(i));
        if (hello) return Greeting{std::move(w.fd), **hello};
        Log().warn("listener {}: dropped {}: {}", name_, SocketUri(w.fd.get(), true),
                   hello.error().ToString());
      }
      if (fds[0].revents != 0) FTVM_TRY(AcceptQueued());
    }
    if (deadline.expired()) return Fail(ErrorCode::kTimeout, "accept on {} timed out", name_);
  }
}

Result<void> Greeter::AcceptQueued() {
  for (;;) {
    UniqueFd fd(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      return SysFail("accept on {}", name_);
    }
    FTVM_TRY(SetTcpNoDelay(fd.get()));
    Waiting w;
    w.fd = std::move(fd);
    w.expires_ns = MonotonicNs() + static_cast<uint64_t>(Nanos(hello_timeout_).count());
    waiting_.push_back(std::move(w));
  }
}

Result<std::optional<Hello>> Greeter::ReadSome(Waiting& w) {
  const ssize_t n = ::read(w.fd.get(), w.bytes.data() + w.have, w.bytes.size() - w.have);
  if (n == 0) return Fail(ErrorCode::kPeerLost, "hung up during the hello");
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::optional<Hello>();
    return SysFail("read hello");
  }
  w.have += static_cast<size_t>(n);
  if (w.have < kFrameHeaderBytes) return std::optional<Hello>();
  // Check the header as soon as it is there: garbage is dropped without waiting for more.
  FTVM_TRY(DecodeFrameHeader(std::span(w.bytes).first<kFrameHeaderBytes>(),
                             FrameLimits{.handshake = true}));
  if (w.have < w.bytes.size()) return std::optional<Hello>();
  FTVM_ASSIGN_OR_RETURN(const Hello hello,
                        DecodeHello(std::span(w.bytes).subspan(kFrameHeaderBytes)));
  return std::optional<Hello>(hello);
}

int Greeter::PollTimeoutMs(const Deadline& deadline) const {
  int ms = deadline.poll_timeout_ms();
  for (const Waiting& w : waiting_) {
    const uint64_t now = MonotonicNs();
    const int until =
        w.expires_ns <= now ? 0 : static_cast<int>((w.expires_ns - now) / 1'000'000 + 1);
    ms = ms < 0 ? until : std::min(ms, until);
  }
  return ms;
}

}  // namespace ftvm::rdma::tcp
