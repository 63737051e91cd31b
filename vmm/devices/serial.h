// A 16550-style UART at FTVM_PORT_SERIAL (8 ports). Transmit only: bytes written to THR are
// assembled into lines and sent to the vmm log and/or stdout; the last `capture_bytes` of
// output are kept for callers (tests, `ftvm run`). The receiver is always empty; the
// transmitter is always ready (LSR = THRE | TEMT). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "vmm/devices/device.h"

namespace ftvm::vmm {

struct SerialOptions {
  bool to_log = true;
  bool to_stdout = false;
  size_t capture_bytes = 64 * 1024;
};

class SerialDevice final : public Device {
 public:
  explicit SerialDevice(SerialOptions options) : options_(options) {}

  std::string_view name() const override { return "serial"; }
  IoAction HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) override;
  void SaveState(WireWriter& out) const override;
  Result<void> LoadState(WireReader& in) override;

  // The captured output (at most capture_bytes, the most recent).
  std::string Output() const;
  uint64_t bytes_written() const;

 private:
  void Emit(char c);

  const SerialOptions options_;
  mutable std::mutex mu_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, dll_ = 1, dlm_ = 0, fcr_ = 0;
  std::string line_;
  std::string capture_;
  uint64_t bytes_written_ = 0;
};

}  // namespace ftvm::vmm
