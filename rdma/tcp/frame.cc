#include "rdma/tcp/frame.h"

#include <cstring>

#include "base/wire.h"

namespace ftvm::rdma::tcp {
namespace {

template <class T>
std::byte* Store(std::byte* p, T value) {
  std::memcpy(p, &value, sizeof(value));
  return p + sizeof(value);
}

bool KnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(FrameType::kHello) &&
         type <= static_cast<uint8_t>(FrameType::kClose);
}

Result<void> CheckBody(const FrameHeader& h, const FrameLimits& limits) {
  const auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kProtocol, "frame type {} count {} body {}: {}",
                static_cast<int>(h.type), h.count, h.body_bytes, why);
  };
  if (limits.handshake != (h.type == FrameType::kHello)) {
    return bad(limits.handshake ? "expected a hello" : "hello after the handshake");
  }
  if (h.type != FrameType::kWrites && h.count != 0) return bad("count on a frame without writes");
  switch (h.type) {
    case FrameType::kHello:
      if (h.body_bytes != kHelloBytes) return bad("hello of the wrong size");
      break;
    case FrameType::kWrites:
      if (h.count == 0 || h.count > kMaxWritesPerFrame) return bad("write count out of range");
      if (h.body_bytes != h.count * kWriteDescriptorBytes) return bad("descriptor bytes != count");
      break;
    case FrameType::kSend:
      if (h.body_bytes > limits.max_message_bytes) return bad("message larger than negotiated");
      if ((h.flags & kFlagSendRun) != 0 ? h.aux == 0 || h.aux > kMaxSendRunBytes : h.aux != 0) {
        return bad("bad send run length");
      }
      break;
    case FrameType::kAck:
    case FrameType::kClose:
      if (h.body_bytes != 0) return bad("unexpected body");
      break;
    case FrameType::kNak:
      if (h.body_bytes > kMaxNakTextBytes) return bad("reason text too long");
      if (h.aux < static_cast<uint64_t>(NakReason::kBadKey) ||
          h.aux > static_cast<uint64_t>(NakReason::kProtocol)) {
        return bad("unknown nak reason");
      }
      break;
  }
  return {};
}

}  // namespace

std::string_view NakReasonName(NakReason reason) {
  switch (reason) {
    case NakReason::kBadKey:
      return "bad rkey";
    case NakReason::kOutOfBounds:
      return "out of bounds";
    case NakReason::kNoAccess:
      return "no remote write access";
    case NakReason::kProtocol:
      return "protocol error";
  }
  return "?";
}

HeaderBytes EncodeFrameHeader(const FrameHeader& h) {
  // Hot path (one call per frame): plain stores, no allocation. The layout is little-endian,
  // which wire.h asserts is the host order.
  HeaderBytes out{};
  std::byte* p = out.data();
  p = Store(p, static_cast<uint8_t>(h.type));
  p = Store(p, h.flags);
  p = Store(p, h.count);
  p = Store(p, h.body_bytes);
  p = Store(p, h.seq);
  Store(p, h.aux);
  return out;
}

Result<FrameHeader> DecodeFrameHeader(std::span<const std::byte, kFrameHeaderBytes> bytes,
                                      const FrameLimits& limits) {
  WireReader r(bytes);
  const auto type = r.Get<uint8_t>();
  FrameHeader h;
  h.flags = r.Get<uint8_t>();
  h.count = r.Get<uint16_t>();
  h.body_bytes = r.Get<uint32_t>();
  h.seq = r.Get<uint64_t>();
  h.aux = r.Get<uint64_t>();
  FTVM_TRY(r.Finish("frame header"));
  if (!KnownType(type)) return Fail(ErrorCode::kProtocol, "unknown frame type {}", type);
  if ((h.flags & ~(kFlagAckRequested | kFlagSendRun)) != 0) {
    return Fail(ErrorCode::kProtocol, "unknown frame flags {:#x}", h.flags);
  }
  h.type = static_cast<FrameType>(type);
  if ((h.flags & kFlagSendRun) != 0 && h.type != FrameType::kSend) {
    return Fail(ErrorCode::kProtocol, "send-run flag on frame type {}", type);
  }
  FTVM_TRY(CheckBody(h, limits));
  return h;
}

void MarkSendRun(HeaderBytes* header, uint64_t following_bytes) {
  (*header)[1] |= std::byte{kFlagSendRun};
  Store(header->data() + 16, following_bytes);
}

void AppendWriteDescriptor(std::vector<std::byte>* out, const WriteDescriptor& write) {
  const size_t at = out->size();
  out->resize(at + kWriteDescriptorBytes);
  std::byte* p = out->data() + at;
  p = Store(p, write.remote_addr);
  p = Store(p, write.rkey);
  Store(p, write.length);
}

Result<void> DecodeWriteDescriptors(const FrameHeader& header, std::span<const std::byte> body,
                                    std::vector<WriteDescriptor>* out) {
  if (header.type != FrameType::kWrites || body.size() != header.count * kWriteDescriptorBytes) {
    return Fail(ErrorCode::kProtocol, "descriptor body of {} bytes for {} writes", body.size(),
                header.count);
  }
  out->resize(header.count);
  WireReader r(body);
  uint64_t total = 0;
  for (WriteDescriptor& d : *out) {
    d.remote_addr = r.Get<uint64_t>();
    d.rkey = r.Get<uint32_t>();
    d.length = r.Get<uint32_t>();
    if (d.remote_addr + d.length < d.remote_addr) {
      return Fail(ErrorCode::kProtocol, "write at {:#x} of {} bytes wraps around", d.remote_addr,
                  d.length);
    }
    total += d.length;  // at most 512 * 4 GiB: cannot overflow
  }
  FTVM_TRY(r.Finish("write descriptors"));
  if (total != header.aux) {
    return Fail(ErrorCode::kProtocol, "write lengths add up to {}, header says {}", total,
                header.aux);
  }
  return {};
}

std::array<std::byte, kHelloBytes> EncodeHello(const Hello& hello) {
  std::vector<std::byte> buf;
  buf.reserve(kHelloBytes);
  WireWriter w(&buf);
  w.Put(kHelloMagic).Put(hello.version).Put(hello.stream_index).Put(hello.streams);
  w.Put(uint16_t{0}).Put(hello.connection_id).Put(hello.recv_credits);
  w.Put(hello.max_message_bytes).Put(hello.send_queue_depth).Put(hello.peer_timeout_ms);
  w.Put(hello.keepalive_interval_ms).Put(uint32_t{0});
  std::array<std::byte, kHelloBytes> out{};
  std::memcpy(out.data(), buf.data(), kHelloBytes);
  return out;
}

Result<Hello> DecodeHello(std::span<const std::byte> body) {
  WireReader r(body);
  Hello h;
  const auto magic = r.Get<uint64_t>();
  h.version = r.Get<uint16_t>();
  h.stream_index = r.Get<uint16_t>();
  h.streams = r.Get<uint16_t>();
  r.Skip(2);
  h.connection_id = r.Get<uint64_t>();
  h.recv_credits = r.Get<uint32_t>();
  h.max_message_bytes = r.Get<uint32_t>();
  h.send_queue_depth = r.Get<uint32_t>();
  h.peer_timeout_ms = r.Get<uint32_t>();
  h.keepalive_interval_ms = r.Get<uint32_t>();
  r.Skip(4);
  FTVM_TRY(r.Finish("hello"));
  if (magic != kHelloMagic) return Fail(ErrorCode::kProtocol, "not an ftvm tcp hello");
  if (h.version != kProtocolVersion) {
    return Fail(ErrorCode::kProtocol, "peer speaks tcp provider version {}, we speak {}", h.version,
                kProtocolVersion);
  }
  if (h.streams == 0 || h.streams > kMaxStreams || h.stream_index >= h.streams) {
    return Fail(ErrorCode::kProtocol, "stream {} of {} (1..{} streams)", h.stream_index, h.streams,
                kMaxStreams);
  }
  if (h.recv_credits == 0 || h.send_queue_depth == 0 || h.max_message_bytes == 0 ||
      h.max_message_bytes > kMaxMessageBytesLimit || h.peer_timeout_ms == 0 ||
      h.keepalive_interval_ms == 0) {
    return Fail(ErrorCode::kProtocol, "hello with a zero or oversized limit");
  }
  return h;
}

}  // namespace ftvm::rdma::tcp
