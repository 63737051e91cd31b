#include "rdma/tcp/frame_reader.h"

#include <algorithm>

#include "base/io.h"
#include "rdma/trace_events.h"

namespace ftvm::rdma::tcp {

Result<FrameType> FrameReader::ReadFrame() {
  FTVM_TRY(ReadHeader());
  FTVM_ASSIGN_OR_RETURN(const FrameHeader h, DecodeFrameHeader(header_, limits_));
  header_have_ = 0;
  trace_rdma_tcp_frame_rx(stream_index_, static_cast<uint32_t>(h.type), h.seq, h.count,
                          h.body_bytes);
  switch (h.type) {
    case FrameType::kWrites:
      FTVM_TRY(HandleWrites(h));
      break;
    case FrameType::kSend:
      FTVM_TRY(HandleSend(h));
      break;
    case FrameType::kAck:
      FTVM_TRY(handler_->OnAck(h.seq, h.aux));
      break;
    case FrameType::kNak:
      FTVM_TRY(HandleNak(h));
      break;
    case FrameType::kClose:
      handler_->OnClose();
      break;
    case FrameType::kHello:  // DecodeFrameHeader refuses it after the handshake
      return Fail(ErrorCode::kProtocol, "unexpected hello");
  }
  return h.type;
}

Result<void> FrameReader::ReadHeader() {
  while (header_have_ < kFrameHeaderBytes) {
    const iovec v{header_.data() + header_have_, kFrameHeaderBytes - header_have_};
    FTVM_ASSIGN_OR_RETURN(const size_t n, source_->ReadSome({&v, 1}));
    header_have_ += n;
  }
  return {};
}

Result<void> FrameReader::ReadExactly(std::span<std::byte> out) {
  while (!out.empty()) {
    const iovec v{out.data(), out.size()};
    FTVM_ASSIGN_OR_RETURN(const size_t n, source_->ReadSome({&v, 1}));
    out = out.subspan(n);
  }
  return {};
}

Result<void> FrameReader::ReadPayload(size_t payload_bytes) {
  size_t done = 0;
  size_t at = 0;  // first iovec not yet complete
  while (done < payload_bytes) {
    FTVM_ASSIGN_OR_RETURN(const size_t n,
                          source_->ReadSome(std::span<const iovec>(iov_).subspan(at)));
    done += n;
    ConsumeIovecs(iov_, &at, n);  // the source filled the iovecs in order
  }
  // Whatever came beyond the payload landed in the trailing header iovec (if there was one).
  header_have_ = done - payload_bytes;
  return {};
}

Result<void> FrameReader::HandleWrites(const FrameHeader& h) {
  body_.resize(h.body_bytes);
  FTVM_TRY(ReadExactly(body_));
  FTVM_TRY(DecodeWriteDescriptors(h, body_, &writes_));
  if (!handler_->Accepting()) return Fail(ErrorCode::kAborted, "channel no longer connected");
  pins_.clear();
  const TargetCheck check = regions_->PinTargets(writes_, &pins_);
  iov_.clear();
  size_t payload = 0;
  for (size_t i = 0; i < check.valid; ++i) {
    const WriteDescriptor& w = writes_[i];
    if (w.length == 0) continue;
    // The table checked that [remote_addr, +length) lies inside a registered region.
    iov_.push_back(iovec{reinterpret_cast<void*>(w.remote_addr), w.length});
    payload += w.length;
  }
  const bool all_valid = check.valid == writes_.size();
  if (all_valid) iov_.push_back(iovec{header_.data(), kFrameHeaderBytes});
  const Result<void> landed = ReadPayload(payload);
  pins_.clear();  // the memory is no longer touched: deregistration may proceed
  FTVM_TRY(landed);
  if (check.valid > 0) {
    FTVM_TRY(handler_->OnWritesLanded(h.seq, static_cast<uint32_t>(check.valid),
                                      (h.flags & kFlagAckRequested) != 0));
  }
  if (!all_valid) {
    handler_->OnWriteRejected(h.seq + check.valid, check.reason, check.detail);
    return Fail(ErrorCode::kRemoteAccess, "rejected write seq {}: {}", h.seq + check.valid,
                check.detail);
  }
  return {};
}

Result<void> FrameReader::HandleSend(const FrameHeader& h) {
  MessageBuffer message = handler_->TakeMessageBuffer();
  message.resize(h.body_bytes);
  const size_t run = (h.flags & kFlagSendRun) != 0 ? h.aux : 0;  // checked <= kMaxSendRunBytes
  run_.resize(run);
  iov_.clear();
  if (!message.empty()) iov_.push_back(iovec{message.data(), message.size()});
  if (run > 0) iov_.push_back(iovec{run_.data(), run});
  iov_.push_back(iovec{header_.data(), kFrameHeaderBytes});
  FTVM_TRY(ReadPayload(message.size() + run));
  trace_rdma_recv(h.body_bytes);
  FTVM_TRY(handler_->OnMessage(h.seq, std::move(message), (h.flags & kFlagAckRequested) != 0));
  return HandleSendRun();
}

Result<void> FrameReader::HandleSendRun() {
  // The run holds only complete kSend frames (no write payload is ever staged here).
  std::span<const std::byte> rest(run_);
  while (!rest.empty()) {
    if (rest.size() < kFrameHeaderBytes) return Fail(ErrorCode::kProtocol, "send run cut short");
    FTVM_ASSIGN_OR_RETURN(const FrameHeader h,
                          DecodeFrameHeader(rest.first<kFrameHeaderBytes>(), limits_));
    if (h.type != FrameType::kSend || (h.flags & kFlagSendRun) != 0) {
      return Fail(ErrorCode::kProtocol, "frame type {} inside a send run",
                  static_cast<int>(h.type));
    }
    rest = rest.subspan(kFrameHeaderBytes);
    if (rest.size() < h.body_bytes) return Fail(ErrorCode::kProtocol, "send run cut short");
    MessageBuffer message = handler_->TakeMessageBuffer();
    message.assign(rest.begin(), rest.begin() + h.body_bytes);
    rest = rest.subspan(h.body_bytes);
    trace_rdma_recv(h.body_bytes);
    FTVM_TRY(handler_->OnMessage(h.seq, std::move(message), (h.flags & kFlagAckRequested) != 0));
  }
  return {};
}

Result<void> FrameReader::HandleNak(const FrameHeader& h) {
  body_.resize(h.body_bytes);
  FTVM_TRY(ReadExactly(body_));
  const std::string_view text(reinterpret_cast<const char*>(body_.data()), body_.size());
  handler_->OnNak(h.seq, static_cast<NakReason>(h.aux), text);
  return {};
}

}  // namespace ftvm::rdma::tcp
