// The primary's staging mirror of guest RAM: checkpoints are sent from it, not from guest
// memory, so the guest can run again as soon as its dirty pages are copied (at memory
// bandwidth) instead of waiting until they crossed the wire.
//
// The mirror has the same blocks (names, guest-physical offsets, sizes) as guest RAM, so ram/
// replicates it exactly as it would replicate the guest: RamSender is given the mirror's views
// and never sees guest memory. Capture() brings the mirror up to date for the pages of one
// dirty set; pages outside every captured set are stale in the mirror, which is why every page
// ram/ sends must have been captured (the sender only sends pages of the sets it is given).
//
// Memory: one extra copy of guest RAM (anonymous). Its pages are first touched by the first
// sync round, which copies every page while the guest runs, never inside a pause.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/mapping.h"
#include "base/result.h"
#include "ram/ram_block.h"
#include "vmm/dirty_log.h"
#include "vmm/guest_memory.h"

namespace ftvm::colo {

class Staging {
 public:
  static Result<Staging> Create(std::span<const vmm::RamBlock> guest);

  // ram/ views of the mirror, one per guest block.
  std::vector<ram::RamBlock> Views() const;
  // Copies every page set in dirty[b] from guest block b into the mirror; returns the bytes.
  uint64_t Capture(const vmm::DirtyBitmaps& dirty);

 private:
  struct Block {
    std::string name;
    uint64_t gpa = 0;
    std::span<const std::byte> guest;
    Mapping mirror;
  };
  std::vector<Block> blocks_;
};

}  // namespace ftvm::colo
