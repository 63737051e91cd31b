// RamSender: the primary's side of RAM replication over a Channel shared with colo/.
//
// Lifecycle (all calls from the one thread that drives the channel):
//   Start()           sends the block table, waits for the secondary's answer (pin-all: keys).
//   SendSyncRound()   optional, before the first checkpoint: the initial sync while the guest
//                     runs (live-migration rounds). Pages land in the secondary's cache only.
//                     Start dirty logging before round 1; round 1 should carry every page.
//   SendCheckpoint()  per checkpoint, with the guest's dirty bitmaps: waits for the previous
//                     checkpoint's ack, then Begin, dirty set, writes/compress, flush, End.
//   WaitForAck()      optional: waits for the secondary's Commit()/Discard() of the last one.
// The first checkpoint, and every one until a full checkpoint has been committed, is full: the
// secondary's commit copies every page. Its data is every page, unless sync rounds already
// covered every page: then only the pages dirtied since (the `dirty` argument) travel. Pages of a
// checkpoint the secondary discarded are carried into the next checkpoint, so the cache always
// converges to the primary's memory.
//
// Polling: while it works the sender polls the channel itself; completions and messages that
// are not ram/'s are handed to options.on_foreign (or queued for TakeForeign()), never dropped.
// When colo/'s own loop receives a ram/ message (IsRamMessage), it must pass it to
// HandleMessage() (e.g. the CheckpointAck that arrives after colo's own reply).
//
// Errors: any failure (channel error, protocol error, timeout) leaves the sender broken(): every
// later call fails with that error. Recovery is a new channel and a new RamSender, which starts
// with a full checkpoint. Ownership: borrows the channel (must outlive the sender) and the
// blocks' memory (must stay mapped). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "ram/chunk.h"
#include "ram/dirty_writer.h"
#include "ram/ram_block.h"
#include "ram/registration.h"
#include "ram/stats.h"
#include "ram/wire.h"
#include "ram/write_queue.h"
#include "rdma/channel.h"

namespace ftvm::ram {

struct SenderOptions {
  RegistrationMode mode = RegistrationMode::kPinAll;
  uint32_t chunk_shift = kDefaultChunkShift;  // chunk = 2^shift bytes (1 MiB)
  uint64_t max_pinned_bytes = 0;        // on-demand budget (0: unlimited); the smaller side wins
  uint64_t max_write_bytes = 0;         // 0: one chunk; else a power of two in [page, chunk]
  bool verify = false;                  // XXH3 of the dirty pages compared before commit
  bool detect_zero = true;              // all-zero pages travel as compress entries
  uint32_t max_writes_in_flight = 512;  // capped below the channel's send queue depth
  uint32_t signal_interval = 32;        // one signaled write per this many
  uint32_t register_batch = 64;         // chunks per RegisterRequest
  std::chrono::milliseconds reply_timeout{10000};  // longest wait for one reply / completion
  ForeignHandler on_foreign;  // null: foreign completions queue up for TakeForeign()
};

struct RoundSummary {
  uint64_t id = 0;
  uint64_t dirty_pages = 0;
  uint64_t pages_written = 0;
  uint64_t zero_pages = 0;
  uint64_t ns = 0;
};

struct CheckpointSummary {
  uint64_t id = 0;
  bool full = false;
  uint64_t dirty_pages = 0;
  uint64_t pages_written = 0;
  uint64_t zero_pages = 0;
  uint64_t writes = 0;
  uint64_t ns = 0;  // Begin to last write completion
};

class RamSender : private Pump {
 public:
  static Result<std::unique_ptr<RamSender>> Start(rdma::Channel* channel,
                                                  std::vector<RamBlock> blocks,
                                                  SenderOptions options);
  ~RamSender() override;
  RamSender(const RamSender&) = delete;
  RamSender& operator=(const RamSender&) = delete;

  // Replicates checkpoint `id` (strictly greater than the last). dirty[b] is block b's dirty
  // bitmap (BitmapWords(page_count) words or more); the guest must not run meanwhile.
  // Returns once every write completed and End was sent; the secondary may then commit.
  Result<CheckpointSummary> SendCheckpoint(uint64_t id, std::span<const DirtyBitmap> dirty);

  // One round of the initial sync (see above): `id` shares the checkpoint id space (strictly
  // increasing). kInvalidArgument once a checkpoint was sent. The guest may run meanwhile;
  // pages it writes during the round must show up in a later round's or checkpoint's bitmap.
  Result<RoundSummary> SendSyncRound(uint64_t id, std::span<const DirtyBitmap> dirty);

  // Waits until the last checkpoint sent was acknowledged and returns how it ended.
  // kInvalidArgument if nothing was sent yet.
  Result<AckStatus> WaitForAck(Nanos timeout);
  bool ack_pending() const { return awaiting_ack_.has_value(); }

  // A ram/ message received by colo/'s poll loop.
  Result<void> HandleMessage(std::span<const std::byte> message);
  // A completion of a ram/ work request (IsRamWorkRequest) that colo/'s poll loop received.
  Result<void> HandleCompletion(const rdma::Completion& completion);

  // Foreign completions queued since the last call (only without options.on_foreign).
  std::vector<rdma::Completion> TakeForeign();

  const RamStats& stats() const;
  const std::optional<Error>& broken() const { return broken_; }
  const std::vector<RamBlock>& blocks() const { return blocks_; }
  const ChunkGeometry& geometry() const { return geometry_; }
  uint64_t max_pinned_bytes() const { return agreed_budget_; }

 private:
  RamSender(rdma::Channel* channel, std::vector<RamBlock> blocks, SenderOptions options,
            ChunkGeometry geometry);
  Result<void> Handshake();
  WriterConfig WriterSettings() const;
  Result<CheckpointSummary> Transfer(uint64_t id, std::span<const DirtyBitmap> dirty);
  void BuildEffective(std::span<const DirtyBitmap> dirty, bool full);
  Result<void> CheckBitmaps(std::span<const DirtyBitmap> dirty) const;
  uint64_t HashAllPages() const;
  Result<uint32_t> SendDirtySets(uint64_t id);
  Result<void> SendMessage(const Message& message);
  Result<size_t> PumpOnce(Nanos timeout) override;
  Result<void> Dispatch();
  Result<void> OnAck(const CheckpointAck& ack);
  Result<void> Usable() const;
  // Records the first error: from then on the sender is broken.
  template <class T>
  Result<T> Check(Result<T> result) {
    if (!result && !broken_) broken_ = result.error();
    return result;
  }

  rdma::Channel* channel_;
  std::vector<RamBlock> blocks_;
  SenderOptions options_;
  ChunkGeometry geometry_;
  WriteQueue queue_;
  std::optional<Registration> registration_;
  std::optional<DirtyWriter> writer_;
  std::optional<BlockTableResult> table_result_;
  uint64_t agreed_budget_ = 0;
  std::vector<std::vector<uint64_t>> effective_;  // this checkpoint's pages
  std::vector<std::vector<uint64_t>> carry_;      // pages not yet known to be committed
  bool synced_ = false;                           // a full checkpoint was committed
  std::vector<std::vector<uint64_t>> covered_;    // pages the sync rounds sent
  bool covered_all_ = false;                      // ... which is every page
  uint64_t last_id_ = 0;
  std::optional<uint64_t> awaiting_ack_;
  bool awaiting_full_ = false;
  std::optional<AckStatus> last_ack_;
  std::deque<rdma::Completion> foreign_;
  std::vector<std::byte> encoded_;
  mutable RamStats stats_;
  std::optional<Error> broken_;
};

}  // namespace ftvm::ram
