// The secondary's side of a checkpoint transaction (see secondary.h).
#include <xxhash.h>

#include "colo/log.h"
#include "colo/secondary.h"
#include "colo/trace_events.h"
#include "colo/verify.h"

namespace ftvm::colo {

Result<void> Secondary::OnRequest(uint64_t n) {
  if (in_.n != 0) {
    return Fail(ErrorCode::kProtocol, "checkpoint-request {} while checkpoint {} is open", n,
                in_.n);
  }
  if (n <= committed_) {
    return Fail(ErrorCode::kProtocol, "checkpoint-request {} after checkpoint {} was committed", n,
                committed_);
  }
  in_ = Incoming{};
  in_.n = n;
  in_.request_ns = MonotonicNs();
  ram_before_ = receiver_->stats();
  trace_colo_dst_request_received(n);
  MaybeKill(options_.kill_at, "request", n);
  if (!machine_->paused()) {
    FTVM_TRY(Local(machine_->Pause(VcpuTimeout(options_))));
    control_.set_guest_running(false);
    control_.Emit({.kind = EngineEventKind::kStop});
  }
  // Our own guest's writes since the last commit: restored from the cache at commit.
  if (committed_ > 0 && !passive_) {
    vmm::DirtyBitmaps harvested;
    FTVM_TRY(Local(machine_->HarvestDirty(harvested)));
    local_dirty_ = std::move(harvested);
  }
  FTVM_TRY(link_->Send(CheckpointReply{n}));
  in_.replied_ns = MonotonicNs();
  return {};
}

Result<void> Secondary::OnVmstateSize(const VmstateSize& m) {
  if (m.seq != in_.n || in_.n == 0 || in_.have_size) {
    return Fail(ErrorCode::kProtocol, "vmstate-size {} out of place (open checkpoint {})", m.seq,
                in_.n);
  }
  in_.have_size = true;
  in_.hash = m.hash;
  if (m.has_ram_hash != 0) in_.ram_hash = m.ram_hash;
  in_.blob.assign(m.size, std::byte{0});  // size bounded by the decoder (kMaxVmstateBytes)
  in_.received = 0;
  in_.vmstate_start_ns = MonotonicNs();
  if (m.size == 0) in_.vmstate_done_ns = in_.vmstate_start_ns;
  return {};
}

Result<void> Secondary::OnVmstateData(const VmstateData& m) {
  if (m.seq != in_.n || !in_.have_size) {
    return Fail(ErrorCode::kProtocol, "vmstate-data {} out of place (open checkpoint {})", m.seq,
                in_.n);
  }
  // Fragments arrive in order (the channel is ordered) and must tile the blob exactly.
  if (m.offset != in_.received || m.bytes.size() > in_.blob.size() - in_.received) {
    return Fail(ErrorCode::kProtocol,
                "vmstate-data at offset {} (+{}) does not continue {} of {} bytes", m.offset,
                m.bytes.size(), in_.received, in_.blob.size());
  }
  std::copy(m.bytes.begin(), m.bytes.end(), in_.blob.begin() + static_cast<ptrdiff_t>(m.offset));
  in_.received += m.bytes.size();
  if (in_.received == in_.blob.size()) in_.vmstate_done_ns = MonotonicNs();
  return {};
}

Result<void> Secondary::MaybeComplete() {
  if (in_.n == 0) return {};
  // ram/ numbers its checkpoints in its own id space (sync rounds count too).
  if (in_.ram_done_ns == 0 && receiver_->CheckpointReceived()) {
    in_.ram_done_ns = MonotonicNs();
    trace_colo_dst_ram_received(in_.n, in_.ram_done_ns - in_.request_ns);
  }
  if (in_.ram_done_ns == 0 || in_.vmstate_done_ns == 0) return {};
  return Complete();
}

// Everything of checkpoint in_.n is here: acknowledge, commit, load, resume.
Result<void> Secondary::Complete() {
  const uint64_t n = in_.n;
  CheckpointSample s;
  s[Phase::kWait] = in_.request_ns - (last_end_ns_ != 0 ? last_end_ns_ : in_.request_ns);
  s[Phase::kStat] = in_.replied_ns - in_.request_ns;
  s[Phase::kRam] = in_.ram_done_ns - in_.replied_ns;
  s[Phase::kPut] = in_.vmstate_done_ns - in_.vmstate_start_ns;
  if (XXH3_64bits(in_.blob.data(), in_.blob.size()) != in_.hash) {
    return Fail(ErrorCode::kProtocol, "checkpoint {}: device state does not match its hash", n);
  }
  MaybeKill(options_.kill_at, "device", n);
  uint64_t t = MonotonicNs();
  FTVM_TRY(link_->Send(VmstateReceived{n}));
  s[Phase::kRecv] = MonotonicNs() - t;
  MaybeKill(options_.kill_at, "received", n);

  // From here on the checkpoint is applied without looking at the network.
  FTVM_TRY(control_.Apply(Event::kCommitBegin));
  t = MonotonicNs();
  std::vector<ram::DirtyBitmap> local(local_dirty_.begin(), local_dirty_.end());
  auto commit = receiver_->Commit(local);
  if (!commit) {
    // kCorrupt: the checkpoint failed verification and was not applied. Stop replicating
    // rather than risk running a replica we cannot trust; the primary goes on alone.
    fatal_ = std::move(commit.error()).Wrap(fmt::format("commit checkpoint {}", n));
    return Fail(*fatal_);
  }
  local_dirty_.clear();
  s[Phase::kLoad] = MonotonicNs() - t;
  trace_colo_dst_cache_flushed(n, MonotonicNs() - in_.request_ns, commit->pages);
  t = MonotonicNs();
  FTVM_TRY(Local(machine_->LoadState(in_.blob)));
  s[Phase::kDev] = MonotonicNs() - t;
  if (in_.ram_hash) {
    // Verify mode: guest RAM must now be exactly the primary's at the checkpoint.
    const uint64_t mine = HashGuestRam(machine_->ram_blocks());
    if (mine != *in_.ram_hash) {
      fatal_ = Error(ErrorCode::kCorrupt,
                     fmt::format("checkpoint {}: guest RAM after the commit differs from the "
                                 "primary's (hash {:#018x}, primary {:#018x})",
                                 n, mine, *in_.ram_hash));
      return Fail(*fatal_);
    }
  }
  trace_colo_dst_device_loaded(n, MonotonicNs() - in_.request_ns, in_.blob.size());
  FTVM_TRY(control_.Apply(Event::kCommitEnd));
  committed_ = n;
  control_.set_last_checkpoint(n);

  // Checkpoint n is committed whatever happens to this message: a lost link must not skip the
  // bookkeeping below (stats, COLO mode), or a failover from n would report n - 1 checkpoints.
  // The send error is returned at the end.
  Result<void> loaded = link_->Send(VmstateLoaded{n});
  if (loaded) MaybeKill(options_.kill_at, "loaded", n);
  if (control_.state().status == Status::kSync) {
    FTVM_TRY(control_.Apply(Event::kColoEntered));
    control_.stats().SetInitTime(MonotonicNs() - start_ns_);
    Log().info("secondary: COLO mode after {} ms", (MonotonicNs() - start_ns_) / 1'000'000);
    if (!passive_) FTVM_TRY(Local(machine_->StartDirtyLog()));
  }
  t = MonotonicNs();
  if (!passive_) FTVM_TRY(Local(ResumeGuest()));
  s[Phase::kResume] = MonotonicNs() - t;
  last_end_ns_ = MonotonicNs();
  s.downtime_ns = last_end_ns_ - in_.request_ns;
  trace_colo_dst_resumed(n, s.downtime_ns);

  const ram::RamStats& after = receiver_->stats();
  s.dirty_pages = after.dirty_pages - ram_before_.dirty_pages;
  s.zero_pages = after.zero_pages - ram_before_.zero_pages;
  s.normal_pages = s.dirty_pages - std::min(s.dirty_pages, s.zero_pages);
  s.ram_bytes = s.normal_pages * vmm::kPageSize;
  s.dev_bytes = in_.blob.size();
  control_.stats().RecordCheckpoint(s, last_end_ns_ - in_.request_ns);
  PublishReplication();
  control_.Emit({.kind = EngineEventKind::kCheckpoint,
                 .checkpoint = n,
                 .downtime_ns = s.downtime_ns,
                 .ram_bytes = s.ram_bytes,
                 .dev_bytes = s.dev_bytes});
  const bool summary = last_end_ns_ - last_summary_ns_ >= 1'000'000'000;
  if (summary) last_summary_ns_ = last_end_ns_;
  Log().log(summary ? spdlog::level::info : spdlog::level::debug,
            "checkpoint {} committed: {} pages copied, paused {:.2f} ms", n, commit->pages,
            static_cast<double>(s.downtime_ns) / 1e6);
  in_ = Incoming{};
  return loaded;
}

}  // namespace ftvm::colo
