// Dirty page tracking of every RAM block, in one of three KVM modes behind one interface:
//   kClassic        KVM_GET_DIRTY_LOG (fetch and re-protect in one call, whole slot)
//   kManualProtect  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET, then CLEAR only the dirty range
//   kRing           KVM_CAP_DIRTY_LOG_RING(_ACQ_REL): per-vCPU rings of dirty GFNs; cost
//                   proportional to the pages dirtied; a full ring exits to the vCPU thread,
//                   which drains it into pending bitmaps (DrainRing)
// kAuto picks manual protect when KVM offers it, else classic (the ring only when forced: see
// ChooseMode in dirty_log.cc for the measurements behind this).
//
// Harvest() returns, per block (index = block index), a bitmap of the pages the guest wrote
// since Start() or the previous Harvest(), in ftvm's format (guest_memory.h), and re-arms
// tracking. Call it with the vCPUs paused for a consistent cut; KVM tolerates running vCPUs
// (a page written during the harvest shows up now or in the next harvest).
//
// KVM only sees the guest's writes. The VMM's own writes into guest memory (a device publishing
// a ring tail, the host writing the mailbox) are reported with MarkWritten() and show up in the
// next Harvest() like a guest write; without that a replica would miss them.
//
// Thread safety: Harvest/Start/Stop from the controlling thread; DrainRing and MarkWritten from
// vCPU threads too; an internal mutex serialises them.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "vmm/guest_memory.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

namespace ftvm::vmm {

enum class DirtyMode : uint8_t { kAuto, kClassic, kManualProtect, kRing };

std::string_view DirtyModeName(DirtyMode mode);
// "auto", "classic", "manual" (or "manual-protect"), "ring".
Result<DirtyMode> ParseDirtyMode(std::string_view text);

using DirtyBitmaps = std::vector<std::vector<uint64_t>>;

struct DirtyLogStats {
  uint64_t harvests = 0;
  uint64_t harvest_ns = 0;
  uint64_t ring_full_drains = 0;    // kRing: drains done by vCPU threads on a full ring
  uint64_t ring_full_drain_ns = 0;  // ... and their total time (work a harvest did not do)
};

class DirtyLog {
 public:
  // Chooses and prepares the mode. Must run before any vCPU exists (the ring is a VM
  // capability fixed before vCPU creation). kUnsupported if a forced mode is missing.
  static Result<std::unique_ptr<DirtyLog>> Create(Vm& vm, const GuestMemory& memory, DirtyMode mode,
                                                  uint32_t ring_entries);

  DirtyMode mode() const { return mode_; }
  // Entries per vCPU ring to map (0 unless kRing).
  uint32_t ring_entries() const { return ring_entries_; }
  // The vCPUs whose rings to drain (kRing). Call once, before Start().
  void AttachVcpus(std::vector<Vcpu*> vcpus) {
    vcpus_ = std::move(vcpus);
    ring_fetch_.assign(vcpus_.size(), 0);  // KVM's ring indices only ever move forward
  }

  // Turns logging on for every block (KVM_MEM_LOG_DIRTY_PAGES); forgets earlier dirt.
  Result<void> Start();
  Result<void> Stop();
  bool active() const { return active_; }

  // Resizes `out` to one bitmap per block and fills it (see above). kInvalidArgument if not
  // active.
  Result<void> Harvest(DirtyBitmaps& out);

  DirtyLogStats stats() const;

  // Records a host write to guest memory [gpa, gpa + len) for the next Harvest(). Ignored while
  // logging is off (Start() forgets earlier writes anyway); kInvalidArgument if the range is
  // not inside one block.
  Result<void> MarkWritten(uint64_t gpa, uint64_t len);

  // Moves a vCPU's ring into the pending bitmaps and resets the rings (KVM_EXIT_DIRTY_RING_FULL).
  Result<void> DrainRing(Vcpu& vcpu);

 private:
  DirtyLog(Vm& vm, const GuestMemory& memory, DirtyMode mode, uint32_t ring_entries);
  Result<void> SetLogging(bool on);
  Result<void> HarvestBitmap(DirtyBitmaps& out);
  Result<void> HarvestRing(DirtyBitmaps& out);
  Result<void> DrainRingLocked(Vcpu& vcpu);
  Result<void> ClearDirtyRange(const RamBlock& block, std::vector<uint64_t>& bitmap);
  void ResetPending();

  Vm& vm_;
  const GuestMemory& memory_;
  const DirtyMode mode_;
  const uint32_t ring_entries_;
  std::vector<Vcpu*> vcpus_;
  mutable std::mutex mu_;
  bool active_ = false;
  DirtyLogStats stats_;
  std::vector<uint32_t> ring_fetch_;  // per vCPU: next ring index to look at
  DirtyBitmaps pending_;  // pages drained from rings (kRing) or marked by the host, not harvested
};

// Number of set bits (dirty pages) in a set of bitmaps.
uint64_t CountDirtyPages(const DirtyBitmaps& bitmaps);

}  // namespace ftvm::vmm
