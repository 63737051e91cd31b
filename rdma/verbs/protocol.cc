// Codecs of the verbs provider's private data and message header (protocol.h).
#include "rdma/verbs/protocol.h"

#include <cstring>
#include <string_view>

#include "base/wire.h"

namespace ftvm::rdma::verbs {
namespace {

constexpr size_t kHelloBytes = 32;
constexpr size_t kRejectBytes = 8;

std::string CapsText(uint32_t caps) {
  std::string text;
  if (caps & kCapCredits) text += "credits,";
  if (caps & kCapKeepalive) text += "keepalive,";
  if (!text.empty()) text.pop_back();
  return text.empty() ? "none" : text;
}

}  // namespace

std::vector<std::byte> EncodeHello(const Hello& hello) {
  std::vector<std::byte> out;
  WireWriter w(&out);
  w.Put(kHelloMagic).Put(hello.version).Put(uint16_t{kHelloBytes}).Put(hello.caps);
  w.Put(hello.recv_buffers).Put(hello.recv_credits).Put(hello.max_message_bytes);
  w.Put(hello.peer_timeout_ms).Put(hello.keepalive_ms);
  return out;
}

Result<Hello> DecodeHello(std::span<const std::byte> bytes) {
  WireReader r(bytes);
  const auto magic = r.Get<uint32_t>();
  Hello h;
  h.version = r.Get<uint16_t>();
  const auto length = r.Get<uint16_t>();
  if (!r.ok() || magic != kHelloMagic) {
    return Fail(ErrorCode::kProtocol, "the peer is not an ftvm verbs endpoint (no hello)");
  }
  if (h.version != kProtocolVersion) {
    return Fail(ErrorCode::kProtocol,
                "protocol version mismatch: the peer speaks version {}, this side version {}",
                h.version, kProtocolVersion);
  }
  if (length < kHelloBytes || length > bytes.size()) {
    return Fail(ErrorCode::kProtocol, "hello of {} bytes in {} bytes of private data", length,
                bytes.size());
  }
  h.caps = r.Get<uint32_t>();
  h.recv_buffers = r.Get<uint32_t>();
  h.recv_credits = r.Get<uint32_t>();
  h.max_message_bytes = r.Get<uint32_t>();
  h.peer_timeout_ms = r.Get<uint32_t>();
  h.keepalive_ms = r.Get<uint32_t>();
  FTVM_TRY(r.Finish("hello", /*allow_trailing=*/true));
  if ((h.caps & kRequiredCaps) != kRequiredCaps) {
    return Fail(ErrorCode::kProtocol, "the peer lacks required capabilities: has {}, needs {}",
                CapsText(h.caps), CapsText(kRequiredCaps));
  }
  if (h.recv_credits == 0 || h.recv_buffers <= h.recv_credits || h.max_message_bytes == 0 ||
      h.peer_timeout_ms == 0 || h.keepalive_ms == 0) {
    return Fail(
        ErrorCode::kProtocol,
        "bad hello: buffers {} credits {} max message {} peer timeout {} ms keepalive {} ms",
        h.recv_buffers, h.recv_credits, h.max_message_bytes, h.peer_timeout_ms, h.keepalive_ms);
  }
  return h;
}

std::vector<std::byte> EncodeReject(const Reject& reject) {
  std::vector<std::byte> out;
  WireWriter(&out).Put(kHelloMagic).Put(reject.version).Put(reject.reason);
  return out;
}

std::optional<Reject> DecodeReject(std::span<const std::byte> bytes) {
  if (bytes.size() < kRejectBytes) return std::nullopt;
  WireReader r(bytes);
  if (r.Get<uint32_t>() != kHelloMagic) return std::nullopt;
  Reject reject;
  reject.version = r.Get<uint16_t>();
  const auto reason = r.Get<uint16_t>();
  if (reason < 1 || reason > 3) return std::nullopt;
  reject.reason = static_cast<RejectReason>(reason);
  return reject;
}

Error RejectError(std::span<const std::byte> private_data, int cm_status) {
  const std::optional<Reject> reject = DecodeReject(private_data);
  if (!reject) {
    return Error(ErrorCode::kPeerLost,
                 fmt::format("connection refused (CM reject reason {}: nobody listening there?)",
                             cm_status));
  }
  switch (reject->reason) {
    case RejectReason::kVersionMismatch:
      return Error(ErrorCode::kProtocol,
                   fmt::format("rejected by the peer: protocol version mismatch (the peer speaks "
                               "version {}, this side version {})",
                               reject->version, kProtocolVersion));
    case RejectReason::kBadHello:
      return Error(ErrorCode::kProtocol, "rejected by the peer: it could not parse our hello");
    case RejectReason::kNoResources:
      return Error(ErrorCode::kResourceExhausted,
                   "rejected by the peer: it could not create its queue pair or buffers");
  }
  return Error(ErrorCode::kProtocol, "rejected by the peer");
}

void EncodeMessageHeader(const MessageHeader& header,
                         std::span<std::byte, kMessageHeaderBytes> out) {
  out[0] = static_cast<std::byte>(header.kind);
  out[1] = out[2] = out[3] = std::byte{0};
  const uint32_t reposted = header.reposted;
  std::memcpy(out.data() + 4, &reposted, sizeof(reposted));
}

Result<MessageHeader> DecodeMessageHeader(std::span<const std::byte> message) {
  if (message.size() < kMessageHeaderBytes) {
    return Fail(ErrorCode::kProtocol, "message of {} bytes is shorter than its header",
                message.size());
  }
  WireReader r(message);
  const auto kind = r.Get<uint8_t>();
  const uint32_t reserved_byte = r.Get<uint8_t>();
  const uint32_t reserved = reserved_byte | r.Get<uint16_t>();
  MessageHeader h;
  h.reposted = r.Get<uint32_t>();
  if (kind < 1 || kind > 4 || reserved != 0) {
    return Fail(ErrorCode::kProtocol, "bad message header (kind {}, reserved {:#x})", kind,
                reserved);
  }
  h.kind = static_cast<MessageKind>(kind);
  if (h.kind != MessageKind::kUser && message.size() != kMessageHeaderBytes) {
    return Fail(ErrorCode::kProtocol, "internal message of kind {} carries {} payload bytes", kind,
                message.size() - kMessageHeaderBytes);
  }
  return h;
}

}  // namespace ftvm::rdma::verbs
