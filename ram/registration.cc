#include "ram/registration.h"

#include <algorithm>

#include "base/check.h"
#include "ram/trace_events.h"

namespace ftvm::ram {

namespace {
// Source memory of writes: local access only (verbs needs no flag to read a source buffer; the
// tcp provider checks the lkey).
constexpr uint32_t kSourceAccess = rdma::kAccessLocalWrite;
}  // namespace

Registration::Registration(rdma::Channel* channel, std::span<const RamBlock> blocks,
                           ChunkGeometry geometry, RegistrationMode mode, uint64_t max_pinned_bytes)
    : channel_(channel),
      blocks_(blocks.begin(), blocks.end()),
      geometry_(std::move(geometry)),
      mode_(mode),
      max_pinned_bytes_(max_pinned_bytes) {}

Result<Registration> Registration::Create(rdma::Channel* channel, std::span<const RamBlock> blocks,
                                          ChunkGeometry geometry, RegistrationMode mode,
                                          uint64_t max_pinned_bytes) {
  uint64_t total = 0;
  for (const RamBlock& b : blocks) total += b.length();
  if (max_pinned_bytes != 0 && max_pinned_bytes < geometry.chunk_bytes()) {
    return Fail(ErrorCode::kInvalidArgument, "pinned budget {} is smaller than one chunk ({})",
                max_pinned_bytes, geometry.chunk_bytes());
  }
  if (mode == RegistrationMode::kPinAll && max_pinned_bytes != 0 && max_pinned_bytes < total) {
    return Fail(ErrorCode::kInvalidArgument,
                "pin-all needs {} pinned bytes but the budget is {}; use on-demand", total,
                max_pinned_bytes);
  }
  Registration r(channel, blocks, std::move(geometry), mode, max_pinned_bytes);
  if (mode == RegistrationMode::kPinAll) {
    FTVM_TRY(r.PinAllBlocks());
  } else {
    r.chunks_.resize(r.geometry_.total_chunks());
    r.lru_ = UnregisterQueue(r.geometry_.total_chunks());
  }
  return r;
}

Result<void> Registration::PinAllBlocks() {
  for (const RamBlock& block : blocks_) {
    FTVM_ASSIGN_OR_RETURN(rdma::MemoryRegion region,
                          channel_->RegisterMemory(block.host, kSourceAccess));
    block_regions_.emplace_back(channel_, region);
    AddPinned(block.length());
  }
  return {};
}

Result<void> Registration::SetRemote(std::span<const RemoteBlock> remote) {
  if (remote.size() != blocks_.size()) {
    return Fail(ErrorCode::kProtocol, "block table result lists {} blocks, we have {}",
                remote.size(), blocks_.size());
  }
  for (size_t b = 0; b < remote.size(); ++b) {
    const bool has_key = remote[b].rkey != 0 || mode_ == RegistrationMode::kOnDemand;
    if (remote[b].remote_addr == 0 || !has_key) {
      return Fail(ErrorCode::kProtocol, "block table result: block {} has no address or key",
                  blocks_[b].name);
    }
  }
  remote_.assign(remote.begin(), remote.end());
  return {};
}

void Registration::AddPinned(uint64_t bytes) {
  pinned_bytes_ += bytes;
  peak_pinned_bytes_ = std::max(peak_pinned_bytes_, pinned_bytes_);
  ++registrations_;
}

ChunkState Registration::state(uint32_t chunk_id) const {
  return mode_ == RegistrationMode::kPinAll ? ChunkState::kRegistered : chunks_[chunk_id].state;
}

WriteKeys Registration::Keys(uint32_t chunk_id) const {
  if (mode_ == RegistrationMode::kPinAll) {
    const uint32_t block = geometry_.FromGlobal(chunk_id).block;
    return WriteKeys{block_regions_[block]->lkey, remote_[block].rkey};
  }
  const Chunk& c = chunks_[chunk_id];
  FTVM_CHECK(c.state == ChunkState::kRegistered, "keys of unregistered chunk {}", chunk_id);
  return WriteKeys{c.local->lkey, c.rkey};
}

void Registration::NoteWrite(uint32_t chunk_id, uint64_t seq) {
  if (mode_ == RegistrationMode::kPinAll) return;
  chunks_[chunk_id].last_seq = seq;
  lru_.Touch(chunk_id);
}

Result<bool> Registration::MakeRoom(uint32_t chunk_id, uint64_t completed_seq) {
  const uint64_t length = geometry_.ChunkLength(geometry_.FromGlobal(chunk_id));
  while (max_pinned_bytes_ != 0 && pinned_bytes_ + length > max_pinned_bytes_) {
    const auto victim =
        lru_.OldestIdle([&](uint32_t id) { return chunks_[id].last_seq > completed_seq; });
    if (!victim) return false;
    Evict(*victim);
  }
  return true;
}

void Registration::Evict(uint32_t chunk_id) {
  Chunk& c = chunks_[chunk_id];
  const ChunkRef ref = geometry_.FromGlobal(chunk_id);
  lru_.Remove(chunk_id);
  pinned_bytes_ -= c.local->length;
  c.local.Reset();
  c.state = ChunkState::kUnregistered;
  c.rkey = 0;
  queued_unregisters_.push_back(ref);
  ++unregistrations_;
  trace_ram_unregister(ref.block, ref.index, pinned_bytes_);
}

Result<void> Registration::Request(uint32_t chunk_id) {
  Chunk& c = chunks_[chunk_id];
  FTVM_CHECK(c.state == ChunkState::kUnregistered, "request chunk {} twice", chunk_id);
  const ChunkRef ref = geometry_.FromGlobal(chunk_id);
  std::span<std::byte> memory =
      blocks_[ref.block].host.subspan(geometry_.ChunkOffset(ref), geometry_.ChunkLength(ref));
  FTVM_ASSIGN_OR_RETURN(rdma::MemoryRegion region, channel_->RegisterMemory(memory, kSourceAccess));
  c.local = rdma::ScopedRegion(channel_, region);
  c.state = ChunkState::kRequested;
  AddPinned(region.length);
  queued_requests_.push_back(ref);
  ++requested_;
  return {};
}

namespace {
std::optional<std::vector<ChunkRef>> TakeFront(std::vector<ChunkRef>& queue, size_t max) {
  if (queue.empty()) return std::nullopt;
  const size_t n = std::min(max, queue.size());
  std::vector<ChunkRef> out(queue.begin(), queue.begin() + static_cast<ptrdiff_t>(n));
  queue.erase(queue.begin(), queue.begin() + static_cast<ptrdiff_t>(n));
  return out;
}
}  // namespace

std::optional<Unregister> Registration::TakeUnregisters(size_t max) {
  auto chunks = TakeFront(queued_unregisters_, max);
  if (!chunks) return std::nullopt;
  return Unregister{std::move(*chunks)};
}

std::optional<RegisterRequest> Registration::TakeRequests(size_t max) {
  auto chunks = TakeFront(queued_requests_, max);
  if (!chunks) return std::nullopt;
  return RegisterRequest{std::move(*chunks)};
}

Result<void> Registration::OnResult(const RegisterResult& result, std::vector<uint32_t>* ready) {
  if (!result.ok) {
    return Fail(ErrorCode::kResourceExhausted, "secondary could not register chunks: {}",
                result.reason);
  }
  for (const RegisteredChunk& rc : result.chunks) {
    FTVM_TRY(CheckChunk(geometry_, rc.chunk));
    const uint32_t id = geometry_.GlobalId(rc.chunk);
    Chunk& c = chunks_[id];
    if (mode_ != RegistrationMode::kOnDemand || c.state != ChunkState::kRequested) {
      return Fail(ErrorCode::kProtocol, "register result for chunk {}/{} that was not requested",
                  rc.chunk.block, rc.chunk.index);
    }
    c.rkey = rc.rkey;
    c.state = ChunkState::kRegistered;
    lru_.Insert(id);
    --requested_;
    ready->push_back(id);
  }
  return {};
}

}  // namespace ftvm::ram
