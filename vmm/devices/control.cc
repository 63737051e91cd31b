#include "vmm/devices/control.h"

#include "vmm/guests/abi.h"
#include "vmm/trace_events.h"

namespace ftvm::vmm {

IoAction ControlDevice::HandleIo(uint16_t port, IoDirection direction, std::span<std::byte> data) {
  if (direction == IoDirection::kIn) {
    SetIoValue(data, port == FTVM_PORT_CTL_ABI ? FTVM_ABI_VERSION : 0);
    return IoAction::kContinue;
  }
  const uint32_t value = IoValue(data);
  IoAction action = IoAction::kContinue;
  {
    std::lock_guard lock(mu_);
    switch (port) {
      case FTVM_PORT_CTL_EXIT:
        status_.exited = true;
        status_.exit_code = value;
        action = IoAction::kExitVm;
        break;
      case FTVM_PORT_CTL_HEARTBEAT:
        if (status_.heartbeats > 0 && value != status_.last_heartbeat + 1) ++status_.heartbeat_gaps;
        ++status_.heartbeats;
        status_.last_heartbeat = value;
        trace_vmm_guest_heartbeat(value);
        break;
      case FTVM_PORT_CTL_WORK_DONE:
        ++status_.work_done_events;
        status_.last_work_done = value;
        break;
      default:
        break;
    }
  }
  cv_.notify_all();
  return action;
}

ControlStatus ControlDevice::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

bool ControlDevice::WaitUntil(const std::function<bool(const ControlStatus&)>& done,
                              Deadline deadline) const {
  std::unique_lock lock(mu_);
  while (!done(status_)) {
    if (deadline.expired()) return false;
    if (deadline.never()) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, deadline.remaining());
    }
  }
  return true;
}

void ControlDevice::Abort() {
  {
    std::lock_guard lock(mu_);
    status_.aborted = true;
  }
  cv_.notify_all();
}

void ControlDevice::SaveState(WireWriter& out) const {
  std::lock_guard lock(mu_);
  out.Put(status_.heartbeats).Put(status_.last_heartbeat).Put(status_.heartbeat_gaps);
  out.Put(status_.work_done_events).Put(status_.last_work_done);
  // A guest that exited stays exited where the state is loaded: its vCPU would otherwise
  // resume after the exit port write, in the idle loop, and never exit again.
  out.Put(uint8_t{status_.exited}).Put(status_.exit_code);
}

Result<void> ControlDevice::LoadState(WireReader& in) {
  std::lock_guard lock(mu_);
  status_ = ControlStatus{};
  status_.heartbeats = in.Get<uint64_t>();
  status_.last_heartbeat = in.Get<uint32_t>();
  status_.heartbeat_gaps = in.Get<uint64_t>();
  status_.work_done_events = in.Get<uint64_t>();
  status_.last_work_done = in.Get<uint32_t>();
  status_.exited = in.Get<uint8_t>() != 0;
  status_.exit_code = in.Get<uint32_t>();
  return {};
}

}  // namespace ftvm::vmm
