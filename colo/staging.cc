#include "colo/staging.h"

#include <cstring>

#include "ram/dirty_bitmap.h"

namespace ftvm::colo {

Result<Staging> Staging::Create(std::span<const vmm::RamBlock> guest) {
  Staging s;
  for (const vmm::RamBlock& b : guest) {
    FTVM_ASSIGN_OR_RETURN(Mapping mirror, Mapping::Anonymous(b.size()));
    // 4 KiB pages on purpose: on a nested host a first touch of a 2 MiB huge page costs more
    // than 512 small faults (1 GiB copied into fresh memory: 6.7 s with MADV_HUGEPAGE, 1.4 s
    // without), and the capture in the pause is no faster with huge pages (0.15 s per GiB).
    // First touches happen in the first sync round, which copies every page while the guest
    // runs, so the pause never pays for them.
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
