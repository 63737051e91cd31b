// Machine::SaveState / LoadState: the VM-wide sections, the devices, and every vCPU
// (vcpu_state.cc), in one VmState blob.
#include "base/wire.h"
#include "vmm/devices/io_bus.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/trace_events.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_state.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

namespace ftvm::vmm {
namespace {

constexpr std::array kIrqchips = {std::pair{KVM_IRQCHIP_PIC_MASTER, "vm.irqchip.pic0"},
                                  std::pair{KVM_IRQCHIP_PIC_SLAVE, "vm.irqchip.pic1"},
                                  std::pair{KVM_IRQCHIP_IOAPIC, "vm.irqchip.ioapic"}};

std::vector<std::byte> EncodeConfig(const MachineConfig& c) {
  std::vector<std::byte> out;
  WireWriter w(&out);
  w.Put(c.ram_bytes).Put(c.vcpus).Put(c.ring_bytes).Put(uint8_t{c.irqchip});
  w.PutString16(c.guest).PutString16(c.guest_args);
  return out;
}

std::vector<std::byte> SaveDevice(const Device& device) {
  std::vector<std::byte> out;
  WireWriter w(&out);
  device.SaveState(w);
  return out;
}

Result<void> LoadDevice(Device& device, const VmState& state, std::string_view name) {
  FTVM_ASSIGN_OR_RETURN(auto bytes, state.Get(name));
  WireReader r(bytes);
  FTVM_TRY_CTX(device.LoadState(r), name);
  if (auto done = r.Finish(name); !done) {
    return Fail(ErrorCode::kCorrupt, "{}", done.error().context());
  }
  return {};
}

}  // namespace

Result<MachineConfig> ConfigFromState(std::span<const std::byte> blob) {
  FTVM_ASSIGN_OR_RETURN(const VmState state, VmState::Decode(blob));
  FTVM_ASSIGN_OR_RETURN(auto bytes, state.Get("machine.config"));
  WireReader r(bytes);
  MachineConfig c;
  c.ram_bytes = r.Get<uint64_t>();
  c.vcpus = r.Get<uint32_t>();
  c.ring_bytes = r.Get<uint64_t>();
  c.irqchip = r.Get<uint8_t>() != 0;
  c.guest = std::string(r.GetString16());
  c.guest_args = std::string(r.GetString16());
  if (auto done = r.Finish("machine.config"); !done) {
    return Fail(ErrorCode::kCorrupt, "{}", done.error().context());
  }
  c.boot = false;
  return c;
}

Result<std::vector<std::byte>> Machine::SaveState() {
  FTVM_TRY(RequireStopped("save state"));
  const Stopwatch watch;
  VmState state;
  state.Put("machine.config", EncodeConfig(config_));
  FTVM_ASSIGN_OR_RETURN(auto clock, vm_->GetClock());
  state.PutStruct("vm.clock", clock);
  if (vm_->has_irqchip()) {
    for (const auto& [id, name] : kIrqchips) {
      kvm_irqchip chip{};
      chip.chip_id = id;
      FTVM_TRY(vm_->GetIrqchip(chip));
      state.PutStruct(name, chip);
    }
    FTVM_ASSIGN_OR_RETURN(auto pit, vm_->GetPit());
    state.PutStruct("vm.pit2", pit);
  }
  for (const auto& vcpu : vcpus_) FTVM_TRY(SaveVcpuState(*kvm_, *vm_, *vcpu, state));
  state.Put("dev.serial", SaveDevice(*serial_));
  state.Put("dev.control", SaveDevice(*control_));
  if (ring_) state.Put("dev.ring", SaveDevice(*ring_));
  auto blob = state.Encode();
  trace_vmm_state_save(blob.size(), watch.ElapsedNs());
  return blob;
}

Result<void> Machine::LoadState(std::span<const std::byte> blob) {
  FTVM_TRY(RequireStopped("load state"));
  const Stopwatch watch;
  FTVM_ASSIGN_OR_RETURN(const VmState state, VmState::Decode(blob));
  FTVM_ASSIGN_OR_RETURN(const MachineConfig saved, ConfigFromState(blob));
  if (saved.ram_bytes != config_.ram_bytes || saved.vcpus != config_.vcpus ||
      saved.ring_bytes != config_.ring_bytes || saved.irqchip != config_.irqchip) {
    return Fail(ErrorCode::kInvalidArgument,
                "state is for {} RAM, {} vCPU(s), ring {}, irqchip {}; this VM has {}, {}, {}, {}",
                saved.ram_bytes, saved.vcpus, saved.ring_bytes, saved.irqchip, config_.ram_bytes,
                config_.vcpus, config_.ring_bytes, config_.irqchip);
  }
  for (const auto& vcpu : vcpus_) {
    FTVM_TRY_CTX(LoadVcpuState(*vm_, *vcpu, state), fmt::format("vCPU {}", vcpu->index()));
  }
  FTVM_ASSIGN_OR_RETURN(auto clock, state.GetStruct<kvm_clock_data>("vm.clock"));
  FTVM_TRY(vm_->SetClock(clock));
  if (vm_->has_irqchip()) {
    for (const auto& [id, name] : kIrqchips) {
      FTVM_ASSIGN_OR_RETURN(auto chip, state.GetStruct<kvm_irqchip>(name));
      FTVM_TRY_CTX(vm_->SetIrqchip(chip), name);
    }
    FTVM_ASSIGN_OR_RETURN(auto pit, state.GetStruct<kvm_pit_state2>("vm.pit2"));
    FTVM_TRY(vm_->SetPit(pit));
  }
  FTVM_TRY(LoadDevice(*serial_, state, "dev.serial"));
  FTVM_TRY(LoadDevice(*control_, state, "dev.control"));
  if (ring_) FTVM_TRY(LoadDevice(*ring_, state, "dev.ring"));
  trace_vmm_state_load(blob.size(), watch.ElapsedNs());
  Log().debug("state loaded: {} sections, {} bytes", state.sections().size(), blob.size());
  return {};
}

}  // namespace ftvm::vmm
