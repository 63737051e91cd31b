// The guest's control ports (FTVM_PORT_CTL_*): exit code, heartbeat and "work done" reports,
// and the ABI version. Heartbeats carry a sequence number; one that is not the previous + 1
// counts as a gap, which is how a lost or replayed stretch of guest execution shows up.
// Thread-safe; waiters block on a condition variable.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "base/time.h"
#include "vmm/devices/device.h"

namespace ftvm::vmm {

struct ControlStatus {
  uint64_t heartbeats = 0;
  uint32_t last_heartbeat = 0;
  uint64_t heartbeat_gaps = 0;
  uint64_t work_done_events = 0;
  uint32_t last_work_done = 0;
  bool exited = false;  // the guest wrote its exit code
  uint32_t exit_code = 0;
  bool aborted = false;  // the VMM gave up on the guest (a vCPU failed); see Machine::error()
};

class ControlDevice final : public Device {
 public:
  std::string_view name() const override { return "control"; }
  IoAction HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) override;
  void SaveState(WireWriter& out) const override;
  Result<void> LoadState(WireReader& in) override;

  ControlStatus status() const;
  // Blocks until `done(status)` holds; false when the deadline passes first.
  bool WaitUntil(const std::function<bool(const ControlStatus&)>& done, Deadline deadline) const;
  // Marks the guest aborted and wakes every waiter.
  void Abort();

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  ControlStatus status_;
};

}  // namespace ftvm::vmm
