// The shared-memory ring device: the guest appends records to a ring in the "ring" RAM block
// (layout in vmm/guests/abi.h) and rings the doorbell (FTVM_PORT_RING_DOORBELL) once per batch;
// the vCPU thread that takes the doorbell exit consumes every complete record, hands it to the
// handler and publishes the new tail. One exit per batch instead of one per record (an exit
// costs ~70 us here). Reading the doorbell port returns the low 32 bits of records consumed.
//
// The guest is not trusted: the VMM keeps its own tail and data size, and a malformed record
// (bad length, past head) stops consumption for good (counted in errors(), logged once).
// Thread-safe (a mutex; doorbells from several vCPUs serialise).
#pragma once

#include <functional>
#include <mutex>

#include "vmm/devices/device.h"

namespace ftvm::vmm {

// Called on the vCPU thread for each record, in order; must not block for long.
using RingHandler = std::function<void(uint32_t type, std::span<const std::byte> payload)>;
// Told which bytes of the block (offset, length) the device wrote, so the dirty log sees them.
using HostWriteHook = std::function<void(uint64_t offset, uint64_t length)>;

struct RingStats {
  uint64_t doorbells = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
};

class RingDevice final : public Device {
 public:
  // `block` is the ring RAM block's host view (at least 8 KiB); the header is written now.
  // `on_write` (optional) hears of every later write the device makes to the block.
  RingDevice(std::span<std::byte> block, RingHandler handler, HostWriteHook on_write = {});

  std::string_view name() const override { return "ring"; }
  IoAction HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) override;
  void SaveState(WireWriter& out) const override;
  Result<void> LoadState(WireReader& in) override;

  RingStats stats() const;
  uint32_t data_size() const { return data_size_; }
  // Largest power of two that fits in a block of `block_bytes` after the header page.
  static uint32_t DataSizeFor(size_t block_bytes);

 private:
  void Consume();
  void PublishTail();

  std::span<std::byte> block_;
  RingHandler handler_;
  HostWriteHook on_write_;
  uint32_t data_size_;
  mutable std::mutex mu_;
  uint64_t tail_ = 0;
  bool broken_ = false;
  RingStats stats_;
};

}  // namespace ftvm::vmm
