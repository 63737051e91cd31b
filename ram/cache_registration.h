// The secondary's side of registration: which parts of the RAM cache the primary may write.
//
// Pin-all: every cache block is registered once at setup; the keys travel in BlockTableResult.
// On-demand: chunks are registered when a RegisterRequest names them and deregistered when an
// Unregister does. This side keeps its own count of pinned bytes and enforces the budget agreed
// at setup: a primary that asks for more is a protocol error (it keeps the same count).
//
// Ownership: holds the channel and cache by pointer (both must outlive it; the owner declares
// them first) and deregisters every region on destruction. Not thread-safe.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "ram/chunk.h"
#include "ram/ram_cache.h"
#include "ram/wire.h"
#include "rdma/channel.h"

namespace ftvm::ram {

class CacheRegistration {
 public:
  CacheRegistration() = default;
  CacheRegistration(rdma::Channel* channel, RamCache* cache, ChunkGeometry geometry,
                    uint64_t max_pinned_bytes);
  CacheRegistration(CacheRegistration&&) noexcept = default;
  CacheRegistration& operator=(CacheRegistration&&) noexcept = default;

  // Pin-all: registers every cache block (remote write) and returns their addresses and keys.
  Result<std::vector<RemoteBlock>> PinAll();
  // The cache addresses alone (on-demand mode: no keys yet).
  std::vector<RemoteBlock> Addresses() const;

  // Registers a chunk (already-registered chunks keep their key) and returns its rkey.
  // kProtocol if the chunk does not exist or the budget would be exceeded; kSys/... if the
  // provider fails.
  Result<uint32_t> RegisterChunk(ChunkRef chunk);
  // kProtocol if the chunk does not exist or is not registered.
  Result<void> UnregisterChunk(ChunkRef chunk);

  const ChunkGeometry& geometry() const { return geometry_; }
  uint64_t pinned_bytes() const { return pinned_bytes_; }
  uint64_t peak_pinned_bytes() const { return peak_pinned_bytes_; }
  uint64_t registrations() const { return registrations_; }
  uint64_t unregistrations() const { return unregistrations_; }

 private:
  void AddPinned(uint64_t bytes);

  rdma::Channel* channel_ = nullptr;
  RamCache* cache_ = nullptr;
  ChunkGeometry geometry_;
  uint64_t max_pinned_bytes_ = 0;                            // 0: unlimited
  std::vector<rdma::ScopedRegion> blocks_;                   // pin-all
  std::unordered_map<uint32_t, rdma::ScopedRegion> chunks_;  // on-demand, by global id
  uint64_t pinned_bytes_ = 0;
  uint64_t peak_pinned_bytes_ = 0;
  uint64_t registrations_ = 0;
  uint64_t unregistrations_ = 0;
};

}  // namespace ftvm::ram
