// The control socket server: a Unix stream socket (0600) speaking QMP (protocol.h) to any
// number of clients, on a thread of its own.
//
// How a daemon starts it:
//
//   auto registry = std::make_unique<control::CommandRegistry>();
//   FTVM_TRY(control::RegisterBuiltinCommands(*registry, {.quit = [&] { stop.Notify(); }}));
//   FTVM_TRY(control::RegisterTargetCommands(*registry, target));   // target outlives server
//   FTVM_ASSIGN_OR_RETURN(auto server,
//                         control::Server::Start({.socket_path = path}, std::move(registry)));
//   adapter.SetEventSink(*server);      // events from the engine: server->Emit(...)
//   stop.Wait();
//   server->Stop();                     // or let the destructor do it
//
// Threading: one thread ("ftvm-control") runs an epoll loop over non-blocking sockets and
// calls every command handler, one at a time, in the order requests arrive. Handlers therefore
// never run concurrently with each other, never on the guest's threads, and must return
// promptly (a slow handler delays every client, never the guest). Emit() may be called from
// any thread. Stop() must not be called from a handler.
//
// Robustness: see connection.h for the per-client bounds (message size, output backlog,
// back-pressure, half-closed and vanished clients). Beyond max_clients, new connections get an
// error line and are closed. Nothing a client sends can block or crash the process; a socket
// error is logged and costs only that client.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "control/commands.h"
#include "control/events.h"
#include "control/protocol.h"

namespace ftvm::control {

struct ServerOptions {
  std::string socket_path{};  // created 0600; a stale socket file is replaced, a live one is not
  size_t max_clients = 32;
  size_t max_message_bytes = 64 * 1024;   // per request; larger: error, then disconnect
  size_t soft_output_bytes = 64 * 1024;   // stop reading requests above this backlog
  size_t max_output_bytes = 1024 * 1024;  // disconnect a client whose backlog exceeds this
  size_t max_pending_events = 4096;       // events queued for the server thread; more dropped
  VersionInfo version = FtvmVersion();
};

struct ServerStats {
  uint64_t clients_accepted = 0;
  uint64_t clients_active = 0;
  uint64_t clients_refused = 0;       // over max_clients
  uint64_t clients_dropped_slow = 0;  // output backlog over max_output_bytes
  uint64_t clients_dropped_oversize = 0;
  uint64_t events_emitted = 0;
  uint64_t events_dropped = 0;  // queue full (the server thread was stuck in a handler)
};

class Server final : public EventSink {
 public:
  // Creates the socket and starts the server thread. kInvalidArgument if another process is
  // listening on `socket_path` already.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options,
                                               std::unique_ptr<const CommandRegistry> registry);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops the thread: queued output gets one last non-blocking flush, connections close, the
  // socket file is removed. Idempotent; not from a handler.
  void Stop();

  // Queues an event for every negotiated client; thread-safe, never blocks.
  void Emit(std::string_view name, Json data) override;

  ServerStats stats() const;
  const std::string& socket_path() const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ftvm::control
