// ram/ control messages: types 0x0100-0x01ff inside the rdma/message.h envelope, version 1.
// docs/protocol.md ("ram/ messages") is the byte-level spec; this header is its code.
//
// Message sequence (P = primary / RamSender, S = secondary / RamReceiver):
//   setup       P->S BlockTableRequest   mode, chunk shift, verify, pinned budget, block table
//               S->P BlockTableResult    accepted or why not; per block: cache address (+ rkey
//                                        in pin-all mode)
//   checkpoint  P->S CheckpointBegin     id (strictly increasing), full flag
//               P->S DirtySet*           the checkpoint's dirty bitmap, in pieces
//               P->S Unregister*         chunks P dropped under its pinned budget (on-demand)
//               P->S RegisterRequest*    chunks P needs keys for (on-demand, pipelined)
//               S->P RegisterResult*     one per request: an rkey per chunk
//               P    RDMA WRITEs         dirty data straight into S's RAM cache
//               P->S Compress*           all-zero ranges (S zeroes them in its cache)
//               P->S CheckpointEnd       counts and (verify mode) the hash of the dirty pages
//   commit      S->P CheckpointAck       committed / discarded / verify failed, after colo
//                                        called Commit() or Discard() on S
//
// Decode() checks syntax and self-consistency (version, counts against the bytes present, enum
// values, block descriptions); the Check* functions check wire values against the agreed
// geometry. Receivers call both before touching memory. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "ram/chunk.h"
#include "ram/ram_block.h"
#include "rdma/message.h"

namespace ftvm::ram {

enum class MessageType : uint16_t {
  kBlockTableRequest = 0x0101,
  kBlockTableResult = 0x0102,
  kRegisterRequest = 0x0103,
  kRegisterResult = 0x0104,
  kUnregister = 0x0105,
  kCompress = 0x0106,
  kCheckpointBegin = 0x0107,
  kDirtySet = 0x0108,
  kCheckpointEnd = 0x0109,
  kCheckpointAck = 0x010a,
};
inline constexpr uint16_t kWireVersion = 1;

enum class RegistrationMode : uint8_t { kPinAll = 0, kOnDemand = 1 };
// "pin-all" or "on-demand": the names the command line and the control socket use.
constexpr const char* RegistrationModeName(RegistrationMode mode) {
  return mode == RegistrationMode::kPinAll ? "pin-all" : "on-demand";
}
enum class AckStatus : uint8_t { kCommitted = 0, kDiscarded = 1, kVerifyFailed = 2 };

struct BlockTableRequest {
  RegistrationMode mode = RegistrationMode::kPinAll;
  uint8_t chunk_shift = kDefaultChunkShift;
  bool verify = false;
  uint64_t max_pinned_bytes = 0;  // 0: unlimited
  std::vector<BlockDesc> blocks;
};
struct RemoteBlock {
  uint64_t remote_addr = 0;  // address of the block's byte 0 in S's RAM cache
  uint32_t rkey = 0;         // pin-all: the block's key; on-demand: 0
};
struct BlockTableResult {
  bool accepted = false;
  std::string reason;             // why not, when !accepted
  uint64_t max_pinned_bytes = 0;  // the budget both sides keep (0: unlimited)
  std::vector<RemoteBlock> blocks;
};
struct RegisterRequest {
  std::vector<ChunkRef> chunks;
};
struct RegisteredChunk {
  ChunkRef chunk;
  uint32_t rkey = 0;
};
struct RegisterResult {
  bool ok = false;
  std::string reason;
  std::vector<RegisteredChunk> chunks;
};
struct Unregister {
  std::vector<ChunkRef> chunks;
};
struct ZeroRange {
  uint32_t block = 0;
  uint64_t offset = 0;  // bytes from the block start
  uint64_t length = 0;
  bool operator==(const ZeroRange&) const = default;
};
struct Compress {
  uint64_t checkpoint = 0;
  std::vector<ZeroRange> ranges;
};
struct CheckpointBegin {
  uint64_t checkpoint = 0;
  // Every page of every block is in this checkpoint: either all of them travel, or the pages
  // that do not travel came in the sync rounds before (the dirty set plus the rounds' dirty
  // sets cover every page). The commit copies every page.
  bool full = false;
  // A round of the initial sync: pages land in the cache while the primary's guest still runs;
  // nothing is committed or acknowledged. Only before the first commit.
  bool sync_round = false;
};
struct DirtySet {
  uint64_t checkpoint = 0;
  uint32_t block = 0;
  uint32_t first_word = 0;
  std::vector<uint64_t> words;
};
struct CheckpointEnd {
  uint64_t checkpoint = 0;
  uint32_t dirty_set_messages = 0;
  uint64_t dirty_pages = 0;
  bool has_hash = false;
  uint64_t hash = 0;  // XXH3-64 of the dirty pages in block, page order (verify mode)
};
struct CheckpointAck {
  uint64_t checkpoint = 0;
  AckStatus status = AckStatus::kCommitted;
};

using Message =
    std::variant<BlockTableRequest, BlockTableResult, RegisterRequest, RegisterResult, Unregister,
                 Compress, CheckpointBegin, DirtySet, CheckpointEnd, CheckpointAck>;

// Fixed sizes, for callers that batch entries up to the channel's max message size.
inline constexpr size_t kChunkRefBytes = 8;
inline constexpr size_t kZeroRangeBytes = 20;
inline constexpr size_t kCompressOverhead = rdma::kMessageHeaderBytes + 8 + 4;
inline constexpr size_t kRequestOverhead = rdma::kMessageHeaderBytes + 4;
inline constexpr size_t kRegisteredChunkBytes = 12;
inline constexpr size_t kDirtySetOverhead = rdma::kMessageHeaderBytes + 8 + 4 + 4 + 4;
inline constexpr size_t kMaxChunksPerMessage = 4096;

// "CheckpointBegin", ... for errors and logs.
std::string_view MessageName(const Message& message);

// True if the message carries a ram/ type (0x0100-0x01ff).
bool IsRamMessage(std::span<const std::byte> message);

// Encodes into `out` (cleared first). Encoders FTVM_CHECK their own limits (a bug, not input).
void Encode(const Message& message, std::vector<std::byte>* out);

// Decodes one message; kProtocol with the reason on any malformation.
Result<Message> Decode(std::span<const std::byte> message);

// Geometry checks of decoded values (kProtocol).
Result<void> CheckChunk(const ChunkGeometry& geometry, ChunkRef chunk);
Result<void> CheckZeroRange(std::span<const BlockDesc> table, const ZeroRange& range);
Result<void> CheckDirtySet(std::span<const BlockDesc> table, const DirtySet& set);

}  // namespace ftvm::ram
