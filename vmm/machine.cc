#include "vmm/machine.h"

#include <unistd.h>

#include <cstring>
#include <thread>

#include "base/check.h"
#include "base/strings.h"
#include "vmm/devices/io_bus.h"
#include "vmm/guests/abi.h"
#include "vmm/guests/guests.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/trace_events.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_thread.h"
#include "vmm/vm.h"
#include "vmm/x86_boot.h"

namespace ftvm::vmm {
namespace {

constexpr uint64_t k2MiB = 2ull << 20;

Result<void> ValidateConfig(const MachineConfig& c) {
  if (c.ram_bytes < 2 * k2MiB || c.ram_bytes % k2MiB != 0) {
    return Fail(ErrorCode::kInvalidArgument, "RAM size {} must be >= 4 MiB and a multiple of 2 MiB",
                c.ram_bytes);
  }
  if (c.vcpus == 0 || c.vcpus > FTVM_MAX_VCPUS) {
    return Fail(ErrorCode::kInvalidArgument, "{} vCPUs: 1 to {} supported", c.vcpus,
                FTVM_MAX_VCPUS);
  }
  if (c.guest_args.size() >= FTVM_ARGS_MAX) {
    return Fail(ErrorCode::kInvalidArgument, "guest arguments longer than {} bytes",
                FTVM_ARGS_MAX - 1);
  }
  if (c.ring_bytes != 0 && RingDevice::DataSizeFor(c.ring_bytes) == 0) {
    return Fail(ErrorCode::kInvalidArgument, "ring block of {} bytes is too small", c.ring_bytes);
  }
  if (FindGuest(c.guest) == nullptr) {
    return Fail(ErrorCode::kNotFound, "no built-in guest '{}'", c.guest);
  }
  return {};
}

std::vector<RamBlockSpec> Layout(const MachineConfig& c) {
  std::vector<RamBlockSpec> blocks = {{"ram", 0, c.ram_bytes}};
  if (c.ring_bytes != 0) {
    blocks.push_back({"ring", c.ram_bytes, (c.ring_bytes + kPageSize - 1) & ~(kPageSize - 1)});
  }
  return blocks;
}

// A host write into guest memory, reported to the dirty log (KVM logs only the guest's).
Result<void> WriteAndMark(const GuestMemory& memory, DirtyLog& log, uint64_t gpa,
                          std::span<const std::byte> bytes) {
  FTVM_ASSIGN_OR_RETURN(std::span<std::byte> target, memory.Translate(gpa, bytes.size()));
  std::memcpy(target.data(), bytes.data(), bytes.size());
  return log.MarkWritten(gpa, bytes.size());
}

}  // namespace

Machine::Machine(MachineConfig config) : config_(std::move(config)) {}

Machine::~Machine() {
  for (auto& t : threads_) t->Stop();
}

Result<std::unique_ptr<Machine>> Machine::Create(MachineConfig config) {
  FTVM_TRY(ValidateConfig(config));
  std::unique_ptr<Machine> m(new Machine(std::move(config)));
  FTVM_TRY_CTX(m->Build(), "create VM");
  Log().info("VM created: guest {}, {} RAM, {} vCPU(s), dirty log {}", m->config_.guest,
             FormatBytes(m->config_.ram_bytes), m->config_.vcpus,
             DirtyModeName(m->dirty_log_->mode()));
  return m;
}

Result<void> Machine::Build() {
  FTVM_ASSIGN_OR_RETURN(Kvm kvm, Kvm::Open(config_.kvm_path.c_str()));
  kvm_ = std::make_unique<Kvm>(std::move(kvm));
  FTVM_ASSIGN_OR_RETURN(GuestMemory memory, GuestMemory::Create(Layout(config_)));
  memory_ = std::make_unique<GuestMemory>(std::move(memory));
  FTVM_ASSIGN_OR_RETURN(Vm vm, Vm::Create(*kvm_));
  vm_ = std::make_unique<Vm>(std::move(vm));
  if (config_.irqchip) {
    FTVM_TRY(vm_->CreateIrqchip());
    FTVM_TRY(vm_->CreatePit());
  }
  for (const RamBlock& b : memory_->blocks()) {
    FTVM_TRY(vm_->SetMemoryRegion(b.slot(), b.gpa(), b.size(), b.hva(), 0));
  }
  FTVM_ASSIGN_OR_RETURN(
      dirty_log_, DirtyLog::Create(*vm_, *memory_, config_.dirty_mode, config_.dirty_ring_entries));
  std::vector<Vcpu*> raw;
  for (uint32_t i = 0; i < config_.vcpus; ++i) {
    FTVM_ASSIGN_OR_RETURN(Vcpu vcpu, Vcpu::Create(*kvm_, *vm_, i, dirty_log_->ring_entries()));
    vcpus_.push_back(std::make_unique<Vcpu>(std::move(vcpu)));
    raw.push_back(vcpus_.back().get());
  }
  dirty_log_->AttachVcpus(std::move(raw));
  tsc_khz_ = vcpus_[0]->TscKhz();
  FTVM_TRY(CreateDevices());
  if (config_.boot) FTVM_TRY_CTX(Boot(), "boot " + config_.guest);
  return StartThreads();
}

Result<void> Machine::CreateDevices() {
  serial_ = std::make_unique<SerialDevice>(config_.serial);
  control_ = std::make_unique<ControlDevice>();
  bus_ = std::make_unique<IoBus>();
  FTVM_TRY(bus_->Register(FTVM_PORT_SERIAL, 8, serial_.get()));
  FTVM_TRY(bus_->Register(FTVM_PORT_CTL_EXIT, 16, control_.get()));
  if (const RamBlock* ring = memory_->Find("ring")) {
    // The tail the device publishes is a host write the dirty log must hear of.
    ring_ = std::make_unique<RingDevice>(
        ring->bytes(), config_.ring_handler, [this, gpa = ring->gpa()](uint64_t off, uint64_t len) {
          if (auto marked = dirty_log_->MarkWritten(gpa + off, len); !marked) {
            Log().error("ring: {}", marked.error().ToString());
          }
        });
    FTVM_TRY(bus_->Register(FTVM_PORT_RING_DOORBELL, 4, ring_.get()));
  }
  return {};
}

Result<void> Machine::Boot() {
  const GuestImage* image = FindGuest(config_.guest);
  if (image->bytes.size() > FTVM_IMAGE_MAX_BYTES) {
    return Fail(ErrorCode::kInvalidArgument, "guest image of {} bytes is too large",
                image->bytes.size());
  }
  FTVM_TRY(WriteLongModeTables(*memory_));
  FTVM_ASSIGN_OR_RETURN(auto code, memory_->Translate(FTVM_IMAGE_GPA, image->bytes.size()));
  std::memcpy(code.data(), image->bytes.data(), image->bytes.size());

  ftvm_boot_info info{};
  info.magic = FTVM_BOOT_MAGIC;
  info.abi_version = FTVM_ABI_VERSION;
  info.vcpu_count = config_.vcpus;
  info.ram_gpa = 0;
  info.ram_size = config_.ram_bytes;
  info.data_gpa = FTVM_DATA_GPA;
  info.tsc_khz = tsc_khz_;
  if (const RamBlock* ring = memory_->Find("ring")) {
    info.ring_gpa = ring->gpa();
    info.ring_size = ring->size();
  }
  std::memcpy(info.args, config_.guest_args.data(), config_.guest_args.size());
  std::memcpy(AbiPage(FTVM_BOOT_INFO_GPA).data(), &info, sizeof(info));
  for (auto& vcpu : vcpus_) {
    const InitialRegisters regs{.rip = FTVM_IMAGE_GPA,
                                .rsp = FTVM_STACK_TOP_GPA - vcpu->index() * FTVM_STACK_SIZE,
                                .rdi = FTVM_BOOT_INFO_GPA,
                                .rsi = vcpu->index()};
    FTVM_TRY_CTX(SetLongModeState(*vcpu, regs), fmt::format("vCPU {}", vcpu->index()));
  }
  return {};
}

Result<void> Machine::StartThreads() {
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  for (auto& vcpu : vcpus_) {
    VcpuHooks hooks;
    hooks.bus = bus_.get();
    hooks.on_dirty_ring_full = [this](Vcpu& v) { return dirty_log_->DrainRing(v); };
    hooks.on_finish = [this](uint32_t i, const std::optional<Error>& e) { OnVcpuFinished(i, e); };
    const int cpu =
        config_.pin_vcpus && cores > 1 ? static_cast<int>((vcpu->index() + 1) % cores) : -1;
    FTVM_ASSIGN_OR_RETURN(auto thread, VcpuThread::Start(*vcpu, std::move(hooks), cpu));
    threads_.push_back(std::move(thread));
  }
  return {};
}

void Machine::OnVcpuFinished(uint32_t index, const std::optional<Error>& error) {
  if (error) {
    {
      std::lock_guard lock(error_mu_);
      if (!error_) error_ = Error(*error).Wrap(fmt::format("vCPU {}", index));
    }
    control_->Abort();
  } else {
    Log().info("guest exited with code {}", control_->status().exit_code);
  }
  // The guest is over: park the other vCPUs so they stop spinning.
  for (auto& t : threads_) {
    if (t->index() != index) t->RequestPause();
  }
}

std::optional<Error> Machine::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

std::span<const RamBlock> Machine::ram_blocks() const { return memory_->blocks(); }
DirtyMode Machine::dirty_mode() const { return dirty_log_->mode(); }
Result<void> Machine::StartDirtyLog() { return dirty_log_->Start(); }
Result<void> Machine::StopDirtyLog() { return dirty_log_->Stop(); }
Result<void> Machine::HarvestDirty(DirtyBitmaps& out) { return dirty_log_->Harvest(out); }
Result<void> Machine::WriteGuest(uint64_t gpa, std::span<const std::byte> bytes) {
  FTVM_TRY(memory_->Translate(gpa, bytes.size()));  // refuse a bad range now, not at Resume
  std::lock_guard lock(host_write_mu_);
  if (defer_host_writes_) {
    deferred_writes_.push_back({gpa, {bytes.begin(), bytes.end()}});
    return {};
  }
  return WriteAndMark(*memory_, *dirty_log_, gpa, bytes);
}

Result<void> Machine::ApplyDeferredWritesLocked() {
  for (const HostWrite& w : deferred_writes_)
    FTVM_TRY(WriteAndMark(*memory_, *dirty_log_, w.gpa, w.bytes));
  deferred_writes_.clear();
  return {};
}

DirtyLogStats Machine::dirty_stats() const { return dirty_log_->stats(); }

RingStats Machine::ring_stats() const { return ring_ ? ring_->stats() : RingStats{}; }

std::span<std::byte> Machine::AbiPage(uint64_t gpa) const {
  auto page = memory_->Translate(gpa, kPageSize);
  FTVM_CHECK(page.has_value(), "ABI page {:#x} outside RAM", gpa);
  return *page;
}

Result<void> Machine::Pause(Nanos timeout) {
  const Stopwatch watch;
  const Deadline deadline(timeout);
  {
    std::lock_guard lock(host_write_mu_);
    defer_host_writes_ = true;
  }
  for (auto& t : threads_) t->RequestPause();
  for (auto& t : threads_) FTVM_TRY(t->WaitPaused(deadline));
  paused_ = true;
  trace_vmm_pause(vcpu_count(), watch.ElapsedNs());
  return {};
}

Result<void> Machine::Resume(Nanos timeout) {
  if (auto e = error()) return Fail(Error(*e).Wrap("cannot resume"));
  if (control_->status().exited) return Fail(ErrorCode::kClosed, "the guest has exited");
  const Stopwatch watch;
  const Deadline deadline(timeout);
  {
    std::lock_guard lock(host_write_mu_);
    FTVM_TRY_CTX(ApplyDeferredWritesLocked(), "host writes queued while paused");
    defer_host_writes_ = false;
  }
  for (auto& t : threads_) FTVM_TRY(t->Resume(deadline));
  paused_ = false;
  trace_vmm_resume(vcpu_count(), watch.ElapsedNs());
  return {};
}

Result<uint32_t> Machine::WaitForExit(Nanos timeout) {
  const bool done = control_->WaitUntil(
      [](const ControlStatus& s) { return s.exited || s.aborted; }, Deadline(timeout));
  if (auto e = error()) return Fail(*e);
  if (!done) {
    return Fail(ErrorCode::kTimeout, "guest still running after {} ms",
                std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  }
  // The exiting vCPU thread may still be on its way out: wait until none is in the guest.
  FTVM_TRY(Pause());
  return control_->status().exit_code;
}

Result<void> Machine::RequireStopped(std::string_view what) const {
  for (const auto& t : threads_) {
    if (t->state() == VcpuState::kRunning) {
      return Fail(ErrorCode::kInvalidArgument, "{}: vCPU {} is running (pause first)", what,
                  t->index());
    }
  }
  return {};
}

Result<void> SetMailboxGo(Machine& vm, uint64_t round) {
  return vm.WriteGuest(FTVM_MAILBOX_GPA + offsetof(ftvm_mailbox, go), round);
}
Result<void> SetMailboxStop(Machine& vm) {
  return vm.WriteGuest(FTVM_MAILBOX_GPA + offsetof(ftvm_mailbox, stop), uint64_t{1});
}

}  // namespace ftvm::vmm
