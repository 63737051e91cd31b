// RAM blocks as ram/ sees them: plain views of host memory, never vmm/ types.
//
// A RamBlock names a range of host memory the caller owns (guest RAM on the primary, guest RAM
// on the secondary). ram/ only reads it (sender) or copies into it at commit (receiver); the
// memory must stay mapped for the lifetime of every RamSender / RamReceiver given the view.
// A BlockDesc is a block's identity as exchanged at setup (no memory): both sides' tables must
// match name by name, or setup fails with a message that names the first difference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace ftvm::ram {

inline constexpr uint32_t kDefaultPageSize = 4096;
inline constexpr size_t kMaxBlocks = 256;
inline constexpr size_t kMaxBlockNameBytes = 255;
inline constexpr uint32_t kMinPageSize = 4096;
inline constexpr uint32_t kMaxPageSize = 1u << 30;
inline constexpr uint64_t kMaxBlockBytes = 1ull << 40;  // 1 TiB per block

struct RamBlock {
  std::string name;                       // unique, 1..kMaxBlockNameBytes bytes, e.g. "pc.ram"
  std::span<std::byte> host;              // the block's memory; host.size() is its length in bytes
  uint64_t offset = 0;                    // where the block sits, e.g. its guest-physical base
  uint32_t page_size = kDefaultPageSize;  // dirty-bitmap granularity (power of two)

  uint64_t length() const { return host.size(); }
  uint64_t page_count() const { return host.size() / page_size; }
};

struct BlockDesc {
  std::string name;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t page_size = kDefaultPageSize;

  uint64_t page_count() const { return length / page_size; }
  bool operator==(const BlockDesc&) const = default;
};

// A block's dirty bitmap in KVM layout, BitmapWords(page_count) words or more.
using DirtyBitmap = std::span<const uint64_t>;

// Words of a KVM-layout dirty bitmap for `pages` pages: bit (i % 64) of word (i / 64) = page i.
constexpr size_t BitmapWords(uint64_t pages) { return static_cast<size_t>((pages + 63) / 64); }

// Checks one description: name length, page size a power of two in [4 KiB, 1 GiB], length a
// non-zero multiple of the page size and at most kMaxBlockBytes. kInvalidArgument otherwise
// (callers decoding the wire turn it into kProtocol).
Result<void> ValidateDesc(const BlockDesc& desc);

// Checks a whole table: 1..kMaxBlocks blocks, each valid, names unique; for RamBlocks also that
// the memory is page-aligned.
Result<void> ValidateTable(std::span<const BlockDesc> table);
Result<void> ValidateBlocks(std::span<const RamBlock> blocks);

BlockDesc Describe(const RamBlock& block);
std::vector<BlockDesc> DescribeAll(std::span<const RamBlock> blocks);

// Both tables must list the same blocks in the same order with equal offset, length and page
// size. kInvalidArgument naming the first difference otherwise.
Result<void> MatchTables(std::span<const BlockDesc> local, std::span<const BlockDesc> remote);

}  // namespace ftvm::ram
