// Memory registration for the tcp provider: keys, validation of every write against them, and
// the pins that make deregistration safe while writes land or are being transmitted.
//
// A RegionPin keeps a region's memory in use; Deregister() first makes both keys unknown (so
// every later lookup fails), then waits until the region's last pin is gone. Hence a write that
// races with deregistration either finishes touching the memory before Deregister() returns or
// is rejected. Pins are held only by work in progress on a socket, and every socket wait is
// bounded by the channel's peer timeout, so the wait is bounded too.
//
// Thread-safe: all methods may be called concurrently (one internal mutex, a leaf lock).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "rdma/channel.h"
#include "rdma/tcp/frame.h"

namespace ftvm::rdma::tcp {

class RegionTable;

// Move-only: unpins on destruction.
class RegionPin {
 public:
  RegionPin() = default;
  RegionPin(RegionPin&& other) noexcept;
  RegionPin& operator=(RegionPin&& other) noexcept;
  RegionPin(const RegionPin&) = delete;
  RegionPin& operator=(const RegionPin&) = delete;
  ~RegionPin() { Reset(); }
  void Reset();

 private:
  friend class RegionTable;
  struct Entry;
  RegionPin(RegionTable* table, Entry* entry) : table_(table), entry_(entry) {}
  RegionTable* table_ = nullptr;
  Entry* entry_ = nullptr;
};

// The result of checking a frame's writes at the target.
struct TargetCheck {
  size_t valid = 0;                       // writes[0, valid) passed and are pinned
  NakReason reason = NakReason::kBadKey;  // why writes[valid] failed, when valid < size
  std::string detail;
};

class RegionTable {
 public:
  // key_seed 0: keys start at a random point. Fixed seeds give reproducible keys (fuzzing).
  explicit RegionTable(uint32_t key_seed = 0);
  ~RegionTable();  // every pin must be gone (a bug otherwise)
  RegionTable(const RegionTable&) = delete;
  RegionTable& operator=(const RegionTable&) = delete;

  // kInvalidArgument for empty memory, unknown access bits, or remote write without local
  // write (verbs requires IBV_ACCESS_LOCAL_WRITE with REMOTE_WRITE; we match it).
  Result<MemoryRegion> Register(std::span<std::byte> memory, uint32_t access);
  // kInvalidArgument if `region` is not (or no longer) registered here.
  Result<void> Deregister(const MemoryRegion& region);

  // Target side: checks key, bounds and kAccessRemoteWrite of each write in order, stopping at
  // the first failure; pins the region of every write that passed (zero-length writes pass
  // without a key check, as in verbs). `pins` is appended to.
  TargetCheck PinTargets(std::span<const WriteDescriptor> writes, std::vector<RegionPin>* pins);

  // Source side: checks that each write's local range lies inside the region named by its
  // lkey (kInvalidArgument naming the write otherwise). Pins the regions when `pins` != null.
  Result<void> CheckSources(std::span<const WriteRequest> writes,
                            std::vector<RegionPin>* pins = nullptr);

  size_t size() const;

 private:
  friend class RegionPin;
  using Entry = RegionPin::Entry;
  void Unpin(Entry* entry);
  Entry* PinLocked(Entry* entry, std::vector<RegionPin>* pins, Entry* last);

  mutable std::mutex mu_;
  std::condition_variable unpinned_;
  std::unordered_map<uint32_t, std::unique_ptr<Entry>> by_lkey_;
  std::unordered_map<uint32_t, Entry*> by_rkey_;
  uint32_t next_key_;
  uint32_t rkey_salt_;
};

}  // namespace ftvm::rdma::tcp
