#include "vmm/devices/io_bus.h"

#include <algorithm>

#include "vmm/log.h"

namespace ftvm::vmm {

Result<void> IoBus::Register(uint16_t first_port, uint16_t count, Device* device) {
  const uint32_t end = uint32_t{first_port} + count;
  for (const Range& r : ranges_) {
    if (first_port < r.first + r.count && r.first < end) {
      return Fail(ErrorCode::kInvalidArgument, "ports {:#x}+{} of {} overlap {}", first_port, count,
                  device->name(), r.device->name());
    }
  }
  ranges_.push_back({first_port, count, device});
  return {};
}

IoAction IoBus::Dispatch(uint16_t port, IoDirection direction, std::span<std::byte> data) {
  for (const Range& r : ranges_) {
    if (port >= r.first && port - r.first < r.count) {
      return r.device->HandleIo(port, direction, data);
    }
  }
  if (unclaimed_.fetch_add(1, std::memory_order_relaxed) == 0) {
    Log().warn("guest accessed unclaimed port {:#x} (further ones counted, not logged)", port);
  }
  if (direction == IoDirection::kIn) std::fill(data.begin(), data.end(), std::byte{0xff});
  return IoAction::kContinue;
}

}  // namespace ftvm::vmm
