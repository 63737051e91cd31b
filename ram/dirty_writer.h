// The primary's data path for one checkpoint: dirty bitmaps -> merged runs -> RDMA WRITEs into
// the secondary's RAM cache, or compress entries for all-zero pages.
//
// For each block, contiguous dirty pages merge into one run (split at chunk boundaries or at
// max_write_bytes); each run is hashed (verify mode), cut into all-zero and data segments, and:
//   zero  -> appended to a Compress message (adjacent ranges merged; sent when full),
//   data  -> posted as a WRITE if its chunk's keys are known (pin-all: always), otherwise parked
//            until the chunk's RegisterResult arrives. Chunk registrations are requested in
//            batches that travel while the writes for already-registered chunks proceed, and
//            the budget's unregister queue frees idle chunks first.
// Write() returns once every write is posted and every message sent; the caller drains the
// WriteQueue before announcing the end of the checkpoint.
//
// Ownership: borrows everything (the RamSender owns it all). Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "ram/dirty_bitmap.h"
#include "ram/ram_block.h"
#include "ram/registration.h"
#include "ram/stats.h"
#include "ram/verify.h"
#include "ram/wire.h"
#include "ram/write_queue.h"

namespace ftvm::ram {

// Lets the writer wait for replies: polls the channel once (up to `timeout`) and dispatches what
// arrived (RegisterResults come back through DirtyWriter::OnRegisterResult). Returns how many
// completions were handled.
class Pump {
 public:
  virtual ~Pump() = default;
  virtual Result<size_t> PumpOnce(Nanos timeout) = 0;
};

struct WriterConfig {
  bool detect_zero = true;
  uint64_t split_bytes = 0;  // max bytes per write: a power of two <= the chunk size
  size_t max_chunks_per_message = 0;
  size_t max_ranges_per_message = 0;
  size_t register_batch = 64;  // chunks per RegisterRequest (when not flushed earlier)
  Nanos timeout{0};            // longest wait for any single reply or completion
};

class DirtyWriter {
 public:
  DirtyWriter(std::span<const RamBlock> blocks, Registration* registration, WriteQueue* queue,
              Pump* pump, WriterConfig config, RamStats* stats);

  // Emits checkpoint `checkpoint`: every page set in bitmaps[b] of block b (each holding
  // BitmapWords(page_count) words). Hashes the pages in order into `hasher` when not null.
  Result<void> Write(uint64_t checkpoint, std::span<const std::vector<uint64_t>> bitmaps,
                     PageHasher* hasher);

  // Applies a RegisterResult and posts the writes that waited for those chunks.
  Result<void> OnRegisterResult(const RegisterResult& result);

  size_t pending_chunks() const { return pending_.size(); }

 private:
  struct Pending {
    uint32_t block;
    uint64_t offset;
    uint64_t length;
  };
  Result<void> EmitRun(uint32_t block, PageRun run, PageHasher* hasher);
  Result<void> EmitData(uint32_t block, uint64_t offset, uint64_t length);
  Result<void> PostWrite(uint32_t block, uint32_t chunk_id, uint64_t offset, uint64_t length);
  Result<void> RequestChunk(uint32_t chunk_id);
  Result<void> AddZero(uint32_t block, uint64_t offset, uint64_t length);
  Result<void> FlushCompress();
  Result<void> FlushRegistration();
  Result<void> WaitForProgress(const char* what);
  Result<void> WaitForPending();
  Result<void> SendMessage(const Message& message);

  std::span<const RamBlock> blocks_;
  Registration* registration_;
  WriteQueue* queue_;
  Pump* pump_;
  WriterConfig config_;
  RamStats* stats_;
  uint64_t checkpoint_ = 0;
  Compress compress_;
  uint64_t compress_bytes_ = 0;  // bytes the pending Compress message covers
  std::unordered_map<uint32_t, std::vector<Pending>> pending_;  // by chunk id
  std::vector<uint32_t> ready_;
  std::vector<std::byte> encoded_;
  uint64_t runs_since_pump_ = 0;
  uint32_t requests_in_flight_ = 0;  // RegisterRequests without a result yet
};

}  // namespace ftvm::ram
