// The listener's front door: accepted sockets that have not finished their hello yet.
//
// Hellos are read without blocking, and the listening socket and every socket still greeting
// are multiplexed with one poll(), so a client that connects and stays silent (or a port
// scanner) delays no one: it is dropped after the hello timeout, and Accept() keeps its own
// deadline.
//
// Not thread-safe: owned by one Listener, used by the thread calling Accept().
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "base/unique_fd.h"
#include "rdma/tcp/frame.h"

namespace ftvm::rdma::tcp {

class Greeter {
 public:
  Greeter(int listen_fd, std::chrono::milliseconds hello_timeout, std::string name)
      : listen_fd_(listen_fd), hello_timeout_(hello_timeout), name_(std::move(name)) {}

  struct Greeting {
    UniqueFd fd;  // non-blocking, TCP_NODELAY set
    Hello hello;
  };
  // The next socket that sent a valid hello; kTimeout at the deadline. Sockets that send
  // anything else, hang up, or take longer than the hello timeout are dropped (and logged).
  Result<Greeting> Next(Deadline deadline);

  size_t waiting() const { return waiting_.size(); }

 private:
  struct Waiting {
    UniqueFd fd;
    std::array<std::byte, kFrameHeaderBytes + kHelloBytes> bytes{};
    size_t have = 0;
    uint64_t expires_ns = 0;
  };
  // Accepts every connection queued on the listening socket.
  Result<void> AcceptQueued();
  // Reads what `w` has sent; a complete valid hello is returned, a bad one an error.
  Result<std::optional<Hello>> ReadSome(Waiting& w);
  int PollTimeoutMs(const Deadline& deadline) const;

  int listen_fd_;
  std::chrono::milliseconds hello_timeout_;
  std::string name_;
  std::vector<Waiting> waiting_;
};

}  // namespace ftvm::rdma::tcp
