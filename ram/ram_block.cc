#include "ram/ram_block.h"

#include <bit>
#include <set>
#include <string_view>

namespace ftvm::ram {

Result<void> ValidateDesc(const BlockDesc& desc) {
  if (desc.name.empty() || desc.name.size() > kMaxBlockNameBytes) {
    return Fail(ErrorCode::kInvalidArgument, "block name of {} bytes (1..{} allowed)",
                desc.name.size(), kMaxBlockNameBytes);
  }
  if (!std::has_single_bit(desc.page_size) || desc.page_size < kMinPageSize ||
      desc.page_size > kMaxPageSize) {
    return Fail(ErrorCode::kInvalidArgument,
                "block {}: page size {} is not a power of two in [{}, {}]", desc.name,
                desc.page_size, kMinPageSize, kMaxPageSize);
  }
  if (desc.length == 0 || desc.length % desc.page_size != 0 || desc.length > kMaxBlockBytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "block {}: length {} is not a non-zero multiple of page size {} up to {}",
                desc.name, desc.length, desc.page_size, kMaxBlockBytes);
  }
  if (desc.offset % desc.page_size != 0) {
    return Fail(ErrorCode::kInvalidArgument, "block {}: offset {:#x} is not page-aligned",
                desc.name, desc.offset);
  }
  return {};
}

Result<void> ValidateTable(std::span<const BlockDesc> table) {
  if (table.empty() || table.size() > kMaxBlocks) {
    return Fail(ErrorCode::kInvalidArgument, "{} blocks (1..{} allowed)", table.size(), kMaxBlocks);
  }
  std::set<std::string_view> names;
  for (const BlockDesc& desc : table) {
    FTVM_TRY(ValidateDesc(desc));
    if (!names.insert(desc.name).second) {
      return Fail(ErrorCode::kInvalidArgument, "block name {} appears twice", desc.name);
    }
  }
  return {};
}

Result<void> ValidateBlocks(std::span<const RamBlock> blocks) {
  const std::vector<BlockDesc> table = DescribeAll(blocks);
  FTVM_TRY(ValidateTable(table));
  for (const RamBlock& block : blocks) {
    if (reinterpret_cast<uintptr_t>(block.host.data()) % block.page_size != 0) {
      return Fail(ErrorCode::kInvalidArgument, "block {}: host memory {} is not page-aligned",
                  block.name, static_cast<const void*>(block.host.data()));
    }
  }
  return {};
}

BlockDesc Describe(const RamBlock& block) {
  return BlockDesc{block.name, block.offset, block.length(), block.page_size};
}

std::vector<BlockDesc> DescribeAll(std::span<const RamBlock> blocks) {
  std::vector<BlockDesc> out;
  out.reserve(blocks.size());
  for (const RamBlock& block : blocks) out.push_back(Describe(block));
  return out;
}

Result<void> MatchTables(std::span<const BlockDesc> local, std::span<const BlockDesc> remote) {
  if (local.size() != remote.size()) {
    return Fail(ErrorCode::kInvalidArgument, "block tables differ: {} local blocks, {} remote",
                local.size(), remote.size());
  }
  for (size_t i = 0; i < local.size(); ++i) {
    const BlockDesc& l = local[i];
    const BlockDesc& r = remote[i];
    if (l.name != r.name) {
      return Fail(ErrorCode::kInvalidArgument, "block {}: local name {}, remote name {}", i, l.name,
                  r.name);
    }
    if (l.length != r.length || l.offset != r.offset || l.page_size != r.page_size) {
      return Fail(ErrorCode::kInvalidArgument,
                  "block {}: local offset {:#x} length {} page {}, remote offset {:#x} length {} "
                  "page {}",
                  l.name, l.offset, l.length, l.page_size, r.offset, r.length, r.page_size);
    }
  }
  return {};
}

}  // namespace ftvm::ram
