// The primary's side of registration: local keys for its guest memory, the remote-key cache for
// the secondary's RAM cache, the pinned-memory budget and its unregister queue.
//
// Pin-all: every block is registered locally at Create(); remote keys arrive with the block
// table. On-demand: a chunk moves kUnregistered -> kRequested (registered locally, batched into
// the next RegisterRequest) -> kRegistered (its rkey arrived in a RegisterResult; cached until
// the chunk is unregistered). With a budget (max_pinned_bytes), MakeRoom() unregisters the least
// recently used chunks first, never one whose last write has not completed (the caller says
// which sequence numbers have completed); their Unregister message is queued ahead of the next
// RegisterRequest so the secondary frees before it pins.
//
// Ownership: holds the channel by pointer (it must outlive this object) and deregisters every
// local region on destruction; the blocks' memory must outlive it too. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "ram/chunk.h"
#include "ram/ram_block.h"
#include "ram/unregister_queue.h"
#include "ram/wire.h"
#include "rdma/channel.h"

namespace ftvm::ram {

enum class ChunkState : uint8_t { kUnregistered, kRequested, kRegistered };

struct WriteKeys {
  uint32_t lkey = 0;
  uint32_t rkey = 0;
};

class Registration {
 public:
  // Validates the budget (0 = unlimited; otherwise at least one chunk; pin-all needs room for
  // every block) and, in pin-all mode, registers every block locally.
  static Result<Registration> Create(rdma::Channel* channel, std::span<const RamBlock> blocks,
                                     ChunkGeometry geometry, RegistrationMode mode,
                                     uint64_t max_pinned_bytes);
  Registration(Registration&&) noexcept = default;
  Registration& operator=(Registration&&) noexcept = default;

  RegistrationMode mode() const { return mode_; }
  const ChunkGeometry& geometry() const { return geometry_; }

  // From the secondary's BlockTableResult: its cache addresses (and keys, in pin-all mode).
  // kProtocol if the result does not fit the table.
  Result<void> SetRemote(std::span<const RemoteBlock> remote);
  uint64_t remote_addr(uint32_t block) const { return remote_[block].remote_addr; }

  ChunkState state(uint32_t chunk_id) const;
  // Keys for a write into the chunk; the chunk must be registered (always true in pin-all).
  WriteKeys Keys(uint32_t chunk_id) const;
  // Records a write posted with sequence number `seq` into the chunk (LRU use, busy until done).
  void NoteWrite(uint32_t chunk_id, uint64_t seq);

  // On-demand: unregisters idle LRU chunks until `chunk_id` fits in the budget. Returns false
  // if every registered chunk is busy (writes with seq > completed_seq): make progress, retry.
  Result<bool> MakeRoom(uint32_t chunk_id, uint64_t completed_seq);
  // On-demand: registers the chunk locally and queues it for the next RegisterRequest.
  Result<void> Request(uint32_t chunk_id);
  // Up to `max` queued Unregister entries (send them first), then up to `max` queued
  // RegisterRequest entries; nullopt when none are queued.
  std::optional<Unregister> TakeUnregisters(size_t max);
  std::optional<RegisterRequest> TakeRequests(size_t max);
  size_t queued_unregisters() const { return queued_unregisters_.size(); }
  size_t queued_requests() const { return queued_requests_.size(); }
  uint64_t requested_chunks() const { return requested_; }
  // Applies a RegisterResult: every chunk must be kRequested (kProtocol otherwise). Appends the
  // ids that became kRegistered to `ready`.
  Result<void> OnResult(const RegisterResult& result, std::vector<uint32_t>* ready);

  uint64_t pinned_bytes() const { return pinned_bytes_; }
  uint64_t peak_pinned_bytes() const { return peak_pinned_bytes_; }
  uint64_t registrations() const { return registrations_; }
  uint64_t unregistrations() const { return unregistrations_; }

 private:
  struct Chunk {
    rdma::ScopedRegion local;  // deregisters itself
    uint32_t rkey = 0;
    ChunkState state = ChunkState::kUnregistered;
    uint64_t last_seq = 0;
  };
  Registration(rdma::Channel* channel, std::span<const RamBlock> blocks, ChunkGeometry geometry,
               RegistrationMode mode, uint64_t max_pinned_bytes);
  Result<void> PinAllBlocks();
  void Evict(uint32_t chunk_id);
  void AddPinned(uint64_t bytes);

  rdma::Channel* channel_ = nullptr;
  std::vector<RamBlock> blocks_;
  ChunkGeometry geometry_;
  RegistrationMode mode_ = RegistrationMode::kPinAll;
  uint64_t max_pinned_bytes_ = 0;
  std::vector<rdma::ScopedRegion> block_regions_;  // pin-all (local)
  std::vector<RemoteBlock> remote_;
  std::vector<Chunk> chunks_;  // on-demand, by global id
  UnregisterQueue lru_{0};
  std::vector<ChunkRef> queued_requests_;
  std::vector<ChunkRef> queued_unregisters_;
  uint64_t requested_ = 0;
  uint64_t pinned_bytes_ = 0;
  uint64_t peak_pinned_bytes_ = 0;
  uint64_t registrations_ = 0;
  uint64_t unregistrations_ = 0;
};

}  // namespace ftvm::ram
