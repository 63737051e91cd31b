// A complete small VM: guest memory (named RAM blocks), vCPUs on their own threads, devices
// (serial, control ports, shared-memory ring), dirty logging, pause/resume and state
// save/load. This is the vmm library's API for the layers above (colo/, app/).
//
//   MachineConfig config{.ram_bytes = 256 << 20, .guest = "dirtier", .guest_args = "rate=1000"};
//   FTVM_ASSIGN_OR_RETURN(auto vm, Machine::Create(config));   // booted, vCPUs parked
//   FTVM_TRY(vm->StartDirtyLog());
//   FTVM_TRY(vm->Resume());                                     // runs
//   FTVM_TRY(vm->Pause());           // returns when no vCPU is in the guest
//   FTVM_TRY(vm->HarvestDirty(bitmaps));                        // per RAM block
//   FTVM_ASSIGN_OR_RETURN(auto blob, vm->SaveState());          // CPU + devices, not RAM
//
// To continue a VM elsewhere: MachineConfig from ConfigFromState(blob) with boot = false,
// Create(), copy every RAM block's bytes, LoadState(blob), Resume().
//
// Thread safety: the control methods (Pause, Resume, Harvest, Save/Load, Stop) are called from
// one thread at a time; status getters and WaitForExit from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "vmm/devices/control.h"
#include "vmm/devices/ring.h"
#include "vmm/devices/serial.h"
#include "vmm/dirty_log.h"
#include "vmm/guest_memory.h"

namespace ftvm::vmm {

class Kvm;
class Vm;
class Vcpu;
class VcpuThread;
class IoBus;

struct MachineConfig {
  uint64_t ram_bytes = 64ull << 20;  // the "ram" block at GPA 0; >= 4 MiB, multiple of 2 MiB
  uint32_t vcpus = 1;
  std::string guest = "counter";     // a built-in guest (guests/guests.h)
  std::string guest_args;            // "key=value ..." (FTVM_ARGS_MAX - 1 bytes at most)
  bool boot = true;                  // false: leave RAM and registers for LoadState()
  uint64_t ring_bytes = 1ull << 20;  // the "ring" block (0: no ring device)
  bool irqchip = false;              // in-kernel PIC/IOAPIC/LAPIC + PIT (state is saved too)
  DirtyMode dirty_mode = DirtyMode::kAuto;
  uint32_t dirty_ring_entries = 65536;
  bool pin_vcpus = true;  // vCPU i on core (i + 1) % cores when there is more than one
  SerialOptions serial;
  RingHandler ring_handler;  // optional consumer of ring records (vCPU thread)
  std::string kvm_path = "/dev/kvm";
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> Create(MachineConfig config);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  const MachineConfig& config() const { return config_; }

  // ---- memory and dirty pages
  std::span<const RamBlock> ram_blocks() const;
  const GuestMemory& memory() const { return *memory_; }
  DirtyMode dirty_mode() const;
  Result<void> StartDirtyLog();
  Result<void> StopDirtyLog();
  // Per block (index as in ram_blocks()): pages written since the last harvest. Pause first
  // for an exact cut (see dirty_log.h).
  Result<void> HarvestDirty(DirtyBitmaps& out);
  // Writes guest memory for the host (the mailbox, ...) and tells the dirty log: KVM logs only
  // the guest's own writes, and a replica that missed a host write would differ from the
  // primary. While the VM runs the write happens now; while it is paused (or being paused) it
  // is queued and happens in Resume(), before any vCPU runs. So every host write falls inside
  // one run between two pauses and a checkpoint (pause, harvest, copy, resume) never sees it
  // half done. Any thread. kInvalidArgument if the range is not inside one RAM block.
  Result<void> WriteGuest(uint64_t gpa, std::span<const std::byte> bytes);
  template <typename T>
    requires std::is_trivially_copyable_v<T>
  Result<void> WriteGuest(uint64_t gpa, const T& value) {
    return WriteGuest(gpa, std::as_bytes(std::span(&value, 1)));
  }
  DirtyLogStats dirty_stats() const;

  // ---- run control (pause/resume return once every vCPU acknowledged, or kTimeout)
  Result<void> Resume(Nanos timeout = std::chrono::seconds(2));
  Result<void> Pause(Nanos timeout = std::chrono::seconds(2));
  bool paused() const { return paused_; }
  // The guest's exit code once it wrote one (the VM is then paused: safe to save or
  // snapshot); kTimeout, or the vCPU's error if one failed.
  Result<uint32_t> WaitForExit(Nanos timeout);
  // The first vCPU failure, if any.
  std::optional<Error> error() const;

  // ---- state (all vCPUs paused; RAM is not included: copy ram_blocks() separately)
  Result<std::vector<std::byte>> SaveState();
  Result<void> LoadState(std::span<const std::byte> blob);

  // ---- devices
  ControlDevice& control() { return *control_; }
  const SerialDevice& serial() const { return *serial_; }
  RingStats ring_stats() const;
  uint32_t tsc_khz() const { return tsc_khz_; }
  uint32_t vcpu_count() const { return static_cast<uint32_t>(vcpus_.size()); }
  // The host view of a guest page of the ABI (boot info, mailbox, status): docs/guest-abi.md.
  // Read it freely; write through WriteGuest(), which the dirty log hears of.
  std::span<std::byte> AbiPage(uint64_t gpa) const;

 private:
  explicit Machine(MachineConfig config);
  Result<void> Build();
  Result<void> CreateDevices();
  Result<void> Boot();
  Result<void> StartThreads();
  void OnVcpuFinished(uint32_t index, const std::optional<Error>& error);
  Result<void> RequireStopped(std::string_view what) const;
  Result<void> ApplyDeferredWritesLocked();

  // Declaration order is creation order; destruction runs in reverse: threads stop first, then
  // devices, vCPUs, the dirty log, the VM, and guest memory last.
  MachineConfig config_;
  std::unique_ptr<Kvm> kvm_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<Vm> vm_;
  std::unique_ptr<DirtyLog> dirty_log_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::unique_ptr<SerialDevice> serial_;
  std::unique_ptr<ControlDevice> control_;
  std::unique_ptr<RingDevice> ring_;
  std::unique_ptr<IoBus> bus_;
  std::vector<std::unique_ptr<VcpuThread>> threads_;
  uint32_t tsc_khz_ = 0;
  bool paused_ = true;
  struct HostWrite {
    uint64_t gpa;
    std::vector<std::byte> bytes;
  };
  std::mutex host_write_mu_;
  bool defer_host_writes_ = true;  // from the start of Pause() to the end of Resume()
  std::vector<HostWrite> deferred_writes_;
  mutable std::mutex error_mu_;
  std::optional<Error> error_;
};

// The mailbox fields (vmm/guests/abi.h), written through Machine::WriteGuest.
Result<void> SetMailboxGo(Machine& vm, uint64_t round);
Result<void> SetMailboxStop(Machine& vm);

// The MachineConfig saved in a state blob (guest, RAM size, vCPUs, ring, irqchip), with
// boot = false, ready for Create() + LoadState().
Result<MachineConfig> ConfigFromState(std::span<const std::byte> blob);

}  // namespace ftvm::vmm
