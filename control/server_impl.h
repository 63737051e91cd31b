// Server internals shared by server.cc (lifecycle, loop) and server_clients.cc (accepting,
// serving and closing clients). Private to control/.
#pragma once

#include <sys/epoll.h>
#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "control/connection.h"
#include "control/server.h"

namespace ftvm::control {

inline constexpr uint64_t kWakeKey = 0;
inline constexpr uint64_t kListenKey = 1;
inline constexpr uint64_t kFirstClientKey = 2;

class Server::Impl {
 public:
  Impl(ServerOptions options, std::unique_ptr<const CommandRegistry> registry)
      : options_(std::move(options)),
        registry_(std::move(registry)),
        greeting_(EncodeGreeting(options_.version)) {}

  Result<void> Open();
  void Run();
  void RequestStop();
  void Join();
  void Emit(std::string_view name, const Json& data);
  ServerStats Stats() const;
  const std::string& path() const { return options_.socket_path; }
  void RemoveSocketFile() const;

 private:
  struct Client {
    std::unique_ptr<Connection> connection;
    uint32_t registered = 0;  // epoll events currently requested
  };
  using ClientMap = std::map<uint64_t, Client>;

  void AcceptClients();
  void AddClient(UniqueFd fd);
  void Refuse(UniqueFd fd);
  void DeliverEvents();
  ClientMap::iterator Refresh(ClientMap::iterator it);
  ClientMap::iterator CloseClient(ClientMap::iterator it, CloseReason reason);
  void HandleReadyFds(const epoll_event* events, int count);
  void HandleClientEvent(uint64_t key, uint32_t events);
  void SetListening(bool on);
  void Shutdown();

  const ServerOptions options_;
  const std::unique_ptr<const CommandRegistry> registry_;
  const std::string greeting_;
  UniqueFd listen_fd_;
  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;
  ino_t socket_inode_ = 0;
  dev_t socket_dev_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Server thread only.
  ClientMap clients_;
  uint64_t next_key_ = kFirstClientKey;
  bool listening_ = true;

  std::mutex events_mu_;
  std::vector<std::string> pending_events_;  // guarded by events_mu_

  struct Counters {
    std::atomic<uint64_t> accepted{0}, active{0}, refused{0}, dropped_slow{0}, dropped_oversize{0},
        events_emitted{0}, events_dropped{0};
  } counters_;
};

}  // namespace ftvm::control
