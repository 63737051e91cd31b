// PeerLink: colo/'s view of the Channel it shares with ram/.
//
// It owns the channel and knows which traffic is whose: ram/ messages and completions of ram/
// work requests go to the ram handler (RamSender / RamReceiver), colo/ messages are decoded and
// queued for the engine, anything else is a protocol error. Every message from the peer counts
// as a sign of life; heartbeats are sent by MaybeHeartbeat() when the link has been quiet for
// heartbeat_interval, and consumed here.
//
// Liveness has two layers: the channel's own keepalive (peer_timeout) notices a dead host or a
// stopped process even in the middle of a bulk transfer; PeerSilentFor() lets the engine notice
// a peer whose engine thread stopped answering while its transport still runs.
//
// Not thread-safe: owned and driven by the engine thread. Shutdown() (thread-safe) aborts the
// channel so a blocked poll returns.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "colo/messages.h"
#include "rdma/channel.h"

namespace ftvm::colo {

inline constexpr uint64_t kColoWrIdTag = uint64_t{0x43} << 56;

// Receives ram/ traffic: a received ram/ message, or a completion of a ram/ work request.
struct RamHandlers {
  std::function<Result<void>(std::span<const std::byte>)> message;
  std::function<Result<void>(const rdma::Completion&)> completion;
};

class PeerLink {
 public:
  PeerLink(std::unique_ptr<rdma::Channel> channel, Nanos heartbeat_interval);

  rdma::Channel& channel() { return *channel_; }
  void set_ram_handlers(RamHandlers handlers) { ram_ = std::move(handlers); }

  // Sends a colo message (unsignaled; errors surface on the channel).
  Result<void> Send(const ColoMessage& message);

  // Polls the channel once for up to `timeout` and routes what arrived. Returns the first
  // channel or protocol error (the link is then unusable), but only once the messages that
  // arrived before it were popped: a peer's goodbye is not lost to the close that follows it.
  Result<void> Poll(Nanos timeout);
  // Routes one completion (also the RamSender's ForeignHandler while it owns the channel).
  // Errors are remembered and returned by the next Poll()/TakeError().
  void Route(rdma::Completion&& completion);

  // The next decoded colo message, in arrival order; owns its bytes.
  struct Received {
    ColoMessage message;
    std::vector<std::byte> bytes;  // backing storage for views inside `message`
  };
  bool has_message() const { return !inbox_.empty(); }
  Received PopMessage();

  // Sends a heartbeat if nothing was sent for heartbeat_interval.
  Result<void> MaybeHeartbeat(uint64_t last_checkpoint);
  // Nanoseconds since anything was last heard from the peer.
  uint64_t PeerSilentNs() const { return MonotonicNs() - last_heard_ns_; }
  void set_heartbeat_interval(Nanos interval) { heartbeat_interval_ = interval; }

  // The first error seen while routing (a foreign completion with an error status, a
  // malformed message), if any.
  const std::optional<Error>& error() const { return error_; }

  void Shutdown() { channel_->Shutdown(); }
  void Close() { channel_->Close(); }
  // Orderly end: sends Goodbye{reason} and waits (up to `timeout`) until the channel reports it
  // sent before closing; Close() alone flushes work still queued, so the goodbye could be lost
  // and the peer would see only the close. Errors are only logged: the link is closed anyway.
  void SayGoodbye(std::string reason, Nanos timeout);

 private:
  void Fail(Error error);
  void OnMessage(std::vector<std::byte>&& bytes);

  std::unique_ptr<rdma::Channel> channel_;
  Nanos heartbeat_interval_;
  RamHandlers ram_;
  std::deque<Received> inbox_;
  std::vector<rdma::Completion> completions_;
  std::vector<std::byte> encoded_;
  uint64_t last_heard_ns_;
  uint64_t last_sent_ns_ = 0;
  uint64_t send_seq_ = 0;
  uint64_t heartbeat_seq_ = 0;
  uint64_t awaited_wr_id_ = 0;  // a signaled send SayGoodbye() waits for
  bool awaited_done_ = false;
  std::optional<Error> error_;
};

}  // namespace ftvm::colo
