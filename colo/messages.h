// colo/ control messages (types 0x0200-0x02ff inside the rdma/message.h envelope).
//
// Setup:        P->S Hello, S->P HelloAck, (ram/ block tables and initial sync),
//               S->P CheckpointReady when the secondary can take checkpoints.
// Checkpoint n: P->S CheckpointRequest(n)         the primary wants a checkpoint
//               S->P CheckpointReply(n)           the secondary's guest is paused
//               (ram/ writes + commit message with the dirty set)
//               P->S VmstateSize(n, size, hash[, RAM hash]), VmstateData(n, offset, bytes)...
//               S->P VmstateReceived(n)           everything is local: the checkpoint is safe
//               S->P VmstateLoaded(n)             committed and loaded; the secondary resumes
// Any time:     Heartbeat(seq) both ways; Goodbye(reason) before an orderly close.
// QEMU's COLO names the same steps checkpoint-ready/-request/-reply, vmstate-send/-size/
// -received/-loaded. The full sequence is drawn in docs/protocol.md.
//
// DecodeColoMessage validates every length; unknown types and versions are protocol errors.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"

namespace ftvm::colo {

inline constexpr uint16_t kColoProtocolVersion = 2;      // 2: vmstate-size carries the RAM hash
inline constexpr uint32_t kMaxVmstateBytes = 64u << 20;  // a device-state blob larger is refused

enum class ColoMsgType : uint16_t {
  kHello = 0x0201,
  kHelloAck = 0x0202,
  kCheckpointReady = 0x0203,
  kCheckpointRequest = 0x0204,
  kCheckpointReply = 0x0205,
  kVmstateSize = 0x0206,
  kVmstateData = 0x0207,
  kVmstateReceived = 0x0208,
  kVmstateLoaded = 0x0209,
  kHeartbeat = 0x020a,
  kGoodbye = 0x020b,
};

struct Hello {
  uint16_t protocol_version = kColoProtocolVersion;
  std::string guest;       // built-in guest name, for the operator's information
  std::string guest_args;  // "key=value ..." as given to the guest
  uint32_t vcpus = 1;
  uint64_t ram_bytes = 0;     // the guest's main RAM block (ram/ validates every block again)
  uint64_t ring_bytes = 0;    // the shared-memory ring block (0: none)
  uint8_t registration = 0;   // ram/ registration mode
  uint8_t passive = 0;        // 1: the secondary guest stays paused between checkpoints
  uint32_t heartbeat_ms = 0;  // period the primary sends heartbeats with
};
struct HelloAck {
  uint8_t accepted = 0;
  std::string reason;  // why not, when refused
};
struct CheckpointReady {};
struct CheckpointRequest {
  uint64_t seq = 0;
};
struct CheckpointReply {
  uint64_t seq = 0;
};
struct VmstateSize {
  uint64_t seq = 0;
  uint32_t size = 0;
  uint64_t hash = 0;         // XXH3-64 of the blob
  uint8_t has_ram_hash = 0;  // 1 in verify mode: ram_hash is set
  uint64_t ram_hash = 0;     // XXH3-64 of all guest RAM at the checkpoint (colo/verify.h)
};
struct VmstateData {
  uint64_t seq = 0;
  uint32_t offset = 0;
  std::span<const std::byte> bytes;  // a view into the received message
};
struct VmstateReceived {
  uint64_t seq = 0;
};
struct VmstateLoaded {
  uint64_t seq = 0;
};
struct Heartbeat {
  uint64_t seq = 0;
  uint64_t checkpoint = 0;  // last committed checkpoint the sender knows of
};
struct Goodbye {
  std::string reason;
};

using ColoMessage =
    std::variant<Hello, HelloAck, CheckpointReady, CheckpointRequest, CheckpointReply, VmstateSize,
                 VmstateData, VmstateReceived, VmstateLoaded, Heartbeat, Goodbye>;

// Encodes into `out` (cleared first), envelope included.
void Encode(const ColoMessage& message, std::vector<std::byte>* out);
// Decodes a whole received message (envelope included). Views in the result point into
// `message`.
Result<ColoMessage> DecodeColoMessage(std::span<const std::byte> message);
// True if the envelope type is in colo's range (0x02xx).
bool IsColoMessage(std::span<const std::byte> message);

const char* MessageName(const ColoMessage& message);

}  // namespace ftvm::colo
