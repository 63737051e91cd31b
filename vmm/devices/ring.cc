#include "vmm/devices/ring.h"

#include <atomic>
#include <bit>
#include <cstring>

#include "vmm/guests/abi.h"
#include "vmm/log.h"
#include "vmm/trace_events.h"

namespace ftvm::vmm {
namespace {

ftvm_ring_header* Header(std::span<std::byte> block) {
  return reinterpret_cast<ftvm_ring_header*>(block.data());
}

// The guest writes head with an ordinary store after the record; pair it with an acquire.
uint64_t LoadAcquire(volatile uint64_t& v) {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(v)).load(std::memory_order_acquire);
}
void StoreRelease(volatile uint64_t& v, uint64_t value) {
  std::atomic_ref<uint64_t>(const_cast<uint64_t&>(v)).store(value, std::memory_order_release);
}

}  // namespace

uint32_t RingDevice::DataSizeFor(size_t block_bytes) {
  if (block_bytes < 2 * FTVM_RING_DATA_OFFSET) return 0;
  const uint64_t room = std::min<uint64_t>(block_bytes - FTVM_RING_DATA_OFFSET, 1u << 30);
  return static_cast<uint32_t>(std::bit_floor(room));
}

RingDevice::RingDevice(std::span<std::byte> block, RingHandler handler, HostWriteHook on_write)
    : block_(block),
      handler_(std::move(handler)),
      on_write_(std::move(on_write)),
      data_size_(DataSizeFor(block.size())) {
  ftvm_ring_header* h = Header(block_);
  h->magic = FTVM_RING_MAGIC;
  h->data_size = data_size_;
  h->head = 0;
  h->tail = 0;
  h->records_consumed = 0;
}

IoAction RingDevice::HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) {
  std::lock_guard lock(mu_);
  if (port != FTVM_PORT_RING_DOORBELL) {
    if (direction == IoDirection::kIn) SetIoValue(data, 0);
    return IoAction::kContinue;
  }
  if (direction == IoDirection::kIn) {
    SetIoValue(data, static_cast<uint32_t>(stats_.records));
    return IoAction::kContinue;
  }
  ++stats_.doorbells;
  Consume();
  return IoAction::kContinue;
}

void RingDevice::Consume() {
  if (broken_) return;
  const uint64_t head = LoadAcquire(Header(block_)->head);
  const std::byte* data = block_.data() + FTVM_RING_DATA_OFFSET;
  const uint64_t before_records = stats_.records, before_bytes = stats_.bytes;
  while (tail_ < head) {
    const uint64_t at = tail_ & (data_size_ - 1);
    ftvm_ring_record record;
    const uint64_t room = std::min<uint64_t>(data_size_ - at, head - tail_);
    if (room < sizeof(record)) {
      broken_ = true;
      break;
    }
    std::memcpy(&record, data + at, sizeof(record));
    const uint64_t total = sizeof(record) + ((uint64_t{record.length} + 7) & ~7ull);
    if (total > room) {
      broken_ = true;
      break;
    }
    if (record.type != FTVM_RING_TYPE_PAD) {
      if (handler_) handler_(record.type, {data + at + sizeof(record), record.length});
      ++stats_.records;
      stats_.bytes += record.length;
    }
    tail_ += total;
  }
  if (broken_) {
    ++stats_.errors;
    Log().error("ring: malformed record at byte {} (head {}); ring stopped", tail_, head);
  }
  PublishTail();
  trace_vmm_ring_doorbell(stats_.records - before_records, stats_.bytes - before_bytes);
}

void RingDevice::PublishTail() {
  ftvm_ring_header* h = Header(block_);
  h->records_consumed = stats_.records;
  StoreRelease(h->tail, tail_);
  if (on_write_) on_write_(0, sizeof(ftvm_ring_header));
}

RingStats RingDevice::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void RingDevice::SaveState(WireWriter& out) const {
  std::lock_guard lock(mu_);
  out.Put(tail_).Put(uint8_t{broken_}).Put(stats_.doorbells).Put(stats_.records);
  out.Put(stats_.bytes).Put(stats_.errors);
}

Result<void> RingDevice::LoadState(WireReader& in) {
  std::lock_guard lock(mu_);
  tail_ = in.Get<uint64_t>();
  broken_ = in.Get<uint8_t>() != 0;
  stats_.doorbells = in.Get<uint64_t>();
  stats_.records = in.Get<uint64_t>();
  stats_.bytes = in.Get<uint64_t>();
  stats_.errors = in.Get<uint64_t>();
  return {};
}

}  // namespace ftvm::vmm
