// The primary's checkpoint transaction (see primary.h for the sequence).
#include <xxhash.h>

#include "base/strings.h"
#include "colo/log.h"
#include "colo/primary.h"
#include "colo/trace_events.h"
#include "colo/verify.h"
#include "rdma/message.h"

namespace ftvm::colo {
namespace {

constexpr Nanos kPollSlice = std::chrono::milliseconds(5);

template <class T>
uint64_t SeqOf(const T& m) {
  if constexpr (requires { m.seq; }) {
    return m.seq;
  } else {
    return 0;
  }
}

}  // namespace

template <class T>
Result<T> Primary::Await(uint64_t n, const char* what) {
  const Deadline deadline(std::chrono::milliseconds(options_.checkpoint_timeout_ms));
  for (;;) {
    while (link_->has_message()) {
      auto m = link_->PopMessage();
      if (auto* want = std::get_if<T>(&m.message); want != nullptr && SeqOf(*want) == n) {
        return *want;
      }
      if (auto* bye = std::get_if<Goodbye>(&m.message)) {
        return Fail(ErrorCode::kPeerLost, "the secondary left while we waited for {}: {}", what,
                    bye->reason);
      }
      return Fail(ErrorCode::kProtocol, "{} while waiting for {} {}", MessageName(m.message), what,
                  n);
    }
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "no {} {} from the secondary within {} ms", what, n,
                  options_.checkpoint_timeout_ms);
    }
    FTVM_TRY(link_->MaybeHeartbeat(checkpoint_));
    FTVM_TRY(link_->Poll(std::min<Nanos>(kPollSlice, deadline.remaining())));
  }
}

// Setup (primary.cc) waits for the hello-ack with the same loop.
template Result<HelloAck> Primary::Await<HelloAck>(uint64_t n, const char* what);

Result<void> Primary::Checkpoint(uint64_t n) {
  CheckpointSample s;
  const uint64_t begin = MonotonicNs();
  s[Phase::kWait] = begin - last_end_ns_;
  checkpoint_ = n;
  trace_colo_src_downtime_start(n);
  MaybeKill(options_.kill_at, "request", n);
  FTVM_TRY(link_->Send(CheckpointRequest{n}));
  FTVM_TRY(Await<CheckpointReply>(n, "checkpoint-reply"));
  FTVM_TRY(Local(machine_->Pause(VcpuTimeout(options_))));
  const uint64_t paused_at = MonotonicNs();
  control_.set_guest_running(false);
  control_.Emit({.kind = EngineEventKind::kStop});
  trace_colo_src_vm_stopped(n, paused_at - begin);
  s[Phase::kStat] = paused_at - begin;
  // From here the guest is paused until ResumeAfter(); any failure is handled by the caller,
  // which resumes it (LoseSecondary) or stops (fatal).
  FTVM_TRY(Local(HarvestPending()));
  s.dirty_pages = vmm::CountDirtyPages(pending_dirty_);
  if (options_.ram.verify) ram_hash_ = HashGuestRam(machine_->ram_blocks());
  if (staging_) {
    FTVM_TRY(CheckpointStaged(n, s, begin, paused_at));
  } else {
    FTVM_TRY(CheckpointDirect(n, s, begin, paused_at));
  }
  last_end_ns_ = MonotonicNs();
  control_.stats().RecordCheckpoint(s, last_end_ns_ - begin);
  control_.set_last_checkpoint(n);
  PublishReplication();
  control_.Emit({.kind = EngineEventKind::kCheckpoint,
                 .checkpoint = n,
                 .downtime_ns = s.downtime_ns,
                 .ram_bytes = s.ram_bytes,
                 .dev_bytes = s.dev_bytes});
  // One info line per second at most: operators follow checkpoints on the control socket.
  const bool summary = last_end_ns_ - last_summary_ns_ >= 1'000'000'000;
  if (summary) last_summary_ns_ = last_end_ns_;
  Log().log(summary ? spdlog::level::info : spdlog::level::debug,
            "checkpoint {}: downtime {:.2f} ms, {} dirty pages ({} zero), {} of RAM, {} B of "
            "device state",
            n, static_cast<double>(s.downtime_ns) / 1e6, s.dirty_pages, s.zero_pages,
            FormatBytes(s.ram_bytes), s.dev_bytes);
  return {};
}

// Staged order: copy the dirty pages into the mirror and save device state (guest paused),
// resume, then send RAM and device state while the guest runs. The checkpoint is the state at
// the pause; until `received` the secondary's committed state stays the previous one.
Result<void> Primary::CheckpointStaged(uint64_t n, CheckpointSample& s, uint64_t begin,
                                       uint64_t paused_at) {
  uint64_t t = MonotonicNs();
  const uint64_t captured = CaptureUncaptured();
  const uint64_t capture_ns = MonotonicNs() - t;
  trace_colo_src_captured(n, capture_ns, captured / vmm::kPageSize);
  FTVM_TRY(SaveDeviceState(n, s));
  FTVM_TRY(ResumeAfter(n, s, begin, paused_at));
  t = MonotonicNs();
  FTVM_TRY(SendRam(n, s));
  s[Phase::kRam] += capture_ns;
  t = MonotonicNs();
  FTVM_TRY(SendVmstate(n, blob_));
  s[Phase::kPut] = MonotonicNs() - t;
  t = MonotonicNs();
  FTVM_TRY(Await<VmstateReceived>(n, "vmstate-received"));
  MaybeKill(options_.kill_at, "received", n);
  s[Phase::kRecv] = MonotonicNs() - t;
  t = MonotonicNs();
  FTVM_TRY(Await<VmstateLoaded>(n, "vmstate-loaded"));
  MaybeKill(options_.kill_at, "loaded", n);
  s[Phase::kLoad] = MonotonicNs() - t;
  return {};
}

// Direct order (QEMU's): RAM and device state cross the wire while the guest is paused; it
// resumes after `received` (default) or after `loaded`.
Result<void> Primary::CheckpointDirect(uint64_t n, CheckpointSample& s, uint64_t begin,
                                       uint64_t paused_at) {
  FTVM_TRY(SendRam(n, s));
  FTVM_TRY(SaveDeviceState(n, s));
  uint64_t t = MonotonicNs();
  FTVM_TRY(SendVmstate(n, blob_));
  s[Phase::kPut] = MonotonicNs() - t;
  t = MonotonicNs();
  FTVM_TRY(Await<VmstateReceived>(n, "vmstate-received"));
  MaybeKill(options_.kill_at, "received", n);
  s[Phase::kRecv] = MonotonicNs() - t;
  if (options_.resume_after_received) FTVM_TRY(ResumeAfter(n, s, begin, paused_at));
  t = MonotonicNs();
  FTVM_TRY(Await<VmstateLoaded>(n, "vmstate-loaded"));
  MaybeKill(options_.kill_at, "loaded", n);
  s[Phase::kLoad] = MonotonicNs() - t;
  if (!options_.resume_after_received) FTVM_TRY(ResumeAfter(n, s, begin, paused_at));
  return {};
}

Result<void> Primary::ResumeAfter(uint64_t n, CheckpointSample& s, uint64_t begin,
                                  uint64_t paused_at) {
  const uint64_t t = MonotonicNs();
  FTVM_TRY(Local(ResumeGuest()));
  const uint64_t now = MonotonicNs();
  s[Phase::kResume] = now - t;
  s.downtime_ns = now - paused_at;
  trace_colo_src_downtime_end(n, now - begin, s.downtime_ns);
  return {};
}

Result<void> Primary::SendRam(uint64_t n, CheckpointSample& s) {
  const uint64_t t = MonotonicNs();
  const std::vector<ram::DirtyBitmap> views(pending_dirty_.begin(), pending_dirty_.end());
  FTVM_ASSIGN_OR_RETURN(const ram::CheckpointSummary sent,
                        sender_->SendCheckpoint(++ram_id_, views));
  for (auto& b : pending_dirty_) std::fill(b.begin(), b.end(), 0);
  s.ram_bytes = sent.pages_written * vmm::kPageSize;
  s.normal_pages = sent.pages_written;
  s.zero_pages = sent.zero_pages;
  s[Phase::kRam] = MonotonicNs() - t;
  trace_colo_src_ram_saved(n, MonotonicNs() - t, sent.pages_written);
  return {};
}

Result<void> Primary::SaveDeviceState(uint64_t n, CheckpointSample& s) {
  const uint64_t t = MonotonicNs();
  FTVM_ASSIGN_OR_RETURN(blob_, Local(machine_->SaveState()));
  s.dev_bytes = blob_.size();
  s[Phase::kDev] = MonotonicNs() - t;
  trace_colo_src_device_saved(n, MonotonicNs() - t, blob_.size());
  return {};
}

Result<void> Primary::SendVmstate(uint64_t n, std::span<const std::byte> blob) {
  if (blob.size() > kMaxVmstateBytes) {
    return Local<void>(Fail(ErrorCode::kInternal, "device state of {} bytes is over the {} limit",
                            blob.size(), kMaxVmstateBytes));
  }
  FTVM_TRY(link_->Send(
      VmstateSize{n, static_cast<uint32_t>(blob.size()), XXH3_64bits(blob.data(), blob.size()),
                  static_cast<uint8_t>(ram_hash_ ? 1 : 0), ram_hash_.value_or(0)}));
  // Fragments as large as one channel message allows (header: envelope + seq + offset).
  size_t fragment = link_->channel().info().max_message_bytes - rdma::kMessageHeaderBytes - 12;
  if (options_.vmstate_fragment_bytes > 0) {
    fragment = std::min<size_t>(fragment, options_.vmstate_fragment_bytes);
  }
  for (size_t off = 0; off < blob.size(); off += fragment) {
    const auto piece = blob.subspan(off, std::min(fragment, blob.size() - off));
    FTVM_TRY(link_->Send(VmstateData{n, static_cast<uint32_t>(off), piece}));
    if (off == 0) MaybeKill(options_.kill_at, "device", n);
  }
  return {};
}

}  // namespace ftvm::colo
