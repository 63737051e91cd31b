#include "ram/unregister_queue.h"

#include "base/check.h"

namespace ftvm::ram {

UnregisterQueue::UnregisterQueue(uint32_t capacity)
    : sentinel_(capacity), prev_(capacity + 1, kNone), next_(capacity + 1, kNone) {
  prev_[sentinel_] = sentinel_;
  next_[sentinel_] = sentinel_;
}

void UnregisterQueue::Insert(uint32_t id) {
  FTVM_CHECK(id < sentinel_ && !Contains(id), "insert chunk {}", id);
  Link(id);
  ++size_;
}

void UnregisterQueue::Touch(uint32_t id) {
  FTVM_CHECK(id < sentinel_ && Contains(id), "touch chunk {}", id);
  Unlink(id);
  Link(id);
}

void UnregisterQueue::Remove(uint32_t id) {
  FTVM_CHECK(id < sentinel_ && Contains(id), "remove chunk {}", id);
  Unlink(id);
  --size_;
}

void UnregisterQueue::Link(uint32_t id) {  // at the MRU end, just before the sentinel
  const uint32_t last = prev_[sentinel_];
  next_[last] = id;
  prev_[id] = last;
  next_[id] = sentinel_;
  prev_[sentinel_] = id;
}

void UnregisterQueue::Unlink(uint32_t id) {
  next_[prev_[id]] = next_[id];
  prev_[next_[id]] = prev_[id];
  prev_[id] = kNone;
  next_[id] = kNone;
}

}  // namespace ftvm::ram
