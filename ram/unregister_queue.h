// The unregister queue: registered chunks in least-recently-used order, so that when pinned
// memory would exceed its budget the oldest idle chunk is unregistered first.
//
// An intrusive doubly linked list over dense chunk ids [0, capacity): O(1) insert, touch and
// remove, no allocation after construction. The caller decides what "busy" means (a write in
// flight, writes waiting for the chunk's key) and OldestIdle() never returns a busy chunk.
// Not thread-safe: owned by the RamSender's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace ftvm::ram {

class UnregisterQueue {
 public:
  explicit UnregisterQueue(uint32_t capacity);

  // Adds `id` as the most recently used chunk. It must not be queued.
  void Insert(uint32_t id);
  // Moves a queued `id` to the most recently used end.
  void Touch(uint32_t id);
  // Removes a queued `id`.
  void Remove(uint32_t id);

  bool Contains(uint32_t id) const { return prev_[id] != kNone; }
  uint32_t size() const { return size_; }

  // The least recently used queued id for which busy(id) is false; nullopt if all are busy.
  template <class Busy>
  std::optional<uint32_t> OldestIdle(Busy&& busy) const {
    for (uint32_t id = next_[sentinel_]; id != sentinel_; id = next_[id]) {
      if (!busy(id)) return id;
    }
    return std::nullopt;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  void Link(uint32_t id);
  void Unlink(uint32_t id);

  uint32_t sentinel_;           // == capacity; next_[sentinel_] is the LRU end
  std::vector<uint32_t> prev_;  // kNone when not queued
  std::vector<uint32_t> next_;
  uint32_t size_ = 0;
};

}  // namespace ftvm::ram
