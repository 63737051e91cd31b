#include "colo/staging.h"

#include <sys/mman.h>

#include <cstring>

#include "ram/dirty_bitmap.h"

namespace ftvm::colo {

Result<Staging> Staging::Create(std::span<const vmm::RamBlock> guest) {
  Staging s;
  for (const vmm::RamBlock& b : guest) {
    FTVM_ASSIGN_OR_RETURN(Mapping mirror, Mapping::Anonymous(b.size()));
    // Huge pages (advice; anonymous THP is usually in madvise mode): the first sync round
    // touches the whole mirror 512 times faster (~12 us per 4 KiB fault on a nested host), and
    // a capture in the pause walks half the page tables (guest RAM may stay on 4 KiB pages).
    // First touches happen in that first round, while the guest runs, never inside a pause.
    (void)::madvise(mirror.data(), mirror.size(), MADV_HUGEPAGE);
    s.blocks_.push_back({b.name(), b.gpa(), b.bytes(), std::move(mirror)});
  }
  return s;
}

std::vector<ram::RamBlock> Staging::Views() const {
  std::vector<ram::RamBlock> views;
  for (const Block& b : blocks_) {
    views.push_back({b.name, b.mirror.bytes(), b.gpa, static_cast<uint32_t>(vmm::kPageSize)});
  }
  return views;
}

uint64_t Staging::Capture(const vmm::DirtyBitmaps& dirty) {
  uint64_t bytes = 0;
  for (size_t i = 0; i < blocks_.size() && i < dirty.size(); ++i) {
    Block& b = blocks_[i];
    const uint64_t pages = b.guest.size() / vmm::kPageSize;
    ram::ForEachDirtyRun(dirty[i], pages, uint64_t{1} << 62, [&](const ram::PageRun& run) {
      const uint64_t offset = run.first_page * vmm::kPageSize;
      const uint64_t length = run.page_count * vmm::kPageSize;
      std::memcpy(b.mirror.data() + offset, b.guest.data() + offset, length);
      bytes += length;
    });
  }
  return bytes;
}

}  // namespace ftvm::colo
