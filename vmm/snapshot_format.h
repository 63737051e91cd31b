// Internal to snapshot*.cc: the on-disk format's constants and helpers (see snapshot.h).
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/wire.h"
#include "vmm/guest_memory.h"

namespace ftvm::vmm::snapshot_format {

constexpr uint64_t kMagic = 0x50414e534d565446ull;  // "FTVMSNAP"
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 4096;
constexpr uint64_t kMaxRunBytes = 1ull << 20;  // one io_uring operation
constexpr uint32_t kMaxBlocks = 64;

inline uint64_t AlignUp(uint64_t x) { return (x + kPageSize - 1) & ~(kPageSize - 1); }

struct BlockEntry {
  std::string name;
  uint64_t gpa = 0, size = 0, stored_pages = 0, bitmap_offset = 0, data_offset = 0;
  uint64_t pages() const { return size / kPageSize; }
  uint64_t bitmap_bytes() const { return BitmapWords(pages()) * 8; }
};

inline bool PageIsZero(const std::byte* page) {
  const auto* words = reinterpret_cast<const uint64_t*>(page);
  for (size_t i = 0; i < kPageSize / 8; i += 8) {
    uint64_t any = 0;
    for (size_t j = 0; j < 8; ++j) any |= words[i + j];
    if (any != 0) return false;
  }
  return true;
}

inline bool Bit(const std::vector<uint64_t>& bitmap, uint64_t i) {
  return (bitmap[i / 64] >> (i % 64)) & 1;
}

// Calls fn(first_page, page_count) for each run of set bits, runs capped at kMaxRunBytes.
template <class Fn>
Result<void> ForEachRun(const std::vector<uint64_t>& bitmap, uint64_t pages, Fn&& fn) {
  constexpr uint64_t kMaxRunPages = kMaxRunBytes / kPageSize;
  for (uint64_t i = 0; i < pages;) {
    if (bitmap[i / 64] == 0) {
      i = (i / 64 + 1) * 64;
      continue;
    }
    if (!Bit(bitmap, i)) {
      ++i;
      continue;
    }
    uint64_t n = 1;
    while (i + n < pages && n < kMaxRunPages && Bit(bitmap, i + n)) ++n;
    FTVM_TRY(fn(i, n));
    i += n;
  }
  return {};
}

inline std::span<const std::byte> AsBytes(const std::vector<uint64_t>& words) {
  return std::as_bytes(std::span(words));
}

inline std::vector<std::byte> EncodeHeader(uint64_t state_bytes, uint64_t checksum,
                                           const std::vector<BlockEntry>& blocks) {
  std::vector<std::byte> page;
  WireWriter w(&page);
  w.Put(kMagic).Put(kVersion).Put(static_cast<uint32_t>(blocks.size()));
  w.Put(state_bytes).Put(checksum);
  for (const BlockEntry& b : blocks) {
    w.PutString16(b.name);
    w.Put(b.gpa).Put(b.size).Put(b.stored_pages).Put(b.bitmap_offset).Put(b.data_offset);
  }
  page.resize(kHeaderBytes - 8);
  w.Put(static_cast<uint64_t>(XXH3_64bits(page.data(), page.size())));
  return page;
}

class Hasher {
 public:
  Hasher() : state_(XXH3_createState()) { XXH3_64bits_reset(state_); }
  ~Hasher() { XXH3_freeState(state_); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(std::span<const std::byte> b) { XXH3_64bits_update(state_, b.data(), b.size()); }
  uint64_t Digest() const { return XXH3_64bits_digest(state_); }

 private:
  XXH3_state_t* state_;
};

struct Header {
  uint64_t state_bytes = 0;
  uint64_t checksum = 0;
  std::vector<BlockEntry> blocks;
};

// Parses and validates the header page of a snapshot of `file_bytes` bytes: magic, version,
// header checksum, and that every region lies inside the file, in order, without overlap.
// kCorrupt otherwise. Fuzzed by fuzz/snapshot_header_fuzz.cc.
Result<Header> DecodeHeader(std::span<const std::byte> page, uint64_t file_bytes);

}  // namespace ftvm::vmm::snapshot_format
