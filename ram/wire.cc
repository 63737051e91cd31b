#include "ram/wire.h"

#include "base/check.h"
#include "ram/dirty_bitmap.h"

namespace ftvm::ram {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};

constexpr size_t kBlockDescMinBytes = 2 + 8 + 8 + 4;
constexpr size_t kRemoteBlockBytes = 12;
constexpr uint32_t kFlagFull = 1;
constexpr uint32_t kFlagSyncRound = 2;
constexpr uint32_t kFlagHash = 1;

void PutChunks(WireWriter& w, const std::vector<ChunkRef>& chunks) {
  FTVM_CHECK(chunks.size() <= kMaxChunksPerMessage, "{} chunks", chunks.size());
  w.Put(static_cast<uint32_t>(chunks.size()));
  for (const ChunkRef& c : chunks) w.Put(c.block).Put(c.index);
}

void EncodeBody(WireWriter& w, const BlockTableRequest& m) {
  w.Put(m.mode).Put(m.chunk_shift).Put(static_cast<uint8_t>(m.verify)).Put(uint8_t{0});
  w.Put(m.max_pinned_bytes).Put(static_cast<uint32_t>(m.blocks.size()));
  for (const BlockDesc& b : m.blocks) {
    w.PutString16(b.name).Put(b.offset).Put(b.length).Put(b.page_size);
  }
}
void EncodeBody(WireWriter& w, const BlockTableResult& m) {
  w.Put(static_cast<uint8_t>(m.accepted)).PutString16(m.reason).Put(m.max_pinned_bytes);
  w.Put(static_cast<uint32_t>(m.blocks.size()));
  for (const RemoteBlock& b : m.blocks) w.Put(b.remote_addr).Put(b.rkey);
}
void EncodeBody(WireWriter& w, const RegisterRequest& m) { PutChunks(w, m.chunks); }
void EncodeBody(WireWriter& w, const RegisterResult& m) {
  FTVM_CHECK(m.chunks.size() <= kMaxChunksPerMessage, "{} chunks", m.chunks.size());
  w.Put(static_cast<uint8_t>(m.ok)).PutString16(m.reason);
  w.Put(static_cast<uint32_t>(m.chunks.size()));
  for (const RegisteredChunk& c : m.chunks) w.Put(c.chunk.block).Put(c.chunk.index).Put(c.rkey);
}
void EncodeBody(WireWriter& w, const Unregister& m) { PutChunks(w, m.chunks); }
void EncodeBody(WireWriter& w, const Compress& m) {
  w.Put(m.checkpoint).Put(static_cast<uint32_t>(m.ranges.size()));
  for (const ZeroRange& r : m.ranges) w.Put(r.block).Put(r.offset).Put(r.length);
}
void EncodeBody(WireWriter& w, const CheckpointBegin& m) {
  w.Put(m.checkpoint)
      .Put((m.full ? kFlagFull : uint32_t{0}) | (m.sync_round ? kFlagSyncRound : uint32_t{0}));
}
void EncodeBody(WireWriter& w, const DirtySet& m) {
  w.Put(m.checkpoint).Put(m.block).Put(m.first_word).Put(static_cast<uint32_t>(m.words.size()));
  w.PutBytes(std::as_bytes(std::span(m.words)));
}
void EncodeBody(WireWriter& w, const CheckpointEnd& m) {
  w.Put(m.checkpoint).Put(m.dirty_set_messages).Put(m.dirty_pages);
  w.Put(m.has_hash ? kFlagHash : uint32_t{0}).Put(m.hash);
}
void EncodeBody(WireWriter& w, const CheckpointAck& m) { w.Put(m.checkpoint).Put(m.status); }

MessageType TypeOf(const Message& m) {
  static constexpr MessageType kTypes[] = {
      MessageType::kBlockTableRequest, MessageType::kBlockTableResult,
      MessageType::kRegisterRequest,   MessageType::kRegisterResult,
      MessageType::kUnregister,        MessageType::kCompress,
      MessageType::kCheckpointBegin,   MessageType::kDirtySet,
      MessageType::kCheckpointEnd,     MessageType::kCheckpointAck};
  return kTypes[m.index()];
}

// Reads a u32 count of entries of `entry_bytes` each and rejects counts the remaining bytes
// cannot hold (so a hostile count never drives a huge allocation) or above `max`.
uint32_t GetCount(WireReader& r, size_t entry_bytes, size_t max) {
  const auto count = r.Get<uint32_t>();
  if (count > max || count > r.remaining() / entry_bytes) {
    r.Invalidate(
        fmt::format("count {} exceeds limit {} or the {} bytes left", count, max, r.remaining()));
    return 0;
  }
  return count;
}

bool GetBool(WireReader& r) {
  const auto v = r.Get<uint8_t>();
  if (v > 1) r.Invalidate(fmt::format("boolean field is {}", v));
  return v == 1;
}

std::vector<ChunkRef> GetChunks(WireReader& r) {
  std::vector<ChunkRef> chunks(GetCount(r, kChunkRefBytes, kMaxChunksPerMessage));
  for (ChunkRef& c : chunks) {
    c.block = r.Get<uint32_t>();
    c.index = r.Get<uint32_t>();
  }
  return chunks;
}

Result<Message> DecodeBlockTableRequest(WireReader& r) {
  BlockTableRequest m;
  const auto mode = r.Get<uint8_t>();
  if (mode > 1) r.Invalidate(fmt::format("registration mode {}", mode));
  m.mode = static_cast<RegistrationMode>(mode);
  m.chunk_shift = r.Get<uint8_t>();
  m.verify = GetBool(r);
  if (r.Get<uint8_t>() != 0) r.Invalidate("reserved byte is not zero");
  m.max_pinned_bytes = r.Get<uint64_t>();
  m.blocks.resize(GetCount(r, kBlockDescMinBytes, kMaxBlocks));
  for (BlockDesc& b : m.blocks) {
    b.name = std::string(r.GetString16());
    b.offset = r.Get<uint64_t>();
    b.length = r.Get<uint64_t>();
    b.page_size = r.Get<uint32_t>();
  }
  FTVM_TRY(r.Finish("block table request"));
  if (auto valid = ValidateTable(m.blocks); !valid) {
    return Fail(ErrorCode::kProtocol, "block table request: {}", valid.error().context());
  }
  if (auto geometry = ChunkGeometry::Create(m.chunk_shift, m.blocks); !geometry) {
    return Fail(ErrorCode::kProtocol, "block table request: {}", geometry.error().context());
  }
  return m;
}

Result<Message> DecodeBlockTableResult(WireReader& r) {
  BlockTableResult m;
  m.accepted = GetBool(r);
  m.reason = std::string(r.GetString16());
  m.max_pinned_bytes = r.Get<uint64_t>();
  m.blocks.resize(GetCount(r, kRemoteBlockBytes, kMaxBlocks));
  for (RemoteBlock& b : m.blocks) {
    b.remote_addr = r.Get<uint64_t>();
    b.rkey = r.Get<uint32_t>();
  }
  FTVM_TRY(r.Finish("block table result"));
  return m;
}

Result<Message> DecodeRegisterResult(WireReader& r) {
  RegisterResult m;
  m.ok = GetBool(r);
  m.reason = std::string(r.GetString16());
  m.chunks.resize(GetCount(r, kRegisteredChunkBytes, kMaxChunksPerMessage));
  for (RegisteredChunk& c : m.chunks) {
    c.chunk.block = r.Get<uint32_t>();
    c.chunk.index = r.Get<uint32_t>();
    c.rkey = r.Get<uint32_t>();
  }
  FTVM_TRY(r.Finish("register result"));
  return m;
}

Result<Message> DecodeCompress(WireReader& r) {
  Compress m;
  m.checkpoint = r.Get<uint64_t>();
  m.ranges.resize(GetCount(r, kZeroRangeBytes, SIZE_MAX));
  for (ZeroRange& z : m.ranges) {
    z.block = r.Get<uint32_t>();
    z.offset = r.Get<uint64_t>();
    z.length = r.Get<uint64_t>();
  }
  FTVM_TRY(r.Finish("compress"));
  return m;
}

Result<Message> DecodeDirtySet(WireReader& r) {
  DirtySet m;
  m.checkpoint = r.Get<uint64_t>();
  m.block = r.Get<uint32_t>();
  m.first_word = r.Get<uint32_t>();
  m.words.resize(GetCount(r, sizeof(uint64_t), SIZE_MAX));
  for (uint64_t& word : m.words) word = r.Get<uint64_t>();
  FTVM_TRY(r.Finish("dirty set"));
  return m;
}

Result<Message> DecodeBody(MessageType type, WireReader& r) {
  switch (type) {
    case MessageType::kBlockTableRequest:
      return DecodeBlockTableRequest(r);
    case MessageType::kBlockTableResult:
      return DecodeBlockTableResult(r);
    case MessageType::kRegisterRequest: {
      RegisterRequest m{GetChunks(r)};
      FTVM_TRY(r.Finish("register request"));
      return m;
    }
    case MessageType::kRegisterResult:
      return DecodeRegisterResult(r);
    case MessageType::kUnregister: {
      Unregister m{GetChunks(r)};
      FTVM_TRY(r.Finish("unregister"));
      return m;
    }
    case MessageType::kCompress:
      return DecodeCompress(r);
    case MessageType::kCheckpointBegin: {
      CheckpointBegin m{r.Get<uint64_t>(), false, false};
      const auto flags = r.Get<uint32_t>();
      if ((flags & ~(kFlagFull | kFlagSyncRound)) != 0) {
        r.Invalidate(fmt::format("unknown flags {:#x}", flags));
      } else if (flags == (kFlagFull | kFlagSyncRound)) {
        r.Invalidate("a sync round cannot be a full checkpoint");
      }
      m.full = (flags & kFlagFull) != 0;
      m.sync_round = (flags & kFlagSyncRound) != 0;
      FTVM_TRY(r.Finish("checkpoint begin"));
      return m;
    }
    case MessageType::kDirtySet:
      return DecodeDirtySet(r);
    case MessageType::kCheckpointEnd: {
      CheckpointEnd m;
      m.checkpoint = r.Get<uint64_t>();
      m.dirty_set_messages = r.Get<uint32_t>();
      m.dirty_pages = r.Get<uint64_t>();
      const auto flags = r.Get<uint32_t>();
      if ((flags & ~kFlagHash) != 0) r.Invalidate(fmt::format("unknown flags {:#x}", flags));
      m.has_hash = (flags & kFlagHash) != 0;
      m.hash = r.Get<uint64_t>();
      FTVM_TRY(r.Finish("checkpoint end"));
      return m;
    }
    case MessageType::kCheckpointAck: {
      CheckpointAck m{r.Get<uint64_t>(), AckStatus::kCommitted};
      const auto status = r.Get<uint8_t>();
      if (status > 2) r.Invalidate(fmt::format("ack status {}", status));
      m.status = static_cast<AckStatus>(status);
      FTVM_TRY(r.Finish("checkpoint ack"));
      return m;
    }
  }
  return Fail(ErrorCode::kProtocol, "unknown ram message type {:#06x}",
              static_cast<uint16_t>(type));
}

}  // namespace

std::string_view MessageName(const Message& message) {
  static constexpr std::string_view kNames[] = {
      "BlockTableRequest", "BlockTableResult", "RegisterRequest", "RegisterResult",
      "Unregister",        "Compress",         "CheckpointBegin", "DirtySet",
      "CheckpointEnd",     "CheckpointAck"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[message.index()];
}

bool IsRamMessage(std::span<const std::byte> message) {
  auto header = rdma::PeekHeader(message);
  return header && (header->type & 0xff00) == rdma::kMessageRangeRam;
}

void Encode(const Message& message, std::vector<std::byte>* out) {
  WireWriter w = rdma::BeginMessage(out, static_cast<uint16_t>(TypeOf(message)), kWireVersion);
  std::visit([&w](const auto& m) { EncodeBody(w, m); }, message);
}

Result<Message> Decode(std::span<const std::byte> message) {
  FTVM_ASSIGN_OR_RETURN(const rdma::MessageHeader header, rdma::PeekHeader(message));
  if ((header.type & 0xff00) != rdma::kMessageRangeRam) {
    return Fail(ErrorCode::kProtocol, "message type {:#06x} is not a ram message", header.type);
  }
  if (header.version != kWireVersion) {
    return Fail(ErrorCode::kProtocol, "ram message {:#06x}: unsupported version {}", header.type,
                header.version);
  }
  WireReader r(rdma::Payload(message));
  return DecodeBody(static_cast<MessageType>(header.type), r);
}

Result<void> CheckChunk(const ChunkGeometry& geometry, ChunkRef chunk) {
  if (!geometry.Valid(chunk)) {
    return Fail(ErrorCode::kProtocol, "chunk {}/{} does not exist", chunk.block, chunk.index);
  }
  return {};
}

Result<void> CheckZeroRange(std::span<const BlockDesc> table, const ZeroRange& range) {
  if (range.block >= table.size()) {
    return Fail(ErrorCode::kProtocol, "zero range in block {} of {}", range.block, table.size());
  }
  const BlockDesc& b = table[range.block];
  if (range.length == 0 || range.offset % b.page_size != 0 || range.length % b.page_size != 0 ||
      range.offset > b.length || range.length > b.length - range.offset) {
    return Fail(ErrorCode::kProtocol, "zero range {}+{} outside block {} ({} bytes, page {})",
                range.offset, range.length, b.name, b.length, b.page_size);
  }
  return {};
}

Result<void> CheckDirtySet(std::span<const BlockDesc> table, const DirtySet& set) {
  if (set.block >= table.size()) {
    return Fail(ErrorCode::kProtocol, "dirty set for block {} of {}", set.block, table.size());
  }
  const uint64_t pages = table[set.block].page_count();
  const size_t words = BitmapWords(pages);
  if (set.words.empty() || set.first_word > words || set.words.size() > words - set.first_word) {
    return Fail(ErrorCode::kProtocol, "dirty set words {}+{} outside block {} ({} words)",
                set.first_word, set.words.size(), table[set.block].name, words);
  }
  if (set.first_word + set.words.size() == words && (set.words.back() & ~TailMask(pages)) != 0) {
    return Fail(ErrorCode::kProtocol, "dirty set of block {} marks pages beyond its end",
                table[set.block].name);
  }
  return {};
}

}  // namespace ftvm::ram
