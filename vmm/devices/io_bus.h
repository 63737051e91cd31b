// Routes port I/O exits to devices by port range. Ranges are registered before the vCPUs run
// and never change afterwards, so Dispatch needs no lock. Unclaimed ports read as all ones and
// ignore writes (as on a PC), counted in unclaimed_accesses().
#pragma once

#include <atomic>
#include <vector>

#include "vmm/devices/device.h"

namespace ftvm::vmm {

class IoBus {
 public:
  // Claims [first_port, first_port + count) for `device` (not owned; must outlive the bus).
  Result<void> Register(uint16_t first_port, uint16_t count, Device* device);
  IoAction Dispatch(uint16_t port, IoDirection direction, std::span<std::byte> data);
  uint64_t unclaimed_accesses() const { return unclaimed_.load(std::memory_order_relaxed); }

 private:
  struct Range {
    uint16_t first;
    uint16_t count;
    Device* device;
  };
  std::vector<Range> ranges_;
  std::atomic<uint64_t> unclaimed_{0};
};

}  // namespace ftvm::vmm
