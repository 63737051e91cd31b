// Reads frames from a byte source and lands write payloads straight into registered memory.
//
// The receive path of a stream, without the socket: the stream thread feeds it a socket
// (rdma/tcp/stream.cc), the fuzzer feeds it bytes (fuzz/tcp_frame_fuzz.cc). For a kWrites frame
// it reads the descriptor list in one read, checks every write against the RegionTable, pins
// the target regions, then scatters the payloads straight into target memory with one readv
// whose last iovec also picks up the next frame's header when it is already there (so a batch
// costs about two system calls, and no payload byte is staged). A write that fails the check
// lands nothing: the writes before it land, then the handler hears of the rejection and the
// stream ends. A kSend marked as the start of a send run is read together with the run (one
// readv for many messages); the run is checked to hold nothing but complete kSend frames.
//
// Not thread-safe: one reader per stream, used by that stream's receiver thread only.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "rdma/tcp/frame.h"
#include "rdma/tcp/receive_order.h"
#include "rdma/tcp/region_table.h"

namespace ftvm::rdma::tcp {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads at least one byte, scattered over `iov` in order, and returns how many. Errors end the
  // stream: kPeerLost at end of stream or when the peer stays silent too long, kAborted when the
  // stream is being stopped.
  virtual Result<size_t> ReadSome(std::span<const iovec> iov) = 0;
};

// What the reader reports; implemented by the channel (called on the stream's receiver thread).
// An error returned by a callback ends the stream with that error.
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // False once the channel left kConnected: the reader lands no further writes.
  virtual bool Accepting() const = 0;
  virtual Result<void> OnWritesLanded(uint64_t first_seq, uint32_t count, bool ack_requested) = 0;
  virtual void OnWriteRejected(uint64_t seq, NakReason reason, const std::string& detail) = 0;
  // A buffer for an incoming message (capacity is reused; contents are overwritten).
  virtual MessageBuffer TakeMessageBuffer() = 0;
  virtual Result<void> OnMessage(uint64_t seq, MessageBuffer message, bool ack_requested) = 0;
  virtual Result<void> OnAck(uint64_t watermark, uint64_t consumed) = 0;
  virtual void OnNak(uint64_t seq, NakReason reason, std::string_view text) = 0;
  virtual void OnClose() = 0;
};

class FrameReader {
 public:
  FrameReader(ByteSource* source, RegionTable* regions, FrameHandler* handler,
              const FrameLimits& limits, uint32_t stream_index = 0)
      : source_(source),
        regions_(regions),
        handler_(handler),
        limits_(limits),
        stream_index_(stream_index) {}

  // Reads one frame and reports it. Returns its type; the stream ends after kNak and kClose.
  // Errors: the source's; kProtocol for a malformed frame; kRemoteAccess after a rejected write
  // (already reported through OnWriteRejected); kAborted when the handler stopped accepting.
  Result<FrameType> ReadFrame();

 private:
  Result<void> ReadHeader();
  Result<void> ReadExactly(std::span<std::byte> out);
  // Reads every byte of iov_[0, payload_iovs) and, opportunistically, part or all of the next
  // header (the extra iovec after them).
  Result<void> ReadPayload(size_t payload_bytes);
  Result<void> HandleWrites(const FrameHeader& header);
  Result<void> HandleSend(const FrameHeader& header);
  Result<void> HandleSendRun();
  Result<void> HandleNak(const FrameHeader& header);

  ByteSource* source_;
  RegionTable* regions_;
  FrameHandler* handler_;
  FrameLimits limits_;
  uint32_t stream_index_;
  HeaderBytes header_{};
  size_t header_have_ = 0;  // bytes of the next header already read
  std::vector<std::byte> body_;
  std::vector<std::byte> run_;  // the send frames a kFlagSendRun frame announced
  std::vector<WriteDescriptor> writes_;
  std::vector<RegionPin> pins_;
  std::vector<iovec> iov_;
};

}  // namespace ftvm::rdma::tcp
