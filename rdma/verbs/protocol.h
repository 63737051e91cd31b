// The verbs provider's own wire protocol: connection private data and the header of every SEND.
//
// Connection (librdmacm, RDMA_PS_TCP):
//   client --CONNECT REQUEST, private data = Hello--> server
//   server validates it; on a mismatch:  <--REJECT, private data = Reject (reason, version)--
//   otherwise posts its receive buffers: <--ACCEPT, private data = Hello--
//   client validates the server's Hello (a mismatch: it disconnects with a protocol error).
// Data: RDMA WRITEs carry no header. Every SEND starts with an 8-byte MessageHeader:
//   kUser       an upper-layer message (rdma/channel.h PostSend) follows
//   kKeepalive  nothing follows; sent when this side sent nothing for a keepalive interval
//   kCredit     nothing follows; returns receive buffers the user consumed (see below)
//   kGoodbye    nothing follows; Close(): the last message of an orderly disconnect
// Credits: each side posts `recv_buffers` receive buffers (its user window `recv_credits` plus a
// reserve for the internal kinds above) and counts every buffer it re-posts. Every header carries
// that cumulative count (mod 2^32), so the sender knows how many of its messages the peer has
// consumed. User messages may use only the user window; internal ones the reserve too.
// All integers little-endian. Private data arrives zero-padded to the transport's size (56
// bytes in a REQ over IB/RoCE), so decoders accept trailing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace ftvm::rdma::verbs {

inline constexpr uint32_t kHelloMagic = 0x4d565446;  // "FTVM" little-endian
inline constexpr uint16_t kProtocolVersion = 1;
// Capability bits a side announces. Unknown bits are ignored; missing required ones rejected.
enum Capability : uint32_t {
  kCapCredits = 1u << 0,    // headers carry cumulative credit counts (required in version 1)
  kCapKeepalive = 1u << 1,  // sends kKeepalive when idle (required in version 1)
};
inline constexpr uint32_t kRequiredCaps = kCapCredits | kCapKeepalive;
inline constexpr uint32_t kOurCaps = kCapCredits | kCapKeepalive;
// librdmacm: a REQ carries at most 56 bytes of private data over IB/RoCE.
inline constexpr size_t kMaxConnectPrivateData = 56;

struct Hello {
  uint16_t version = kProtocolVersion;
  uint32_t caps = kOurCaps;
  uint32_t recv_buffers = 0;  // receive buffers posted (user window + reserve)
  uint32_t recv_credits = 0;  // the user window: messages the peer's user may have in flight
  uint32_t max_message_bytes = 0;
  uint32_t peer_timeout_ms = 0;  // we declare the peer lost after this much silence
  uint32_t keepalive_ms = 0;     // we send keepalives at least this often when idle
};

std::vector<std::byte> EncodeHello(const Hello& hello);
// kProtocol when the bytes are not an ftvm hello (wrong magic, too short, zero limits), or when
// the version or required capabilities differ from ours (naming both versions).
Result<Hello> DecodeHello(std::span<const std::byte> bytes);

enum class RejectReason : uint16_t {
  kVersionMismatch = 1,  // or missing required capabilities
  kBadHello = 2,         // not an ftvm hello at all
  kNoResources = 3,      // the acceptor could not create its queue pair or buffers
};

struct Reject {
  RejectReason reason = RejectReason::kBadHello;
  uint16_t version = kProtocolVersion;  // the rejecting side's protocol version
};

std::vector<std::byte> EncodeReject(const Reject& reject);
// Empty when the bytes are not an ftvm reject (e.g. the CM's own REJ: nobody listening).
std::optional<Reject> DecodeReject(std::span<const std::byte> bytes);
// The error a connecting side reports for a rejection: kProtocol for version or hello problems,
// kResourceExhausted for kNoResources, kPeerLost ("refused") when it was not an ftvm reject.
Error RejectError(std::span<const std::byte> private_data, int cm_status);

enum class MessageKind : uint8_t { kUser = 1, kKeepalive = 2, kCredit = 3, kGoodbye = 4 };

inline constexpr size_t kMessageHeaderBytes = 8;

struct MessageHeader {
  MessageKind kind = MessageKind::kUser;
  uint32_t reposted = 0;  // the sender's cumulative count of re-posted receive buffers
};

void EncodeMessageHeader(const MessageHeader& header,
                         std::span<std::byte, kMessageHeaderBytes> out);
// kProtocol for a short message, an unknown kind, non-zero reserved bytes, or a payload on an
// internal kind.
Result<MessageHeader> DecodeMessageHeader(std::span<const std::byte> message);

}  // namespace ftvm::rdma::verbs
