#include "vmm/snapshot_format.h"

namespace ftvm::vmm::snapshot_format {

Result<Header> DecodeHeader(std::span<const std::byte> page, uint64_t file_bytes) {
  if (page.size() != kHeaderBytes) return Fail(ErrorCode::kCorrupt, "short snapshot header");
  uint64_t stored_sum;
  std::memcpy(&stored_sum, page.data() + kHeaderBytes - 8, 8);
  WireReader r(page);
  if (r.Get<uint64_t>() != kMagic) return Fail(ErrorCode::kCorrupt, "not an ftvm snapshot");
  if (const auto v = r.Get<uint32_t>(); v != kVersion) {
    return Fail(ErrorCode::kCorrupt, "snapshot version {}; this build reads {}", v, kVersion);
  }
  if (stored_sum != XXH3_64bits(page.data(), kHeaderBytes - 8)) {
    return Fail(ErrorCode::kCorrupt, "snapshot header checksum mismatch");
  }
  const auto count = r.Get<uint32_t>();
  if (count == 0 || count > kMaxBlocks) return Fail(ErrorCode::kCorrupt, "{} RAM blocks", count);
  Header h;
  h.state_bytes = r.Get<uint64_t>();
  h.checksum = r.Get<uint64_t>();
  uint64_t end = AlignUp(kHeaderBytes + h.state_bytes);
  if (h.state_bytes > file_bytes || end > file_bytes) {
    return Fail(ErrorCode::kCorrupt, "state of {} bytes past the end of the file", h.state_bytes);
  }
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    BlockEntry b;
    b.name = std::string(r.GetString16());
    b.gpa = r.Get<uint64_t>();
    b.size = r.Get<uint64_t>();
    b.stored_pages = r.Get<uint64_t>();
    b.bitmap_offset = r.Get<uint64_t>();
    b.data_offset = r.Get<uint64_t>();
    // Regions must follow each other in order and lie inside the file (no overflow tricks).
    if (b.size % kPageSize != 0 || b.size > file_bytes * 64 * kPageSize ||
        b.stored_pages > b.pages() || b.bitmap_offset != end ||
        b.data_offset != AlignUp(b.bitmap_offset + b.bitmap_bytes()) ||
        b.data_offset > file_bytes || b.stored_pages > (file_bytes - b.data_offset) / kPageSize) {
      return Fail(ErrorCode::kCorrupt, "snapshot block {} ({}) has bad bounds", i, b.name);
    }
    end = b.data_offset + b.stored_pages * kPageSize;
    h.blocks.push_back(std::move(b));
  }
  FTVM_TRY(r.Finish("snapshot header", /*allow_trailing=*/true));
  if (end != file_bytes) {
    return Fail(ErrorCode::kCorrupt, "snapshot is {} bytes, header describes {}", file_bytes, end);
  }
  return h;
}

}  // namespace ftvm::vmm::snapshot_format
