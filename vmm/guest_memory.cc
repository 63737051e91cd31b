#include "vmm/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "vmm/log.h"

namespace ftvm::vmm {
namespace {

Result<void> ValidateSpecs(const std::vector<RamBlockSpec>& specs) {
  if (specs.empty()) return Fail(ErrorCode::kInvalidArgument, "no RAM blocks");
  for (size_t i = 0; i < specs.size(); ++i) {
    const RamBlockSpec& s = specs[i];
    if (s.name.empty()) return Fail(ErrorCode::kInvalidArgument, "RAM block {} has no name", i);
    if (s.size == 0 || s.size % kPageSize != 0 || s.gpa % kPageSize != 0 ||
        s.gpa + s.size < s.gpa) {
      return Fail(ErrorCode::kInvalidArgument,
                  "RAM block {}: gpa {:#x} size {:#x} not page aligned", s.name, s.gpa, s.size);
    }
    for (size_t j = 0; j < i; ++j) {
      const RamBlockSpec& o = specs[j];
      if (o.name == s.name) return Fail(ErrorCode::kInvalidArgument, "two RAM blocks '{}'", s.name);
      if (s.gpa < o.gpa + o.size && o.gpa < s.gpa + s.size) {
        return Fail(ErrorCode::kInvalidArgument, "RAM blocks {} and {} overlap", o.name, s.name);
      }
    }
  }
  return {};
}

}  // namespace

Result<GuestMemory> GuestMemory::Create(std::vector<RamBlockSpec> specs) {
  FTVM_TRY(ValidateSpecs(specs));
  GuestMemory memory;
  memory.blocks_.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    RamBlock& block = memory.blocks_[i];
    block.name_ = std::move(specs[i].name);
    block.gpa_ = specs[i].gpa;
    block.slot_ = static_cast<uint32_t>(i);
    block.memfd_.Reset(::memfd_create(block.name_.c_str(), MFD_CLOEXEC));
    if (!block.memfd_) return SysFail("memfd_create {}", block.name_);
    if (::ftruncate(block.memfd_.get(), static_cast<off_t>(specs[i].size)) != 0) {
      return SysFail("ftruncate {} to {} bytes", block.name_, specs[i].size);
    }
    FTVM_ASSIGN_OR_RETURN(block.mapping_, Mapping::MapFd(block.memfd_.get(), specs[i].size,
                                                         PROT_READ | PROT_WRITE, MAP_SHARED));
    if (::madvise(block.hva(), block.size(), MADV_HUGEPAGE) != 0) {
      Log().debug("madvise(MADV_HUGEPAGE) on {}: {}", block.name_, errno);
    }
  }
  return memory;
}

const RamBlock* GuestMemory::Find(std::string_view name) const {
  for (const RamBlock& b : blocks_) {
    if (b.name() == name) return &b;
  }
  return nullptr;
}

Result<std::span<std::byte>> GuestMemory::Translate(uint64_t gpa, uint64_t len) const {
  for (const RamBlock& b : blocks_) {
    if (b.Contains(gpa, len)) return b.bytes().subspan(gpa - b.gpa(), len);
  }
  return Fail(ErrorCode::kInvalidArgument, "guest range [{:#x}, +{:#x}) is not RAM", gpa, len);
}

uint64_t GuestMemory::end_gpa() const {
  uint64_t end = 0;
  for (const RamBlock& b : blocks_) end = std::max(end, b.gpa() + b.size());
  return end;
}

uint64_t GuestMemory::total_bytes() const {
  uint64_t total = 0;
  for (const RamBlock& b : blocks_) total += b.size();
  return total;
}

}  // namespace ftvm::vmm
