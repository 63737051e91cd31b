#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "control/log.h"
#include "control/server_impl.h"

namespace ftvm::control {

void Server::Impl::HandleClientEvent(uint64_t key, uint32_t events) {
  auto it = clients_.find(key);
  if (it == clients_.end()) return;  // closed earlier in this batch
  Connection& connection = *it->second.connection;
  try {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) connection.OnWritable();
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) connection.OnReadable();
  } catch (const std::exception& e) {
    // Allocation failure, most likely: this client goes, the others stay.
    Log().error("control client {}: {}", key, e.what());
    connection.Close(CloseReason::kPeerGone);
  }
  Refresh(it);
}

void Server::Impl::AcceptClients() {
  for (int i = 0; i < 16; ++i) {  // bounded, so a connect storm cannot starve clients
    UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd) {
      if (clients_.size() >= options_.max_clients) {
        Refuse(std::move(fd));
      } else {
        AddClient(std::move(fd));
      }
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    // EMFILE, ENFILE, ENOBUFS: the pending connection stays queued and the listening socket
    // stays readable, so stop watching it until a client leaves (or we would spin).
    Log().warn("control socket: accept: {}; pausing new connections", std::strerror(errno));
    SetListening(false);
    return;
  }
}

void Server::Impl::AddClient(UniqueFd fd) {
  const uint64_t key = next_key_++;
  auto connection =
      std::make_unique<Connection>(std::move(fd), key, *registry_,
                                   ConnectionLimits{.max_message_bytes = options_.max_message_bytes,
                                                    .soft_output_bytes = options_.soft_output_bytes,
                                                    .max_output_bytes = options_.max_output_bytes},
                                   greeting_);
  connection->OnWritable();  // the greeting
  epoll_event ev{.events = connection->WantedEvents(), .data = {.u64 = key}};
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, connection->fd(), &ev) < 0) {
    Log().warn("control socket: epoll_ctl add client: {}", std::strerror(errno));
    return;
  }
  clients_.emplace(key, Client{std::move(connection), ev.events});
  counters_.accepted.fetch_add(1, std::memory_order_relaxed);
  counters_.active.store(clients_.size(), std::memory_order_relaxed);
  Log().debug("control client {} connected", key);
}

void Server::Impl::Refuse(UniqueFd fd) {
  const std::string line = EncodeError(
      QmpError::Generic(fmt::format("too many clients (limit {})", options_.max_clients)),
      std::nullopt);
  (void)::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  counters_.refused.fetch_add(1, std::memory_order_relaxed);
  Log().warn("control socket: refused a client (limit {})", options_.max_clients);
}

Server::Impl::ClientMap::iterator Server::Impl::Refresh(ClientMap::iterator it) {
  Client& client = it->second;
  const CloseReason reason = client.connection->close_reason();
  if (reason != CloseReason::kNone) return CloseClient(it, reason);
  const uint32_t wanted = client.connection->WantedEvents();
  if (wanted != client.registered) {
    epoll_event ev{.events = wanted, .data = {.u64 = it->first}};
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, client.connection->fd(), &ev) < 0) {
      Log().warn("control client {}: epoll_ctl: {}", it->first, std::strerror(errno));
      return CloseClient(it, CloseReason::kPeerGone);
    }
    client.registered = wanted;
  }
  return std::next(it);
}

Server::Impl::ClientMap::iterator Server::Impl::CloseClient(ClientMap::iterator it,
                                                            CloseReason reason) {
  const Connection& connection = *it->second.connection;
  switch (reason) {
    case CloseReason::kSlowReader:
      counters_.dropped_slow.fetch_add(1, std::memory_order_relaxed);
      Log().warn("control client {} disconnected: {} ({} bytes queued)", it->first,
                 CloseReasonName(reason), connection.output_bytes());
      break;
    case CloseReason::kOversized:
      counters_.dropped_oversize.fetch_add(1, std::memory_order_relaxed);
      Log().warn("control client {} disconnected: {}", it->first, CloseReasonName(reason));
      break;
    default:
      Log().debug("control client {} closed: {}", it->first, CloseReasonName(reason));
      break;
  }
  // Closing the fd would remove it from the epoll set anyway; DEL keeps that explicit.
  (void)::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, connection.fd(), nullptr);
  auto next = clients_.erase(it);
  counters_.active.store(clients_.size(), std::memory_order_relaxed);
  if (!listening_ && !stop_.load(std::memory_order_relaxed)) SetListening(true);
  return next;
}

void Server::Impl::DeliverEvents() {
  std::vector<std::string> events;
  {
    std::lock_guard lock(events_mu_);
    events.swap(pending_events_);
  }
  if (events.empty()) return;
  for (auto it = clients_.begin(); it != clients_.end();) {
    Connection& connection = *it->second.connection;
    for (const std::string& line : events) connection.QueueEvent(line);
    connection.OnWritable();  // flush, and disconnect a client whose backlog is over the limit
    it = Refresh(it);
  }
}

void Server::Impl::SetListening(bool on) {
  epoll_event ev{.events = on ? uint32_t{EPOLLIN} : 0u, .data = {.u64 = kListenKey}};
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, listen_fd_.get(), &ev) == 0) listening_ = on;
}

}  // namespace ftvm::control
