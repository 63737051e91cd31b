#include "tests/colo/tcp_proxy.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "base/io.h"

namespace ftvm::colo::testing {
namespace {

constexpr size_t kBufferBytes = 256 * 1024;

void Wake(int fd) {
  const uint64_t one = 1;
  (void)!::write(fd, &one, sizeof(one));
}

}  // namespace

Result<std::unique_ptr<TcpProxy>> TcpProxy::Start(HostPort upstream) {
  FTVM_ASSIGN_OR_RETURN(UniqueFd listen, TcpListen(HostPort{upstream.host, 0}));
  FTVM_TRY(SetNonBlocking(listen.get(), true));
  FTVM_ASSIGN_OR_RETURN(const uint16_t port, LocalPort(listen.get()));
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return SysFail("eventfd");
  return std::unique_ptr<TcpProxy>(
      new TcpProxy(std::move(upstream), std::move(listen), port, std::move(wake)));
}

TcpProxy::TcpProxy(HostPort upstream, UniqueFd listen, uint16_t port, UniqueFd wake)
    : upstream_(std::move(upstream)),
      listen_(std::move(listen)),
      port_(port),
      wake_(std::move(wake)),
      thread_([this] { Loop(); }) {}

TcpProxy::~TcpProxy() {
  stop_.store(true);
  Wake(wake_.get());
  thread_.join();
}

void TcpProxy::SetMode(Mode mode) {
  mode_.store(mode);
  Wake(wake_.get());
}

void TcpProxy::Blackhole() { SetMode(Mode::kBlackhole); }
void TcpProxy::Sever() { SetMode(Mode::kSever); }

void TcpProxy::AcceptOne() {
  auto down = AcceptWithin(listen_.get(), Deadline(Nanos(0)));
  if (!down) return;
  auto up = TcpConnect(upstream_, Deadline(std::chrono::seconds(5)));
  if (!up) return;  // the client sees its connection closed
  (void)SetNonBlocking(down->get(), true);
  (void)SetNonBlocking(up->get(), true);
  auto link = std::make_unique<Link>();
  link->down = std::move(*down);
  link->up = std::move(*up);
  link->to_up.buffer.resize(kBufferBytes);
  link->to_down.buffer.resize(kBufferBytes);
  links_.push_back(std::move(link));
  connections_.fetch_add(1);
}

bool TcpProxy::Pump(int from, int to, Direction& d, short from_events) {
  if ((from_events & (POLLIN | POLLHUP | POLLERR)) != 0 && d.end == 0) {
    const ssize_t n = ::read(from, d.buffer.data(), d.buffer.size());
    if (n == 0) return false;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) d.end = static_cast<size_t>(n);
  }
  if (d.end > d.begin) {  // non-blocking: EAGAIN just waits for POLLOUT
    const ssize_t n = ::send(to, d.buffer.data() + d.begin, d.end - d.begin, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) {
      d.begin += static_cast<size_t>(n);
      forwarded_.fetch_add(static_cast<uint64_t>(n));
    }
    if (d.begin == d.end) d.begin = d.end = 0;
  }
  return true;
}

void TcpProxy::Loop() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    const Mode mode = mode_.load();
    if (mode == Mode::kSever) {
      for (auto& link : links_) {
        // SO_LINGER 0: close() sends a reset, as a dead middlebox would.
        const linger reset{1, 0};
        ::setsockopt(link->down.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        ::setsockopt(link->up.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
      }
      links_.clear();
    }
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    fds.push_back({listen_.get(), POLLIN, 0});
    if (mode == Mode::kForward) {
      for (auto& link : links_) {
        const short down_events = static_cast<short>((link->to_up.end == 0 ? POLLIN : 0) |
                                                     (link->to_down.end > 0 ? POLLOUT : 0));
        const short up_events = static_cast<short>((link->to_down.end == 0 ? POLLIN : 0) |
                                                   (link->to_up.end > 0 ? POLLOUT : 0));
        fds.push_back({link->down.get(), down_events, 0});
        fds.push_back({link->up.get(), up_events, 0});
      }
    }
    if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return;
    if ((fds[0].revents & POLLIN) != 0) {
      uint64_t ignored;
      (void)!::read(wake_.get(), &ignored, sizeof(ignored));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      if (mode == Mode::kForward) {
        AcceptOne();
      } else {
        (void)AcceptWithin(listen_.get(), Deadline(Nanos(0)));  // held by nobody: closed
      }
    }
    if (mode != Mode::kForward || mode_.load() != Mode::kForward) continue;
    for (size_t i = 0; i < links_.size(); ++i) {
      Link& link = *links_[i];
      const pollfd& down = fds[2 + 2 * i];
      const pollfd& up = fds[3 + 2 * i];
      const bool alive = Pump(link.down.get(), link.up.get(), link.to_up, down.revents) &&
                         Pump(link.up.get(), link.down.get(), link.to_down, up.revents);
      if (!alive) link.closed = true;
    }
    // A side that closed: close the other one too (as the kernel would for a direct link).
    std::erase_if(links_, [](const std::unique_ptr<Link>& l) { return l->closed; });
  }
}

}  // namespace ftvm::colo::testing
