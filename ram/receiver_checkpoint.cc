// RamReceiver's per-checkpoint path: Begin, dirty set, compress, End, then Commit or Discard.
#include "ram/dirty_bitmap.h"
#include "ram/log.h"
#include "ram/receiver.h"
#include "ram/verify.h"

namespace ftvm::ram {

Result<void> RamReceiver::ExpectCheckpoint(uint64_t id, const char* what) const {
  if (state_ != ReceiverState::kReceiving && state_ != ReceiverState::kDiscarding) {
    return ftvm::Fail(ErrorCode::kProtocol, "{} outside a checkpoint (state {})", what,
                      ReceiverStateName(state_));
  }
  if (id != checkpoint_) {
    return ftvm::Fail(ErrorCode::kProtocol, "{} for checkpoint {} during checkpoint {}", what, id,
                      checkpoint_);
  }
  return {};
}

Result<void> RamReceiver::OnBegin(const CheckpointBegin& begin) {
  if (state_ != ReceiverState::kIdle) {
    return ftvm::Fail(ErrorCode::kProtocol, "checkpoint begin in state {}",
                      ReceiverStateName(state_));
  }
  if (begin.checkpoint <= checkpoint_) {
    return ftvm::Fail(ErrorCode::kProtocol, "checkpoint {} after checkpoint {}", begin.checkpoint,
                      checkpoint_);
  }
  if (begin.sync_round && primed_) {
    return ftvm::Fail(ErrorCode::kProtocol, "sync round {} after the first commit",
                      begin.checkpoint);
  }
  if (!primed_ && !begin.full && !begin.sync_round) {
    return ftvm::Fail(ErrorCode::kProtocol,
                      "checkpoint {} is incremental but no full checkpoint was committed yet",
                      begin.checkpoint);
  }
  for (auto& words : dirty_) std::ranges::fill(words, 0);
  checkpoint_ = begin.checkpoint;
  full_ = begin.full;
  sync_round_ = begin.sync_round;
  if (covered_.empty()) covered_ = dirty_;  // same shape, all clear
  dirty_sets_ = 0;
  hash_.reset();
  state_ = ReceiverState::kReceiving;
  return {};
}

Result<void> RamReceiver::OnDirtySet(const DirtySet& set) {
  FTVM_TRY(ExpectCheckpoint(set.checkpoint, "dirty set"));
  FTVM_TRY(CheckDirtySet(table_, set));
  std::vector<uint64_t>& words = dirty_[set.block];
  for (size_t i = 0; i < set.words.size(); ++i) words[set.first_word + i] |= set.words[i];
  ++dirty_sets_;
  return {};
}

Result<void> RamReceiver::OnCompress(const Compress& compress) {
  FTVM_TRY(ExpectCheckpoint(compress.checkpoint, "compress"));
  // Validate every range before zeroing any: a bad entry rejects the whole message.
  for (const ZeroRange& r : compress.ranges) {
    FTVM_TRY(CheckZeroRange(table_, r));
    const uint32_t page = table_[r.block].page_size;
    if (!AllSet(dirty_[r.block], r.offset / page, r.length / page)) {
      return ftvm::Fail(ErrorCode::kProtocol, "zero range {}+{} of block {} is not all dirty",
                        r.offset, r.length, table_[r.block].name);
    }
  }
  if (state_ == ReceiverState::kDiscarding) return {};
  for (const ZeroRange& r : compress.ranges) {
    cache_.Zero(r.block, r.offset, r.length);
    stats_.zero_pages += r.length / table_[r.block].page_size;
  }
  stats_.zero_ranges += compress.ranges.size();
  ++stats_.compress_messages;
  return {};
}

Result<void> RamReceiver::OnEnd(const CheckpointEnd& end) {
  FTVM_TRY(ExpectCheckpoint(end.checkpoint, "checkpoint end"));
  uint64_t dirty_pages = 0;
  uint64_t all_pages = 0;
  for (size_t b = 0; b < table_.size(); ++b) {
    dirty_pages += CountDirty(dirty_[b], table_[b].page_count());
    all_pages += table_[b].page_count();
  }
  if (end.dirty_set_messages != dirty_sets_ || end.dirty_pages != dirty_pages) {
    return ftvm::Fail(
        ErrorCode::kProtocol, "checkpoint {} ends with {} dirty sets / {} pages, received {} / {}",
        end.checkpoint, end.dirty_set_messages, end.dirty_pages, dirty_sets_, dirty_pages);
  }
  if (sync_round_) return EndSyncRound(end);
  if (full_) {
    // The pages the sync rounds brought count as part of a full checkpoint.
    dirty_pages = 0;
    for (size_t b = 0; b < table_.size(); ++b) {
      OrInto(dirty_[b], covered_[b], table_[b].page_count());
      dirty_pages += CountDirty(dirty_[b], table_[b].page_count());
    }
  }
  if (end.has_hash != verify_ || (full_ && dirty_pages != all_pages)) {
    return ftvm::Fail(ErrorCode::kProtocol, "checkpoint {}: hash {} (verify {}), full {} ({}/{})",
                      end.checkpoint, end.has_hash, verify_, full_, dirty_pages, all_pages);
  }
  if (state_ == ReceiverState::kDiscarding) {
    state_ = ReceiverState::kIdle;
    SendAck(AckStatus::kDiscarded);
    return {};
  }
  if (end.has_hash) hash_ = end.hash;
  state_ = ReceiverState::kComplete;
  ++stats_.checkpoints;
  stats_.dirty_pages += dirty_pages;
  return {};
}

Result<void> RamReceiver::EndSyncRound(const CheckpointEnd& end) {
  if (end.has_hash) {
    return ftvm::Fail(ErrorCode::kProtocol, "sync round {} carries a hash", end.checkpoint);
  }
  for (size_t b = 0; b < table_.size(); ++b) {
    OrInto(covered_[b], dirty_[b], table_[b].page_count());
  }
  state_ = ReceiverState::kIdle;
  ++stats_.sync_rounds;
  return {};
}

Result<CommitSummary> RamReceiver::Commit(std::span<const DirtyBitmap> local_dirty) {
  if (state_ != ReceiverState::kComplete) {
    return ftvm::Fail(ErrorCode::kInvalidArgument, "commit: no complete checkpoint (state {})",
                      ReceiverStateName(state_));
  }
  if (!local_dirty.empty() && local_dirty.size() != table_.size()) {
    return ftvm::Fail(ErrorCode::kInvalidArgument, "commit: {} local bitmaps for {} blocks",
                      local_dirty.size(), table_.size());
  }
  for (size_t b = 0; b < local_dirty.size(); ++b) {
    if (local_dirty[b].size() < BitmapWords(table_[b].page_count())) {
      return ftvm::Fail(ErrorCode::kInvalidArgument, "commit: local bitmap of {} is too short",
                        table_[b].name);
    }
  }
  if (hash_) {
    std::vector<uint32_t> page_sizes;
    for (const BlockDesc& b : table_) page_sizes.push_back(b.page_size);
    const uint64_t computed = HashDirtyPages(cache_.Blocks(), page_sizes, dirty_);
    if (computed != *hash_) {
      ++stats_.verify_failures;
      state_ = ReceiverState::kIdle;
      SendAck(AckStatus::kVerifyFailed);
      return ftvm::Fail(ErrorCode::kCorrupt,
                        "checkpoint {}: cache hash {:#018x} != primary's {:#018x}; not applied",
                        checkpoint_, computed, *hash_);
    }
  }
  const CopyStats copy = cache_.CopyToGuest(dirty_, local_dirty);
  primed_ = primed_ || full_;
  last_committed_ = checkpoint_;
  state_ = ReceiverState::kIdle;
  ++stats_.commits;
  stats_.last_commit_ns = copy.ns;
  stats_.last_commit_bytes = copy.bytes;
  stats_.committed_bytes += copy.bytes;
  SendAck(AckStatus::kCommitted);
  Log().debug("committed checkpoint {}: {} pages in {} runs, {:.3f} ms", checkpoint_, copy.pages,
              copy.runs, static_cast<double>(copy.ns) / 1e6);
  return CommitSummary{checkpoint_, copy.pages, copy.bytes, copy.runs, copy.ns};
}

void RamReceiver::Discard() {
  if (state_ == ReceiverState::kReceiving) {
    state_ = ReceiverState::kDiscarding;  // the ack follows the primary's End
  } else if (state_ == ReceiverState::kComplete) {
    state_ = ReceiverState::kIdle;
    SendAck(AckStatus::kDiscarded);
  } else {
    return;
  }
  ++stats_.discards;
  Log().info("discarded checkpoint {}; guest memory stays at checkpoint {}", checkpoint_,
             last_committed_);
}

void RamReceiver::SendAck(AckStatus status) {
  if (channel_->state() != rdma::ChannelState::kConnected) return;
  if (auto sent = Reply(CheckpointAck{checkpoint_, status}); !sent) {
    Log().warn("ack of checkpoint {}: {}", checkpoint_, sent.error().ToString());
  }
}

}  // namespace ftvm::ram
