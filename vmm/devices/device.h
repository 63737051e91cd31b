// A port-I/O device on the VMM's I/O bus. vCPU threads call HandleIo concurrently (each device
// serialises itself); SaveState/LoadState run only while every vCPU is paused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/wire.h"

namespace ftvm::vmm {

enum class IoDirection : uint8_t { kIn, kOut };

enum class IoAction : uint8_t {
  kContinue,  // resume the guest
  kExitVm,    // the guest asked to stop (exit code recorded by the device)
};

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string_view name() const = 0;
  // One access of data.size() bytes (1, 2 or 4) at `port`; for kIn the device fills `data`.
  virtual IoAction HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) = 0;
  // Appends the device's state; LoadState reads exactly what SaveState wrote (the caller checks
  // that nothing is left over) and refuses values out of range with kCorrupt.
  virtual void SaveState(WireWriter& out) const = 0;
  virtual Result<void> LoadState(WireReader& in) = 0;
};

// Little-endian value of an I/O access (1, 2 or 4 bytes).
inline uint32_t IoValue(std::span<const std::byte> data) {
  uint32_t v = 0;
  for (size_t i = 0; i < data.size() && i < 4; ++i)
    v |= std::to_integer<uint32_t>(data[i]) << (8 * i);
  return v;
}
inline void SetIoValue(std::span<std::byte> data, uint32_t v) {
  for (size_t i = 0; i < data.size() && i < 4; ++i) data[i] = std::byte(v >> (8 * i));
}

}  // namespace ftvm::vmm
