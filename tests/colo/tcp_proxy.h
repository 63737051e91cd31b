// A user-space TCP proxy for the colo end-to-end tests: it sits between `ftvm primary` and
// `ftvm secondary` (tcp:// only) and can cut the link without killing anyone.
//
//   Blackhole()  stops forwarding in both directions but keeps every socket open: the peers see
//                silence, never a reset (a partitioned network, a hung switch)
//   Sever()      resets every connection (RST), as a crashed middlebox would
//
// Every connection accepted is forwarded to the upstream address on its own upstream socket.
// One thread moves the bytes; the public methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/socket.h"
#include "base/unique_fd.h"

namespace ftvm::colo::testing {

class TcpProxy {
 public:
  static Result<std::unique_ptr<TcpProxy>> Start(HostPort upstream);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  void Blackhole();
  void Sever();
  // Bytes forwarded so far (both directions) and connections accepted.
  uint64_t forwarded() const { return forwarded_.load(); }
  uint64_t connections() const { return connections_.load(); }

 private:
  enum class Mode : uint8_t { kForward, kBlackhole, kSever };
  struct Direction {
    std::vector<char> buffer;
    size_t begin = 0;
    size_t end = 0;
  };
  struct Link {
    UniqueFd down;  // the primary's side
    UniqueFd up;    // the secondary's side
    Direction to_up;
    Direction to_down;
    bool closed = false;
  };

  TcpProxy(HostPort upstream, UniqueFd listen, uint16_t port, UniqueFd wake);
  void Loop();
  void AcceptOne();
  // Moves what is readable/writable for one direction; false when the link ended.
  bool Pump(int from, int to, Direction& d, short from_events);
  void SetMode(Mode mode);

  HostPort upstream_;
  UniqueFd listen_;
  uint16_t port_;
  UniqueFd wake_;  // eventfd: mode changes and stop
  std::atomic<Mode> mode_{Mode::kForward};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> connections_{0};
  std::vector<std::unique_ptr<Link>> links_;  // owned by the thread
  std::thread thread_;
};

}  // namespace ftvm::colo::testing
