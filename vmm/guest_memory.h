// Guest RAM as named blocks, each backed by its own memfd (so another layer can map or register
// it) and mapped MAP_SHARED into this process, with MADV_HUGEPAGE. Each block becomes one KVM
// memory slot (slot number = block index).
//
// The dirty bitmap format used across ftvm: per block, bit (i % 64) of word (i / 64) set means
// page i (4 KiB, counted from the block's start) was written: KVM's own layout.
//
// Thread safety: the block table is immutable after Create(); the memory itself is written by
// the guest concurrently, so readers copy it only while the VM is paused (or accept tearing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/mapping.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ftvm::vmm {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageShift = 12;

// Words needed for a dirty bitmap of `pages` pages.
constexpr size_t BitmapWords(uint64_t pages) { return static_cast<size_t>((pages + 63) / 64); }

struct RamBlockSpec {
  std::string name;
  uint64_t gpa = 0;   // page aligned
  uint64_t size = 0;  // bytes, page aligned, > 0
};

class RamBlock {
 public:
  const std::string& name() const { return name_; }
  uint64_t gpa() const { return gpa_; }
  uint64_t size() const { return mapping_.size(); }
  uint64_t page_size() const { return kPageSize; }
  uint64_t page_count() const { return size() / kPageSize; }
  uint32_t slot() const { return slot_; }
  // The host view of the whole block (writable; the guest sees writes immediately).
  std::span<std::byte> bytes() const { return mapping_.bytes(); }
  std::byte* hva() const { return mapping_.data(); }
  // The memfd backing the block; valid as long as the GuestMemory lives. Not owned by callers.
  int memfd() const { return memfd_.get(); }
  bool Contains(uint64_t gpa, uint64_t len) const {
    return gpa >= gpa_ && len <= size() && gpa - gpa_ <= size() - len;
  }

 private:
  friend class GuestMemory;
  std::string name_;
  uint64_t gpa_ = 0;
  uint32_t slot_ = 0;
  UniqueFd memfd_;  // declared before the mapping: the mapping is undone first
  Mapping mapping_;
};

class GuestMemory {
 public:
  // Creates every block: memfd_create + ftruncate + mmap(MAP_SHARED) + MADV_HUGEPAGE (advice
  // only: shmem THP may be off, which costs speed, not correctness). Blocks must be page
  // aligned, non-empty, uniquely named and must not overlap. kInvalidArgument otherwise.
  static Result<GuestMemory> Create(std::vector<RamBlockSpec> specs);

  std::span<const RamBlock> blocks() const { return blocks_; }
  const RamBlock* Find(std::string_view name) const;
  // The host bytes backing [gpa, gpa+len) if one block holds all of them; kInvalidArgument
  // otherwise (a guest-provided address is never trusted).
  Result<std::span<std::byte>> Translate(uint64_t gpa, uint64_t len) const;
  // One past the highest guest physical address of any block.
  uint64_t end_gpa() const;
  uint64_t total_bytes() const;

 private:
  std::vector<RamBlock> blocks_;
};

}  // namespace ftvm::vmm
