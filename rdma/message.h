// The envelope of every control message that upper layers send over a Channel.
//
// A Channel delivers message boundaries but no types. ram/ and colo/ share one channel, so each
// message starts with this 4-byte header and the receiving loop dispatches on `type`:
//   0x0100-0x01ff  ram/  (block table, registration, compress, unregister, commit, ...)
//   0x0200-0x02ff  colo/ (checkpoint request/reply, vmstate size/received/loaded, heartbeat, ...)
// Layout (little-endian): u16 type, u16 version of that message's encoding, payload.
// Each layer documents its payloads in docs/protocol.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/wire.h"

namespace ftvm::rdma {

inline constexpr uint16_t kMessageRangeRam = 0x0100;
inline constexpr uint16_t kMessageRangeColo = 0x0200;
inline constexpr size_t kMessageHeaderBytes = 4;

struct MessageHeader {
  uint16_t type = 0;
  uint16_t version = 0;
};

// Starts a message: writes the header into `out` (cleared first) and returns a writer for the
// payload.
inline WireWriter BeginMessage(std::vector<std::byte>* out, uint16_t type, uint16_t version) {
  out->clear();
  WireWriter w(out);
  w.Put(type).Put(version);
  return w;
}

// Splits a received message into its header and a reader positioned at the payload.
inline Result<MessageHeader> PeekHeader(std::span<const std::byte> message) {
  if (message.size() < kMessageHeaderBytes) {
    return Fail(ErrorCode::kProtocol, "message of {} bytes has no header", message.size());
  }
  WireReader r(message);
  MessageHeader h;
  h.type = r.Get<uint16_t>();
  h.version = r.Get<uint16_t>();
  return h;
}

inline std::span<const std::byte> Payload(std::span<const std::byte> message) {
  return message.size() < kMessageHeaderBytes ? message.last(0)
                                              : message.subspan(kMessageHeaderBytes);
}

}  // namespace ftvm::rdma
