// RamReceiver: the secondary's side of RAM replication. colo/ owns the event loop: it polls the
// shared channel and hands every ram/ message (IsRamMessage) to HandleMessage(), which replies
// through the channel when the protocol asks for it.
//
// States:
//   kAwaitingSetup  until the primary's block table arrives and matches ours
//   kIdle           between checkpoints (registration requests are served in any live state)
//   kReceiving      between the primary's CheckpointBegin and CheckpointEnd
//   kComplete       everything of the checkpoint arrived (CheckpointReceived()): colo/ may
//                   Commit(local_dirty) once device state arrived too, or Discard()
//   kDiscarding     Discard() was called mid-checkpoint: the rest of it is dropped on arrival
//   kFailed         a protocol or local error: nothing more is accepted or applied
// Guest memory changes only inside Commit(), and only the pages of the checkpoint's dirty set
// plus the caller's local dirty pages. A checkpoint that did not arrive completely, failed its
// hash, or was discarded is never applied: guest memory stays at the previous commit.
//
// Errors: a malformed or out-of-place message is a kProtocol error that also closes the channel
// (the peer cannot be trusted any more); the receiver is kFailed from then on. Ownership:
// borrows the channel (must outlive it) and the guest blocks' memory; owns the RAM cache and
// its registrations. Not thread-safe: call everything from colo/'s loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "ram/cache_registration.h"
#include "ram/ram_block.h"
#include "ram/ram_cache.h"
#include "ram/stats.h"
#include "ram/wire.h"
#include "rdma/channel.h"

namespace ftvm::ram {

enum class ReceiverState : uint8_t {
  kAwaitingSetup,
  kIdle,
  kReceiving,
  kComplete,
  kDiscarding,
  kFailed
};
std::string_view ReceiverStateName(ReceiverState state);

struct ReceiverOptions {
  uint64_t max_pinned_bytes = 0;  // the most this side pins (0: whatever the primary asks)
};

struct CommitSummary {
  uint64_t id = 0;
  uint64_t pages = 0;  // copied cache -> guest (checkpoint dirty set | local dirty)
  uint64_t bytes = 0;
  uint64_t runs = 0;
  uint64_t ns = 0;
};

class RamReceiver {
 public:
  // Allocates the RAM cache (one block per guest block). kInvalidArgument for a bad table.
  static Result<std::unique_ptr<RamReceiver>> Create(rdma::Channel* channel,
                                                     std::vector<RamBlock> guest,
                                                     ReceiverOptions options = {});
  RamReceiver(const RamReceiver&) = delete;
  RamReceiver& operator=(const RamReceiver&) = delete;

  // One message of type 0x01xx. kInvalidArgument (state unchanged) if it is not a ram message.
  Result<void> HandleMessage(std::span<const std::byte> message);
  // A completion of the receiver's own replies (IsRamWorkRequest(wr_id)); fails on an error.
  Result<void> HandleCompletion(const rdma::Completion& completion);

  ReceiverState state() const { return state_; }
  bool ready() const { return state_ != ReceiverState::kAwaitingSetup && !failed(); }
  bool failed() const { return state_ == ReceiverState::kFailed; }
  const std::optional<Error>& error() const { return error_; }
  // The checkpoint being received / complete / discarded (0 before the first).
  uint64_t checkpoint_id() const { return checkpoint_; }
  bool CheckpointReceived() const { return state_ == ReceiverState::kComplete; }
  uint64_t last_committed() const { return last_committed_; }

  // Applies the complete checkpoint: verifies its hash (verify mode), then copies the pages of
  // its dirty set and of local_dirty (the secondary guest's own dirty bitmaps since the last
  // commit, one per block, or empty) from the cache into guest memory; acks the primary.
  // kInvalidArgument if no checkpoint is complete; kCorrupt on a hash mismatch (nothing copied).
  Result<CommitSummary> Commit(std::span<const DirtyBitmap> local_dirty);
  // Drops the checkpoint in progress or complete (guest memory untouched) and tells the primary,
  // which sends those pages again with the next checkpoint. Always safe to call.
  void Discard();

  const RamStats& stats() const;
  // The primary's registration mode, from its block table (pin-all until one arrived).
  RegistrationMode mode() const { return mode_; }
  const RamCache& cache() const { return cache_; }

 private:
  RamReceiver(rdma::Channel* channel, RamCache cache, ReceiverOptions options);
  Result<void> Dispatch(Message& message);
  Result<void> OnBlockTable(const BlockTableRequest& request);
  Result<void> OnRegister(const RegisterRequest& request);
  Result<void> OnUnregister(const Unregister& request);
  Result<void> OnBegin(const CheckpointBegin& begin);
  Result<void> OnDirtySet(const DirtySet& set);
  Result<void> OnCompress(const Compress& compress);
  Result<void> OnEnd(const CheckpointEnd& end);
  Result<void> EndSyncRound(const CheckpointEnd& end);
  Result<void> ExpectCheckpoint(uint64_t id, const char* what) const;
  Result<void> Reply(const Message& message);
  void SendAck(AckStatus status);
  void MarkFailed(Error error);

  rdma::Channel* channel_;
  ReceiverOptions options_;
  RamCache cache_;  // declared before registration_: regions die first
  CacheRegistration registration_;
  std::vector<BlockDesc> table_;
  RegistrationMode mode_ = RegistrationMode::kPinAll;
  bool verify_ = false;
  ReceiverState state_ = ReceiverState::kAwaitingSetup;
  std::optional<Error> error_;
  uint64_t checkpoint_ = 0;
  uint64_t last_committed_ = 0;
  bool full_ = false;
  bool sync_round_ = false;
  std::vector<std::vector<uint64_t>> covered_;  // pages the sync rounds brought, per block
  bool primed_ = false;  // a full checkpoint was committed: the cache mirrors the primary
  std::vector<std::vector<uint64_t>> dirty_;  // the checkpoint's dirty set, per block
  uint32_t dirty_sets_ = 0;
  std::optional<uint64_t> hash_;
  uint64_t send_seq_ = 0;
  std::vector<std::byte> encoded_;
  mutable RamStats stats_;
};

}  // namespace ftvm::ram
