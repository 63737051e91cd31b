// The tcp provider's wire format (docs/protocol.md, "tcp provider framing"). Pure functions: no
// sockets, no state; fuzzed by fuzz/tcp_frame_fuzz.cc.
//
// Every byte a stream carries belongs to a frame: a 24-byte header, a body of `body_bytes`,
// and, for kWrites only, the payloads of its writes after the body:
//
//   0  u8  type        FrameType
//   1  u8  flags       kFlagAckRequested, kFlagSendRun (kSend only)
//   2  u16 count       kWrites: number of write descriptors (1..kMaxWritesPerFrame); else 0
//   4  u32 body_bytes  kWrites: count * 16; kSend: message length; kHello: 48; kNak: <= 256
//   8  u64 seq         kWrites: seq of the first write; kSend: its seq; kAck: watermark;
//                      kNak: seq of the rejected write (0 for a protocol error)
//   16 u64 aux         kWrites: total payload bytes; kAck: messages consumed; kNak: NakReason;
//                      kSend with kFlagSendRun: bytes of the complete kSend frames that follow
//                      (a run the receiver may read at once: messages, never write payloads)
//
// Write descriptor (16 bytes): u64 remote_addr, u32 rkey, u32 length.
// Every field is little-endian. Decoders check every length and count against fixed limits and
// the negotiated ones before anything is allocated or read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ftvm::rdma::tcp {

inline constexpr size_t kFrameHeaderBytes = 24;
inline constexpr size_t kWriteDescriptorBytes = 16;
inline constexpr size_t kHelloBytes = 48;
inline constexpr uint32_t kMaxWritesPerFrame = 512;
inline constexpr uint32_t kMaxNakTextBytes = 256;
// Upper bound for any negotiated message size (a sanity limit on what a hello may ask for).
inline constexpr uint32_t kMaxMessageBytesLimit = 64u << 20;
inline constexpr uint64_t kHelloMagic = 0x3130504354565446ull;  // "FTVTCP01" little-endian
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr uint32_t kMaxStreams = 16;

enum class FrameType : uint8_t {
  kHello = 1,   // handshake: the first frame of every stream, in both directions
  kWrites = 2,  // one-sided writes: descriptors, then payloads straight into target memory
  kSend = 3,    // one control message
  kAck = 4,     // cumulative acknowledgement and credits; also the keepalive probe
  kNak = 5,     // the sender failed the connection: rejected write or protocol error
  kClose = 6,   // orderly goodbye
};

enum FrameFlags : uint8_t {
  kFlagAckRequested = 1u << 0,  // the frame holds a signaled work request: acknowledge promptly
  kFlagSendRun = 1u << 1,       // kSend: `aux` bytes of complete kSend frames follow this one
};

// Longest run of sends one kFlagSendRun frame may announce.
inline constexpr uint64_t kMaxSendRunBytes = 256 << 10;

enum class NakReason : uint8_t {
  kBadKey = 1,       // unknown or deregistered rkey
  kOutOfBounds = 2,  // range outside the region
  kNoAccess = 3,     // region not registered for remote write
  kProtocol = 4,     // the receiver could not parse what it was sent
};
std::string_view NakReasonName(NakReason reason);

struct FrameHeader {
  FrameType type = FrameType::kAck;
  uint8_t flags = 0;
  uint16_t count = 0;
  uint32_t body_bytes = 0;
  uint64_t seq = 0;
  uint64_t aux = 0;
};

struct WriteDescriptor {
  uint64_t remote_addr = 0;
  uint32_t rkey = 0;
  uint32_t length = 0;
};

struct Hello {
  uint16_t version = kProtocolVersion;
  uint16_t stream_index = 0;
  uint16_t streams = 1;
  uint64_t connection_id = 0;  // 0 in the first stream's hello from the connecting side
  uint32_t recv_credits = 0;
  uint32_t max_message_bytes = 0;
  uint32_t send_queue_depth = 0;
  uint32_t peer_timeout_ms = 0;
  uint32_t keepalive_interval_ms = 0;
};

// Limits the receiver applies to headers (negotiated at the handshake).
struct FrameLimits {
  uint32_t max_message_bytes = 0;
  bool handshake = false;  // only kHello is acceptable before the handshake completes
};

using HeaderBytes = std::array<std::byte, kFrameHeaderBytes>;

HeaderBytes EncodeFrameHeader(const FrameHeader& header);
// Marks an encoded kSend header as the start of a run of `following_bytes` of send frames.
void MarkSendRun(HeaderBytes* header, uint64_t following_bytes);
// Validates type, flags, count and body length against `limits` (kProtocol otherwise).
Result<FrameHeader> DecodeFrameHeader(std::span<const std::byte, kFrameHeaderBytes> bytes,
                                      const FrameLimits& limits);

// Appends one 16-byte descriptor.
void AppendWriteDescriptor(std::vector<std::byte>* out, const WriteDescriptor& write);
// Decodes the body of a kWrites frame into `out` (resized to header.count). Checks that the
// lengths add up to header.aux and that no range wraps around the address space.
Result<void> DecodeWriteDescriptors(const FrameHeader& header, std::span<const std::byte> body,
                                    std::vector<WriteDescriptor>* out);

std::array<std::byte, kHelloBytes> EncodeHello(const Hello& hello);
// Checks magic, version, stream index/count and every limit.
Result<Hello> DecodeHello(std::span<const std::byte> body);

}  // namespace ftvm::rdma::tcp
