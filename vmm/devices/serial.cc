#include "vmm/devices/serial.h"

#include <cstdio>

#include "vmm/guests/abi.h"
#include "vmm/log.h"

namespace ftvm::vmm {
namespace {
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLsrIdle = 0x60;  // THR empty, transmitter empty
constexpr uint8_t kMsrIdle = 0xb0;  // DCD, DSR, CTS
constexpr uint8_t kIirNone = 0x01;  // no interrupt pending
constexpr size_t kMaxLine = 4096;
}  // namespace

IoAction SerialDevice::HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) {
  std::lock_guard lock(mu_);
  const unsigned reg = port - FTVM_PORT_SERIAL;
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  if (direction == IoDirection::kOut) {
    const auto v = static_cast<uint8_t>(IoValue(data));
    switch (reg) {
      case 0:
        dlab ? void(dll_ = v) : Emit(static_cast<char>(v));
        break;
      case 1:
        (dlab ? dlm_ : ier_) = v;
        break;
      case 2:
        fcr_ = v;
        break;
      case 3:
        lcr_ = v;
        break;
      case 4:
        mcr_ = v;
        break;
      case 7:
        scr_ = v;
        break;
      default:
        break;
    }
    return IoAction::kContinue;
  }
  uint8_t v = 0;
  switch (reg) {
    case 0:
      v = dlab ? dll_ : 0;
      break;
    case 1:
      v = dlab ? dlm_ : ier_;
      break;
    case 2:
      v = kIirNone;
      break;
    case 3:
      v = lcr_;
      break;
    case 4:
      v = mcr_;
      break;
    case 5:
      v = kLsrIdle;
      break;
    case 6:
      v = kMsrIdle;
      break;
    case 7:
      v = scr_;
      break;
    default:
      break;
  }
  SetIoValue(data, v);
  return IoAction::kContinue;
}

void SerialDevice::Emit(char c) {
  ++bytes_written_;
  if (options_.capture_bytes > 0) {
    capture_.push_back(c);
    if (capture_.size() > 2 * options_.capture_bytes) {
      capture_.erase(0, capture_.size() - options_.capture_bytes);
    }
  }
  if (c != '\n' && line_.size() < kMaxLine) {
    line_.push_back(c);
    return;
  }
  if (options_.to_log) Log().info("guest: {}", line_);
  if (options_.to_stdout) std::fprintf(stdout, "%s\n", line_.c_str()), std::fflush(stdout);
  line_.clear();
  if (c != '\n') line_.push_back(c);
}

std::string SerialDevice::Output() const {
  std::lock_guard lock(mu_);
  if (capture_.size() <= options_.capture_bytes) return capture_;
  return capture_.substr(capture_.size() - options_.capture_bytes);
}

uint64_t SerialDevice::bytes_written() const {
  std::lock_guard lock(mu_);
  return bytes_written_;
}

void SerialDevice::SaveState(WireWriter& out) const {
  std::lock_guard lock(mu_);
  out.Put(ier_).Put(lcr_).Put(mcr_).Put(scr_).Put(dll_).Put(dlm_).Put(fcr_);
  out.Put(bytes_written_);
  out.PutString16(line_);
}

Result<void> SerialDevice::LoadState(WireReader& in) {
  std::lock_guard lock(mu_);
  ier_ = in.Get<uint8_t>();
  lcr_ = in.Get<uint8_t>();
  mcr_ = in.Get<uint8_t>();
  scr_ = in.Get<uint8_t>();
  dll_ = in.Get<uint8_t>();
  dlm_ = in.Get<uint8_t>();
  fcr_ = in.Get<uint8_t>();
  bytes_written_ = in.Get<uint64_t>();
  line_ = std::string(in.GetString16());
  if (line_.size() > kMaxLine) in.Invalidate("serial line longer than 4096 bytes");
  return {};
}

}  // namespace ftvm::vmm
