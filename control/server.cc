#include "control/server.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "base/io.h"
#include "base/socket.h"
#include "base/time.h"
#include "control/log.h"
#include "control/server_impl.h"

namespace ftvm::control {
namespace {

// UnixListen replaces whatever is at the path; refuse when that is a live server or not a
// socket at all, so a typo cannot delete a file or hijack another process's socket.
Result<void> CheckSocketPathFree(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return SysFail("stat {}", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument, "{} exists and is not a socket", path);
  }
  if (UnixConnect(path).has_value()) {
    return Fail(ErrorCode::kInvalidArgument, "control socket {} is in use by another process",
                path);
  }
  return {};  // a stale socket from a process that died
}

}  // namespace

Result<void> Server::Impl::Open() {
  FTVM_TRY(CheckSocketPathFree(options_.socket_path));
  FTVM_ASSIGN_OR_RETURN(listen_fd_, UnixListen(options_.socket_path, 0600, /*backlog=*/64));
  FTVM_TRY(SetNonBlocking(listen_fd_.get(), true));
  struct stat st{};
  if (::stat(options_.socket_path.c_str(), &st) < 0) return SysFail("stat {}", path());
  socket_inode_ = st.st_ino;
  socket_dev_ = st.st_dev;
  epoll_fd_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_) return SysFail("epoll_create1");
  wake_fd_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) return SysFail("eventfd");
  epoll_event wake{.events = EPOLLIN, .data = {.u64 = kWakeKey}};
  epoll_event listen{.events = EPOLLIN, .data = {.u64 = kListenKey}};
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &wake) < 0 ||
      ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, listen_fd_.get(), &listen) < 0) {
    return SysFail("epoll_ctl add");
  }
  thread_ = std::thread([this] { Run(); });
  return {};
}

void Server::Impl::Run() {
  ::pthread_setname_np(::pthread_self(), "ftvm-control");
  Log().info("control socket {} listening", path());
  std::array<epoll_event, 64> events;
  while (!stop_.load(std::memory_order_acquire)) {
    const int n = ::epoll_wait(epoll_fd_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Only a bug (bad fd) gets here; keep the guest running and say so loudly.
      Log().error("control socket: epoll_wait: {}; control socket disabled", std::strerror(errno));
      break;
    }
    try {
      HandleReadyFds(events.data(), n);
    } catch (const std::exception& e) {
      // Allocation failure outside any one client: nothing may unwind out of this thread.
      Log().error("control socket: {}", e.what());
    }
  }
  Shutdown();
}

void Server::Impl::HandleReadyFds(const epoll_event* events, int count) {
  // Reset the wake-up counter before taking the queued events: an Emit() racing with us then
  // either lands in this batch or leaves the counter set for the next epoll_wait (resetting
  // it afterwards could swallow that Emit's wake-up).
  for (int i = 0; i < count; ++i) {
    if (events[i].data.u64 == kWakeKey) {
      uint64_t value = 0;
      (void)!::read(wake_fd_.get(), &value, sizeof(value));
    }
  }
  // Events go out before any request of this batch is handled, so a client negotiating now
  // never receives an event emitted before it negotiated.
  DeliverEvents();
  for (int i = 0; i < count; ++i) {
    const uint64_t key = events[i].data.u64;
    if (key == kListenKey) {
      AcceptClients();
    } else if (key != kWakeKey) {
      HandleClientEvent(key, events[i].events);
    }
  }
}

void Server::Impl::Join() {
  if (!thread_.joinable()) return;
  FTVM_CHECK(std::this_thread::get_id() != thread_.get_id(),
             "control Server stopped from its own thread (a handler); signal the owner instead");
  thread_.join();
}

ServerStats Server::Impl::Stats() const {
  return ServerStats{
      .clients_accepted = counters_.accepted.load(std::memory_order_relaxed),
      .clients_active = counters_.active.load(std::memory_order_relaxed),
      .clients_refused = counters_.refused.load(std::memory_order_relaxed),
      .clients_dropped_slow = counters_.dropped_slow.load(std::memory_order_relaxed),
      .clients_dropped_oversize = counters_.dropped_oversize.load(std::memory_order_relaxed),
      .events_emitted = counters_.events_emitted.load(std::memory_order_relaxed),
      .events_dropped = counters_.events_dropped.load(std::memory_order_relaxed)};
}

void Server::Impl::Emit(std::string_view name, const Json& data) {
  std::string line = EncodeEvent(name, data, RealtimeNs());
  {
    std::lock_guard lock(events_mu_);
    if (pending_events_.size() >= options_.max_pending_events) {
      counters_.events_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_events_.push_back(std::move(line));
  }
  counters_.events_emitted.fetch_add(1, std::memory_order_relaxed);
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));  // cannot fill: the loop drains it
}

void Server::Impl::RequestStop() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void Server::Impl::Shutdown() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    it->second.connection->OnWritable();  // one last non-blocking flush (e.g. quit's reply)
    it = CloseClient(it, CloseReason::kServerStop);
  }
  listen_fd_.Reset();
  RemoveSocketFile();
  Log().info("control socket {} closed", path());
}

void Server::Impl::RemoveSocketFile() const {
  // Only if the file is still ours: another process may have replaced a socket it saw stale.
  struct stat st{};
  if (::lstat(path().c_str(), &st) == 0 && st.st_ino == socket_inode_ && st.st_dev == socket_dev_) {
    ::unlink(path().c_str());
  }
}

// ---- Server ----------------------------------------------------------------------------------

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                              std::unique_ptr<const CommandRegistry> registry) {
  if (registry == nullptr) return Fail(ErrorCode::kInvalidArgument, "control server: no registry");
  if (options.max_clients == 0 || options.max_message_bytes == 0 ||
      options.soft_output_bytes > options.max_output_bytes) {
    return Fail(ErrorCode::kInvalidArgument, "control server: inconsistent limits");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(registry));
  if (Result<void> opened = impl->Open(); !opened) {
    impl->RemoveSocketFile();
    return Fail(std::move(opened.error()).Wrap("control socket"));
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Stop() {
  if (impl_ == nullptr) return;
  impl_->RequestStop();
  impl_->Join();
}

void Server::Emit(std::string_view name, Json data) { impl_->Emit(name, data); }

ServerStats Server::stats() const { return impl_->Stats(); }

const std::string& Server::socket_path() const { return impl_->path(); }

}  // namespace ftvm::control
