// One TCP stream of a tcp-provider connection: a sender thread and a receiver thread.
//
// The sender writes queued frames with one sendmsg() per batch (headers, descriptors and write
// payloads gathered straight from registered memory), adds an acknowledgement when asked, and
// sends one (as the keepalive probe) when the stream has been idle for the keepalive interval.
// The receiver runs a FrameReader over the socket. The socket is blocking with short send/receive
// timeouts, so each thread re-checks liveness a few times per peer timeout: no bytes from the
// peer for that long, or no progress writing to it, ends the stream with kPeerLost.
//
// Neither thread ever waits for the other or for the application: the receiver never writes to
// the socket (it asks the sender for acknowledgements), so two peers can never deadlock on full
// socket buffers.
//
// Thread safety: Enqueue, RequestAck, Finish and Abort may be called from any thread.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "base/unique_fd.h"
#include "rdma/tcp/frame.h"
#include "rdma/tcp/frame_reader.h"
#include "rdma/tcp/region_table.h"

namespace ftvm::rdma::tcp {

// A frame ready to be written. Write payloads point into registered memory kept alive by pins.
struct OutFrame {
  HeaderBytes header{};
  std::vector<std::byte> body;       // write descriptors or the message
  std::vector<iovec> payload;        // kWrites: the local memory of each write, in order
  std::vector<WriteRequest> writes;  // kWrites: what to pin when the frame is dispatched
  std::vector<RegionPin> pins;       // released once the frame is written (or dropped)
  uint64_t first_seq = 0;
  size_t sent = 0;  // bytes already written by an inline attempt (Stream::Send)
  bool is_send = false;
};

// What a stream needs from its connection (implemented by the channel).
class StreamHost {
 public:
  virtual ~StreamHost() = default;
  // The acknowledgement to send now (current watermark and messages consumed).
  virtual FrameHeader MakeAck() = 0;
  // The stream ended with `error` (peer lost, protocol error, ...). Called once per thread.
  virtual void OnStreamFailed(uint32_t stream, Error error) = 0;
  // The sender finished writing the next `frames` queued frames: their source memory is no
  // longer read (a completion must not be reported before this, whatever the peer says).
  virtual void OnTransmitted(uint32_t stream, size_t frames) = 0;
};

struct StreamConfig {
  uint32_t index = 0;
  std::chrono::milliseconds keepalive_interval{100};
  std::chrono::milliseconds peer_timeout{1000};
  FrameLimits limits;
};

class Stream {
 public:
  Stream(UniqueFd fd, const StreamConfig& config, RegionTable* regions, FrameHandler* handler,
         StreamHost* host);
  ~Stream();  // aborts and joins
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Makes the socket blocking with the liveness timeouts and starts both threads.
  Result<void> Start();

  enum class SendResult : uint8_t { kSent, kQueued, kDropped };
  // Small frames on an idle stream are written right here by the calling thread (non-blocking:
  // it saves the hand-off to the sender thread, which is most of a message's latency); the rest
  // of a partial write, and everything else, is queued for the sender thread. kDropped once the
  // stream is finishing (the channel has already flushed the request).
  SendResult Send(OutFrame frame, bool inline_ok);
  void RequestAck();
  // Drops queued frames; after the frame being written (if any) writes `goodbye`, then shuts
  // down the sending side. The receiver keeps reading until the peer closes or Abort().
  void Finish(std::vector<std::byte> goodbye);
  // Waits until Finish()'s goodbye is written or the sender stopped; false on timeout.
  bool WaitFinished(Deadline deadline);
  // Shuts the socket down now, waking both threads (they exit).
  void Abort();
  void Join();

 private:
  void SenderLoop();
  void ReceiverLoop();
  // Takes queued frames into `batch`; false when the sender must stop.
  bool NextBatch(std::vector<OutFrame>* batch, bool* ack, bool* finish);
  Result<void> Transmit(std::vector<OutFrame>& batch, bool ack);
  void EndWrite();
  Result<void> SendAll(std::vector<iovec>& iov);

  UniqueFd fd_;
  StreamConfig config_;
  RegionTable* regions_;
  FrameHandler* handler_;
  StreamHost* host_;
  std::chrono::nanoseconds silence_limit_;  // peer_timeout minus one liveness check period

  std::mutex mu_;
  std::condition_variable cv_;       // wakes the sender
  std::condition_variable done_cv_;  // the sender stopped (WaitFinished)
  std::deque<OutFrame> queue_;
  bool ack_requested_ = false;
  bool writing_ = false;  // the sender thread or an inline Send() is writing to the socket
  bool finishing_ = false;
  bool sender_done_ = false;
  std::vector<std::byte> goodbye_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> last_rx_ns_{0};

  std::atomic<uint64_t> last_tx_ns_{0};

  // Sender thread only.
  std::vector<iovec> iov_;
  HeaderBytes ack_header_{};

  std::thread sender_;
  std::thread receiver_;
};

}  // namespace ftvm::rdma::tcp
