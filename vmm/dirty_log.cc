#include "vmm/dirty_log.h"

#include <atomic>
#include <bit>

#include "base/time.h"
#include "vmm/log.h"
#include "vmm/trace_events.h"

namespace ftvm::vmm {
namespace {

Result<DirtyMode> ChooseMode(const Vm& vm, DirtyMode wanted) {
  const bool ring = vm.CheckExtension(KVM_CAP_DIRTY_LOG_RING_ACQ_REL) > 0 ||
                    vm.CheckExtension(KVM_CAP_DIRTY_LOG_RING) > 0;
  const bool manual = vm.CheckExtension(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0;
  switch (wanted) {
    case DirtyMode::kAuto:
      // Measured here (docs/benchmarks.md, VMM): manual protect harvests as fast as the ring
      // when few pages are dirty and as fast as classic when many are, while the ring makes a
      // busy guest pay for ring-full exits and per-entry resets (5 % of its untracked write
      // speed against ~25 % with bitmaps). So the ring is used only when asked for.
      return manual ? DirtyMode::kManualProtect : DirtyMode::kClassic;
    case DirtyMode::kRing:
      if (!ring) return Fail(ErrorCode::kUnsupported, "KVM has no dirty ring");
      return wanted;
    case DirtyMode::kManualProtect:
      if (!manual) return Fail(ErrorCode::kUnsupported, "KVM has no MANUAL_DIRTY_LOG_PROTECT2");
      return wanted;
    case DirtyMode::kClassic:
      return wanted;
  }
  return Fail(ErrorCode::kInvalidArgument, "bad dirty mode");
}

}  // namespace

std::string_view DirtyModeName(DirtyMode mode) {
  switch (mode) {
    case DirtyMode::kAuto:
      return "auto";
    case DirtyMode::kClassic:
      return "classic";
    case DirtyMode::kManualProtect:
      return "manual";
    case DirtyMode::kRing:
      return "ring";
  }
  return "?";
}

Result<DirtyMode> ParseDirtyMode(std::string_view text) {
  if (text == "auto") return DirtyMode::kAuto;
  if (text == "classic") return DirtyMode::kClassic;
  if (text == "manual" || text == "manual-protect") return DirtyMode::kManualProtect;
  if (text == "ring") return DirtyMode::kRing;
  return Fail(ErrorCode::kInvalidArgument, "unknown dirty mode '{}' (auto, classic, manual, ring)",
              text);
}

uint64_t CountDirtyPages(const DirtyBitmaps& bitmaps) {
  uint64_t n = 0;
  for (const auto& words : bitmaps) {
    for (uint64_t w : words) n += static_cast<uint64_t>(std::popcount(w));
  }
  return n;
}

DirtyLog::DirtyLog(Vm& vm, const GuestMemory& memory, DirtyMode mode, uint32_t ring_entries)
    : vm_(vm), memory_(memory), mode_(mode), ring_entries_(ring_entries) {}

Result<std::unique_ptr<DirtyLog>> DirtyLog::Create(Vm& vm, const GuestMemory& memory,
                                                   DirtyMode wanted, uint32_t ring_entries) {
  FTVM_ASSIGN_OR_RETURN(const DirtyMode mode, ChooseMode(vm, wanted));
  uint32_t entries = 0;
  if (mode == DirtyMode::kRing) {
    // The ring size is in bytes, a power of two, at most what KVM reports.
    const auto max_bytes = static_cast<uint32_t>(vm.CheckExtension(KVM_CAP_DIRTY_LOG_RING));
    entries = std::bit_floor(std::min<uint32_t>(ring_entries, max_bytes / sizeof(kvm_dirty_gfn)));
    if (entries < 1024) return Fail(ErrorCode::kInvalidArgument, "dirty ring too small");
    const bool acq_rel = vm.CheckExtension(KVM_CAP_DIRTY_LOG_RING_ACQ_REL) > 0;
    FTVM_TRY(vm.EnableCap(acq_rel ? KVM_CAP_DIRTY_LOG_RING_ACQ_REL : KVM_CAP_DIRTY_LOG_RING,
                          entries * sizeof(kvm_dirty_gfn)));
  } else if (mode == DirtyMode::kManualProtect) {
    FTVM_TRY(vm.EnableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE));
  }
  Log().debug("dirty log mode {}{}", DirtyModeName(mode),
              entries ? fmt::format(" ({} entries per vCPU)", entries) : "");
  return std::unique_ptr<DirtyLog>(new DirtyLog(vm, memory, mode, entries));
}

Result<void> DirtyLog::SetLogging(bool on) {
  for (const RamBlock& b : memory_.blocks()) {
    FTVM_TRY(vm_.SetMemoryRegion(b.slot(), b.gpa(), b.size(), b.hva(),
                                 on ? KVM_MEM_LOG_DIRTY_PAGES : 0));
  }
  return {};
}

void DirtyLog::ResetPending() {
  pending_.resize(memory_.blocks().size());
  for (size_t i = 0; i < pending_.size(); ++i) {
    pending_[i].assign(BitmapWords(memory_.blocks()[i].page_count()), 0);
  }
}

Result<void> DirtyLog::Start() {
  std::lock_guard lock(mu_);
  if (active_) return {};
  ResetPending();
  if (mode_ == DirtyMode::kRing) {
    // Entries left from an earlier Start/Stop period: consume them (in order, as KVM
    // requires) and forget them.
    for (Vcpu* vcpu : vcpus_) FTVM_TRY(DrainRingLocked(*vcpu));
    FTVM_TRY(vm_.ResetDirtyRings());
  }
  ResetPending();
  FTVM_TRY_CTX(SetLogging(true), "start dirty logging");
  active_ = true;
  return {};
}

Result<void> DirtyLog::Stop() {
  std::lock_guard lock(mu_);
  if (!active_) return {};
  active_ = false;
  FTVM_TRY_CTX(SetLogging(false), "stop dirty logging");
  return {};
}

Result<void> DirtyLog::Harvest(DirtyBitmaps& out) {
  std::lock_guard lock(mu_);
  if (!active_) return Fail(ErrorCode::kInvalidArgument, "dirty logging is not started");
  const Stopwatch watch;
  out.resize(memory_.blocks().size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].assign(BitmapWords(memory_.blocks()[i].page_count()), 0);
  }
  FTVM_TRY(mode_ == DirtyMode::kRing ? HarvestRing(out) : HarvestBitmap(out));
  if (mode_ != DirtyMode::kRing) {  // the ring harvest took pending_ whole
    for (size_t i = 0; i < out.size(); ++i) {
      for (size_t w = 0; w < out[i].size(); ++w) out[i][w] |= pending_[i][w];
    }
    ResetPending();
  }
  ++stats_.harvests;
  stats_.harvest_ns += watch.ElapsedNs();
  trace_vmm_dirty_harvest(static_cast<int>(mode_), CountDirtyPages(out), watch.ElapsedNs());
  return {};
}

Result<void> DirtyLog::HarvestBitmap(DirtyBitmaps& out) {
  for (const RamBlock& b : memory_.blocks()) {
    std::vector<uint64_t>& bitmap = out[b.slot()];
    FTVM_TRY_CTX(vm_.GetDirtyLog(b.slot(), bitmap.data()), b.name());
    if (mode_ == DirtyMode::kManualProtect) FTVM_TRY_CTX(ClearDirtyRange(b, bitmap), b.name());
  }
  return {};
}

// Re-protects only what was dirty: one KVM_CLEAR_DIRTY_LOG from the first to the last dirty
// word (bits that are zero cost the kernel a word scan, no page-table walk).
Result<void> DirtyLog::ClearDirtyRange(const RamBlock& block, std::vector<uint64_t>& bitmap) {
  size_t first = 0;
  while (first < bitmap.size() && bitmap[first] == 0) ++first;
  if (first == bitmap.size()) return {};
  size_t last = bitmap.size() - 1;
  while (bitmap[last] == 0) --last;
  const uint64_t first_page = first * 64;
  const uint64_t end_page = std::min<uint64_t>((last + 1) * 64, block.page_count());
  return vm_.ClearDirtyLog(block.slot(), first_page, static_cast<uint32_t>(end_page - first_page),
                           bitmap.data() + first);
}

Result<void> DirtyLog::HarvestRing(DirtyBitmaps& out) {
  for (Vcpu* vcpu : vcpus_) FTVM_TRY(DrainRingLocked(*vcpu));
  FTVM_TRY(vm_.ResetDirtyRings());
  out.swap(pending_);
  ResetPending();
  return {};
}

Result<void> DirtyLog::MarkWritten(uint64_t gpa, uint64_t len) {
  if (len == 0) return {};
  std::lock_guard lock(mu_);
  for (const RamBlock& b : memory_.blocks()) {
    if (!b.Contains(gpa, len)) continue;
    if (!active_) return {};
    std::vector<uint64_t>& bitmap = pending_[b.slot()];
    const uint64_t last = (gpa - b.gpa() + len - 1) / kPageSize;
    for (uint64_t page = (gpa - b.gpa()) / kPageSize; page <= last; ++page) {
      bitmap[page / 64] |= 1ull << (page % 64);
    }
    return {};
  }
  return Fail(ErrorCode::kInvalidArgument, "host write [{:#x}, +{}) is not inside one RAM block",
              gpa, len);
}

Result<void> DirtyLog::DrainRing(Vcpu& vcpu) {
  std::lock_guard lock(mu_);
  if (!active_) return {};
  const Stopwatch watch;
  FTVM_TRY(DrainRingLocked(vcpu));
  FTVM_TRY(vm_.ResetDirtyRings());
  ++stats_.ring_full_drains;
  stats_.ring_full_drain_ns += watch.ElapsedNs();
  return {};
}

DirtyLogStats DirtyLog::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// KVM's protocol (Documentation/virt/kvm/api.rst, "dirty ring"): entries are consumed in order
// from where we stopped; an entry is ready when its DIRTY flag is set (read with acquire), and
// we hand it back by setting RESET (with release) before KVM_RESET_DIRTY_RINGS.
Result<void> DirtyLog::DrainRingLocked(Vcpu& vcpu) {
  const std::span<kvm_dirty_gfn> ring = vcpu.dirty_ring();
  uint32_t& fetch = ring_fetch_.at(vcpu.index());
  const auto blocks = memory_.blocks();
  for (;;) {
    kvm_dirty_gfn& entry = ring[fetch & (ring.size() - 1)];
    std::atomic_ref<uint32_t> flags(entry.flags);
    if ((flags.load(std::memory_order_acquire) & KVM_DIRTY_GFN_F_DIRTY) == 0) break;
    const uint32_t slot = entry.slot & 0xffff;
    if (slot >= blocks.size() || entry.offset >= blocks[slot].page_count()) {
      return Fail(ErrorCode::kInternal, "dirty ring entry slot {} offset {} out of range", slot,
                  entry.offset);
    }
    pending_[slot][entry.offset / 64] |= 1ull << (entry.offset % 64);
    flags.store(KVM_DIRTY_GFN_F_RESET, std::memory_order_release);
    ++fetch;
  }
  return {};
}

}  // namespace ftvm::vmm
