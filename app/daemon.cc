#include "app/daemon.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "app/cli.h"
#include "app/run_loop.h"
#include "base/socket.h"
#include "control/builtins.h"
#include "control/colo_target.h"
#include "control/server.h"
#include "control/target_commands.h"
#include "rdma/transport.h"

namespace ftvm::app {

void AddDaemonFlags(CLI::App& cmd, DaemonFlags& f) {
  cmd.add_option("--control", f.control,
                 "control socket path (QMP; query it with `ftvm ctl PATH ...`)");
  cmd.add_option("--transport", f.transport,
                 "auto (verbs if an RDMA device is usable, else tcp), verbs or tcp; ignored "
                 "when the address has a scheme (tcp://, rdma://)")
      ->capture_default_str();
  cmd.add_option("--heartbeat-ms", f.heartbeat_ms, "heartbeat period when the link is idle")
      ->capture_default_str();
  cmd.add_option("--heartbeat-timeout-ms", f.heartbeat_timeout_ms,
                 "the peer is declared lost after this long without a sign of life (also the "
                 "transport keepalive bound); set-parameters can change it")
      ->capture_default_str();
  cmd.add_option("--checkpoint-timeout-ms", f.checkpoint_timeout_ms,
                 "longest wait for one step of a checkpoint (reply, received, loaded)")
      ->capture_default_str();
  cmd.add_option("--streams", f.streams, "tcp transport: TCP streams per connection (1-16)")
      ->capture_default_str();
  cmd.add_option("--debug-kill-at", f.kill_at,
                 "testing: SIGKILL this process at POINT[:N] (wait, request, ram, device, "
                 "received, loaded) of checkpoint N (default 2)")
      ->group("");  // hidden
}

Result<void> ApplyDaemonFlags(const DaemonFlags& f, colo::CommonOptions& o) {
  if (f.heartbeat_timeout_ms < colo::kHeartbeatTimeoutMsRange.min ||
      f.heartbeat_timeout_ms > colo::kHeartbeatTimeoutMsRange.max) {
    return Fail(ErrorCode::kInvalidArgument, "--heartbeat-timeout-ms must be in [{}, {}]",
                colo::kHeartbeatTimeoutMsRange.min, colo::kHeartbeatTimeoutMsRange.max);
  }
  if (f.heartbeat_ms == 0 || f.heartbeat_ms >= f.heartbeat_timeout_ms) {
    return Fail(ErrorCode::kInvalidArgument,
                "--heartbeat-ms must be above 0 and below --heartbeat-timeout-ms");
  }
  if (f.streams < 1 || f.streams > 16) {
    return Fail(ErrorCode::kInvalidArgument, "--streams must be 1..16");
  }
  o.parameters.heartbeat_timeout_ms = f.heartbeat_timeout_ms;
  o.heartbeat_interval_ms = static_cast<uint32_t>(f.heartbeat_ms);
  o.checkpoint_timeout_ms = static_cast<uint32_t>(f.checkpoint_timeout_ms);
  o.channel.streams = f.streams;
  o.channel.keepalive_interval =
      std::chrono::milliseconds(std::max<uint64_t>(10, f.heartbeat_timeout_ms / 10));
  if (!f.kill_at.empty()) {
    FTVM_ASSIGN_OR_RETURN(auto kill, colo::ParseKillPoint(f.kill_at));
    o.kill_at = kill;
  } else {
    o.kill_at = colo::KillPointFromEnv();
  }
  return {};
}

Result<std::string> ResolveAddress(const std::string& address, const std::string& transport) {
  if (address.find("://") != std::string::npos) return address;
  FTVM_ASSIGN_OR_RETURN(const HostPort where, ParseHostPort(address));
  FTVM_ASSIGN_OR_RETURN(const rdma::Transport requested, rdma::ParseTransport(transport));
  FTVM_ASSIGN_OR_RETURN(const rdma::TransportChoice choice, rdma::ResolveTransport(requested));
  return rdma::TransportUri(choice.transport, where);
}

namespace {

// Turns SIGINT/SIGTERM (blocked in every thread) into an orderly quit of the engine.
class SignalWatcher {
 public:
  explicit SignalWatcher(colo::EngineControl& engine)
      : thread_([this, &engine] {
          sigset_t set;
          sigemptyset(&set);
          sigaddset(&set, SIGINT);
          sigaddset(&set, SIGTERM);
          const timespec tick{0, 100'000'000};
          while (!stop_.load()) {
            if (::sigtimedwait(&set, nullptr, &tick) > 0) {
              std::fprintf(stderr, "ftvm: signal received, quitting\n");
              engine.RequestQuit();
            }
          }
        }) {}
  ~SignalWatcher() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int RunDaemon(const std::string& what, colo::EngineControl& engine, const std::string& control,
              const std::function<Result<void>()>& run) {
  control::ColoTarget target(engine);
  std::unique_ptr<control::Server> server;
  if (!control.empty()) {
    auto registry = std::make_unique<control::CommandRegistry>();
    auto r = control::RegisterBuiltinCommands(*registry, {.quit = [&] { engine.RequestQuit(); }});
    if (r) r = control::RegisterTargetCommands(*registry, target);
    if (!r) return Report(what + ": control commands", r.error());
    auto started = control::Server::Start({.socket_path = control}, std::move(registry));
    if (!started) return Report(what + ": control socket " + control, started.error());
    server = std::move(*started);
    target.Attach(*server);
  }
  int status = kExitOk;
  {
    SignalWatcher signals(engine);
    if (auto r = run(); !r) {
      status = Report(what, r.error());
    } else if (const colo::GuestStatus guest = engine.guest(); guest.exited) {
      // Like `ftvm run`: the guest's own verdict is the process's (a counter that found a
      // mismatch exits 2, and so does the daemon that ran it).
      status = static_cast<int>(std::min<uint32_t>(guest.exit_code, kExitGuestMax));
    }
  }
  engine.set_event_callback(nullptr);
  if (server) server->Stop();
  return status;
}

}  // namespace ftvm::app
