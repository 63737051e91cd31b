#include "ram/cache_registration.h"

#include <algorithm>

namespace ftvm::ram {

namespace {
constexpr uint32_t kCacheAccess = rdma::kAccessLocalWrite | rdma::kAccessRemoteWrite;
}  // namespace

CacheRegistration::CacheRegistration(rdma::Channel* channel, RamCache* cache,
                                     ChunkGeometry geometry, uint64_t max_pinned_bytes)
    : channel_(channel),
      cache_(cache),
      geometry_(std::move(geometry)),
      max_pinned_bytes_(max_pinned_bytes) {}

void CacheRegistration::AddPinned(uint64_t bytes) {
  pinned_bytes_ += bytes;
  peak_pinned_bytes_ = std::max(peak_pinned_bytes_, pinned_bytes_);
  ++registrations_;
}

Result<std::vector<RemoteBlock>> CacheRegistration::PinAll() {
  std::vector<RemoteBlock> out;
  for (uint32_t b = 0; b < cache_->block_count(); ++b) {
    FTVM_ASSIGN_OR_RETURN(rdma::MemoryRegion region,
                          channel_->RegisterMemory(cache_->block(b), kCacheAccess));
    out.push_back(RemoteBlock{region.remote_addr(), region.rkey});
    blocks_.emplace_back(channel_, region);
    AddPinned(region.length);
  }
  return out;
}

std::vector<RemoteBlock> CacheRegistration::Addresses() const {
  std::vector<RemoteBlock> out;
  for (uint32_t b = 0; b < cache_->block_count(); ++b) {
    out.push_back(RemoteBlock{reinterpret_cast<uint64_t>(cache_->block(b).data()), 0});
  }
  return out;
}

Result<uint32_t> CacheRegistration::RegisterChunk(ChunkRef chunk) {
  FTVM_TRY(CheckChunk(geometry_, chunk));
  const uint32_t id = geometry_.GlobalId(chunk);
  if (auto it = chunks_.find(id); it != chunks_.end()) return it->second->rkey;
  const uint64_t length = geometry_.ChunkLength(chunk);
  if (max_pinned_bytes_ != 0 && pinned_bytes_ + length > max_pinned_bytes_) {
    return Fail(ErrorCode::kProtocol,
                "register chunk {}/{}: {} pinned + {} exceeds the agreed budget of {}", chunk.block,
                chunk.index, pinned_bytes_, length, max_pinned_bytes_);
  }
  std::span<std::byte> memory =
      cache_->block(chunk.block).subspan(geometry_.ChunkOffset(chunk), length);
  FTVM_ASSIGN_OR_RETURN(rdma::MemoryRegion region, channel_->RegisterMemory(memory, kCacheAccess));
  chunks_.emplace(id, rdma::ScopedRegion(channel_, region));
  AddPinned(length);
  return region.rkey;
}

Result<void> CacheRegistration::UnregisterChunk(ChunkRef chunk) {
  FTVM_TRY(CheckChunk(geometry_, chunk));
  auto it = chunks_.find(geometry_.GlobalId(chunk));
  if (it == chunks_.end()) {
    return Fail(ErrorCode::kProtocol, "unregister chunk {}/{}: not registered", chunk.block,
                chunk.index);
  }
  pinned_bytes_ -= it->second->length;
  chunks_.erase(it);  // deregisters: later writes to the old key fail at the primary
  ++unregistrations_;
  return {};
}

}  // namespace ftvm::ram
