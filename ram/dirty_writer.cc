#include "ram/dirty_writer.h"

#include <utility>

#include "base/check.h"
#include "ram/trace_events.h"
#include "ram/zero_chunk.h"

namespace ftvm::ram {

namespace {
// While chunk keys are outstanding, look for RegisterResults every this many runs (a zero-wait
// poll) so parked writes start as soon as their keys arrive.
constexpr uint64_t kRunsPerPump = 32;
// RegisterRequests awaiting their result. Bounds the replies the secondary has to queue (it
// cannot poll: colo/ owns its loop) while still overlapping registration with writes.
constexpr uint32_t kMaxRequestsInFlight = 16;
// A Compress message goes out once it covers this much, so that the secondary zeroes its cache
// while the primary is still scanning rather than all at the end.
constexpr uint64_t kCompressFlushBytes = 32 << 20;
}  // namespace

DirtyWriter::DirtyWriter(std::span<const RamBlock> blocks, Registration* registration,
                         WriteQueue* queue, Pump* pump, WriterConfig config, RamStats* stats)
    : blocks_(blocks),
      registration_(registration),
      queue_(queue),
      pump_(pump),
      config_(config),
      stats_(stats) {}

Result<void> DirtyWriter::Write(uint64_t checkpoint, std::span<const std::vector<uint64_t>> bitmaps,
                                PageHasher* hasher) {
  checkpoint_ = checkpoint;
  compress_ = Compress{checkpoint, {}};
  pending_.clear();
  Result<void> status;
  for (uint32_t b = 0; b < blocks_.size() && status; ++b) {
    const uint64_t split_pages = config_.split_bytes / blocks_[b].page_size;
    ForEachDirtyRun(bitmaps[b], blocks_[b].page_count(), split_pages, [&](PageRun run) {
      status = EmitRun(b, run, hasher);
      return status.has_value();
    });
  }
  FTVM_TRY(status);
  FTVM_TRY(FlushCompress());
  FTVM_TRY(WaitForPending());
  return queue_->PostBatch(config_.timeout);
}

Result<void> DirtyWriter::EmitRun(uint32_t block, PageRun run, PageHasher* hasher) {
  const RamBlock& b = blocks_[block];
  const uint64_t offset = run.first_page * b.page_size;
  const std::span<const std::byte> bytes = b.host.subspan(offset, run.page_count * b.page_size);
  if (hasher != nullptr) hasher->Update(bytes);
  if (!pending_.empty() && ++runs_since_pump_ >= kRunsPerPump) {
    runs_since_pump_ = 0;
    FTVM_TRY(pump_->PumpOnce(Nanos(0)));
  }
  if (!config_.detect_zero) return EmitData(block, offset, bytes.size());
  // Queued writes go to the transport before a long zero scan, so that the data moves while
  // we read zeros (with 9 of 10 chunks zero, a full batch would otherwise wait for ~30 % of
  // the scan). A zero first word predicts a zero page.
  if (queue_->unposted() > 0 && IsZero(bytes.first(8)))
    FTVM_TRY(queue_->PostBatch(config_.timeout));
  Result<void> status;
  ForEachZeroSegment(bytes, b.page_size, [&](size_t at, size_t length, bool zero) {
    status = zero ? AddZero(block, offset + at, length) : EmitData(block, offset + at, length);
    if (status && !zero && at + length < bytes.size()) status = queue_->PostBatch(config_.timeout);
    return status.has_value();
  });
  return status;
}

Result<void> DirtyWriter::EmitData(uint32_t block, uint64_t offset, uint64_t length) {
  const ChunkGeometry& g = registration_->geometry();
  const uint32_t chunk_id = g.GlobalId(ChunkRef{block, g.ChunkOf(offset)});
  switch (registration_->state(chunk_id)) {
    case ChunkState::kRegistered:
      return PostWrite(block, chunk_id, offset, length);
    case ChunkState::kUnregistered:
      // Park first: requesting may poll, and the chunk's result may come back at once.
      pending_[chunk_id].push_back(Pending{block, offset, length});
      return RequestChunk(chunk_id);
    case ChunkState::kRequested:
      pending_[chunk_id].push_back(Pending{block, offset, length});
      return {};
  }
  return {};
}

Result<void> DirtyWriter::PostWrite(uint32_t block, uint32_t chunk_id, uint64_t offset,
                                    uint64_t length) {
  const WriteKeys keys = registration_->Keys(chunk_id);
  const RamBlock& b = blocks_[block];
  const WriteSpec spec{b.host.data() + offset, keys.lkey, static_cast<uint32_t>(length),
                       registration_->remote_addr(block) + offset, keys.rkey};
  FTVM_ASSIGN_OR_RETURN(const uint64_t seq, queue_->Write(spec, config_.timeout));
  registration_->NoteWrite(chunk_id, seq);
  trace_ram_write_post(block, offset, length, seq);
  ++stats_->merged_runs;
  stats_->pages_written += length / b.page_size;
  stats_->bytes_written += length;
  return {};
}

Result<void> DirtyWriter::RequestChunk(uint32_t chunk_id) {
  for (;;) {
    FTVM_ASSIGN_OR_RETURN(const bool room,
                          registration_->MakeRoom(chunk_id, queue_->completed_seq()));
    if (room) break;
    // Every pinned chunk has a write in flight or waits for its key: let them finish.
    FTVM_TRY(WaitForProgress("an idle chunk to unregister"));
  }
  FTVM_TRY(registration_->Request(chunk_id));
  if (registration_->queued_requests() >= config_.register_batch) {
    FTVM_TRY(FlushRegistration());
    FTVM_TRY(pump_->PumpOnce(Nanos(0)));
  }
  return {};
}

Result<void> DirtyWriter::OnRegisterResult(const RegisterResult& result) {
  if (requests_in_flight_ == 0) {
    return Fail(ErrorCode::kProtocol, "register result without a request");
  }
  --requests_in_flight_;
  ready_.clear();
  FTVM_TRY(registration_->OnResult(result, &ready_));
  trace_ram_register_result(static_cast<uint32_t>(ready_.size()));
  for (const uint32_t chunk_id : ready_) {
    auto node = pending_.extract(chunk_id);
    if (node.empty()) continue;  // no write parked for it
    for (const Pending& p : node.mapped())
      FTVM_TRY(PostWrite(p.block, chunk_id, p.offset, p.length));
  }
  return {};
}

Result<void> DirtyWriter::AddZero(uint32_t block, uint64_t offset, uint64_t length) {
  trace_ram_zero_range(block, offset, length);
  stats_->zero_pages += length / blocks_[block].page_size;
  if (!compress_.ranges.empty()) {
    ZeroRange& last = compress_.ranges.back();
    if (last.block == block && last.offset + last.length == offset) {
      last.length += length;
      compress_bytes_ += length;
      return compress_bytes_ >= kCompressFlushBytes ? FlushCompress() : Result<void>{};
    }
  }
  if (compress_.ranges.size() >= config_.max_ranges_per_message) FTVM_TRY(FlushCompress());
  compress_.ranges.push_back(ZeroRange{block, offset, length});
  compress_bytes_ += length;
  return compress_bytes_ >= kCompressFlushBytes ? FlushCompress() : Result<void>{};
}

Result<void> DirtyWriter::FlushCompress() {
  if (compress_.ranges.empty()) return {};
  stats_->zero_ranges += compress_.ranges.size();
  ++stats_->compress_messages;
  compress_bytes_ = 0;
  const Message message = std::exchange(compress_, Compress{checkpoint_, {}});
  return SendMessage(message);
}

Result<void> DirtyWriter::FlushRegistration() {
  // Unregisters first: the secondary must free before it pins, or it would see the budget
  // exceeded.
  while (auto unregister = registration_->TakeUnregisters(config_.max_chunks_per_message)) {
    FTVM_TRY(SendMessage(*unregister));
  }
  while (requests_in_flight_ < kMaxRequestsInFlight) {
    auto request = registration_->TakeRequests(config_.max_chunks_per_message);
    if (!request) break;
    trace_ram_register_request(static_cast<uint32_t>(request->chunks.size()),
                               registration_->pinned_bytes());
    ++stats_->register_requests;
    ++requests_in_flight_;
    FTVM_TRY(SendMessage(*request));
  }
  return {};
}

Result<void> DirtyWriter::WaitForProgress(const char* what) {
  FTVM_TRY(FlushRegistration());
  FTVM_TRY(queue_->PostBatch(config_.timeout));
  trace_ram_poll_wait(queue_->in_flight(), pending_.size());
  FTVM_ASSIGN_OR_RETURN(const size_t handled, pump_->PumpOnce(config_.timeout));
  if (handled == 0) {
    return Fail(ErrorCode::kTimeout, "waited {} ms for {}",
                std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout).count(),
                what);
  }
  return {};
}

Result<void> DirtyWriter::WaitForPending() {
  FTVM_TRY(FlushRegistration());
  while (!pending_.empty()) FTVM_TRY(WaitForProgress("chunk registration results"));
  return {};
}

Result<void> DirtyWriter::SendMessage(const Message& message) {
  Encode(message, &encoded_);
  FTVM_TRY(queue_->Send(encoded_, config_.timeout));
  return {};
}

}  // namespace ftvm::ram
