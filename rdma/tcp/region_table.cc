#include "rdma/tcp/region_table.h"

#include <random>
#include <utility>

#include "base/check.h"

namespace ftvm::rdma::tcp {
namespace {

// A bijection on 32-bit values (the murmur3 finaliser): distinct lkeys give distinct rkeys, and
// neighbouring lkeys give unrelated rkeys, so an off-by-one key never names another region.
uint32_t Mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

}  // namespace

struct RegionPin::Entry {
  MemoryRegion region;
  uint64_t pins = 0;
  bool dead = false;  // deregistered: no longer in the maps, waiting for pins to drop

  uint64_t begin() const { return region.remote_addr(); }
  uint64_t end() const { return region.remote_addr() + region.length; }
  bool Contains(uint64_t addr, uint64_t length) const {
    return addr >= begin() && addr <= end() && length <= end() - addr;
  }
};

RegionPin::RegionPin(RegionPin&& other) noexcept
    : table_(std::exchange(other.table_, nullptr)), entry_(std::exchange(other.entry_, nullptr)) {}

RegionPin& RegionPin::operator=(RegionPin&& other) noexcept {
  if (this != &other) {
    Reset();
    table_ = std::exchange(other.table_, nullptr);
    entry_ = std::exchange(other.entry_, nullptr);
  }
  return *this;
}

void RegionPin::Reset() {
  if (table_ != nullptr) table_->Unpin(entry_);
  table_ = nullptr;
  entry_ = nullptr;
}

RegionTable::RegionTable(uint32_t key_seed) {
  // Keys are not secrets (the peer is trusted to the extent of its registered windows), but
  // random starting points keep a stale key from one connection from naming a region of the next.
  const uint32_t seed = key_seed != 0 ? key_seed : std::random_device{}();
  next_key_ = seed | 1u;
  rkey_salt_ = Mix(seed) | 0x100u;
}

RegionTable::~RegionTable() {
  std::lock_guard lock(mu_);
  for (const auto& [lkey, entry] : by_lkey_) {
    FTVM_CHECK(entry->pins == 0, "region lkey {:#x} destroyed while pinned", lkey);
  }
}

Result<MemoryRegion> RegionTable::Register(std::span<std::byte> memory, uint32_t access) {
  if (memory.empty() || memory.data() == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "cannot register empty memory");
  }
  const uint32_t known = kAccessLocalWrite | kAccessRemoteWrite | kAccessRemoteRead;
  if ((access & ~known) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "unknown access bits {:#x}", access & ~known);
  }
  if ((access & (kAccessRemoteWrite | kAccessRemoteRead)) != 0 &&
      (access & kAccessLocalWrite) == 0) {
    return Fail(ErrorCode::kInvalidArgument, "remote access needs kAccessLocalWrite (as in verbs)");
  }
  auto entry = std::make_unique<Entry>();
  entry->region.addr = memory.data();
  entry->region.length = memory.size();
  entry->region.access = access;
  std::lock_guard lock(mu_);
  do {
    entry->region.lkey = next_key_++;
    entry->region.rkey = Mix(entry->region.lkey ^ rkey_salt_);
  } while (entry->region.lkey == 0 || entry->region.rkey == 0 ||
           by_lkey_.contains(entry->region.lkey) || by_rkey_.contains(entry->region.rkey));
  const MemoryRegion region = entry->region;
  by_rkey_.emplace(region.rkey, entry.get());
  by_lkey_.emplace(region.lkey, std::move(entry));
  return region;
}

Result<void> RegionTable::Deregister(const MemoryRegion& region) {
  std::unique_lock lock(mu_);
  auto it = by_lkey_.find(region.lkey);
  if (it == by_lkey_.end() || it->second->region.rkey != region.rkey ||
      it->second->region.addr != region.addr || it->second->region.length != region.length) {
    return Fail(ErrorCode::kInvalidArgument, "region lkey {:#x} is not registered", region.lkey);
  }
  std::unique_ptr<Entry> entry = std::move(it->second);
  by_lkey_.erase(it);
  by_rkey_.erase(region.rkey);
  entry->dead = true;
  unpinned_.wait(lock, [&] { return entry->pins == 0; });
  return {};
}

RegionTable::Entry* RegionTable::PinLocked(Entry* entry, std::vector<RegionPin>* pins,
                                           Entry* last) {
  // Consecutive writes into one region share a pin: one pin per region run, not per write.
  if (entry != last) {
    ++entry->pins;
    pins->push_back(RegionPin(this, entry));
  }
  return entry;
}

TargetCheck RegionTable::PinTargets(std::span<const WriteDescriptor> writes,
                                    std::vector<RegionPin>* pins) {
  TargetCheck check;
  std::lock_guard lock(mu_);
  Entry* last = nullptr;
  for (const WriteDescriptor& w : writes) {
    if (w.length == 0) {
      ++check.valid;
      continue;
    }
    Entry* entry = nullptr;
    if (last != nullptr && last->region.rkey == w.rkey) {
      entry = last;
    } else if (auto it = by_rkey_.find(w.rkey); it != by_rkey_.end()) {
      entry = it->second;
    }
    if (entry == nullptr) {
      check.reason = NakReason::kBadKey;
      check.detail = fmt::format("rkey {:#x} is not registered", w.rkey);
      return check;
    }
    if ((entry->region.access & kAccessRemoteWrite) == 0) {
      check.reason = NakReason::kNoAccess;
      check.detail = fmt::format("rkey {:#x} has no remote write access", w.rkey);
      return check;
    }
    if (!entry->Contains(w.remote_addr, w.length)) {
      check.reason = NakReason::kOutOfBounds;
      check.detail =
          fmt::format("write [{:#x}, +{}) outside rkey {:#x} [{:#x}, +{})", w.remote_addr, w.length,
                      w.rkey, entry->begin(), entry->region.length);
      return check;
    }
    last = PinLocked(entry, pins, last);
    ++check.valid;
  }
  return check;
}

Result<void> RegionTable::CheckSources(std::span<const WriteRequest> writes,
                                       std::vector<RegionPin>* pins) {
  std::lock_guard lock(mu_);
  Entry* last = nullptr;
  for (size_t i = 0; i < writes.size(); ++i) {
    const WriteRequest& w = writes[i];
    if (w.length == 0) continue;
    Entry* entry = nullptr;
    if (last != nullptr && last->region.lkey == w.lkey) {
      entry = last;
    } else if (auto it = by_lkey_.find(w.lkey); it != by_lkey_.end()) {
      entry = it->second.get();
    }
    if (entry == nullptr) {
      return Fail(ErrorCode::kInvalidArgument, "write {} (wr {}): lkey {:#x} is not registered", i,
                  w.wr_id, w.lkey);
    }
    if (!entry->Contains(reinterpret_cast<uint64_t>(w.local_addr), w.length)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "write {} (wr {}): local range [{}, +{}) outside lkey {:#x}", i, w.wr_id,
                  fmt::ptr(w.local_addr), w.length, w.lkey);
    }
    if (pins != nullptr) {
      last = PinLocked(entry, pins, last);
    } else {
      last = entry;
    }
  }
  return {};
}

void RegionTable::Unpin(Entry* entry) {
  std::lock_guard lock(mu_);
  FTVM_CHECK(entry->pins > 0);
  if (--entry->pins == 0 && entry->dead) unpinned_.notify_all();
}

size_t RegionTable::size() const {
  std::lock_guard lock(mu_);
  return by_lkey_.size();
}

}  // namespace ftvm::rdma::tcp
