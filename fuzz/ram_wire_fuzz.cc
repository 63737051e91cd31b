// libFuzzer target: the ram/ message decoder and its geometry checks.
//
// Invariants: Decode() never crashes, reads out of bounds or allocates more than the input
// implies; every message it accepts re-encodes to exactly the input bytes (the encoding is
// canonical); the geometry checks never accept an out-of-range chunk, zero range or dirty set.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ram/wire.h"

namespace {

using namespace ftvm::ram;  // NOLINT(google-build-using-namespace)

const std::vector<BlockDesc>& Table() {
  static const std::vector<BlockDesc> table{{"pc.ram", 0, 64 << 20, 4096},
                                            {"vga", 0xa0000, 96 << 10, 4096}};
  return table;
}

void CheckAgainstGeometry(const Message& m) {
  static const ChunkGeometry geometry = *ChunkGeometry::Create(20, Table());
  auto in_block = [](uint32_t block, uint64_t end) {
    return block < Table().size() && end <= Table()[block].length;
  };
  if (const auto* z = std::get_if<Compress>(&m)) {
    for (const ZeroRange& r : z->ranges) {
      if (CheckZeroRange(Table(), r) && (r.length == 0 || r.offset + r.length < r.offset ||
                                         !in_block(r.block, r.offset + r.length))) {
        std::abort();
      }
    }
  } else if (const auto* d = std::get_if<DirtySet>(&m)) {
    if (CheckDirtySet(Table(), *d) &&
        !in_block(d->block, (uint64_t{d->first_word} + d->words.size() - 1) * 64 * 4096)) {
      std::abort();
    }
  } else if (const auto* r = std::get_if<RegisterRequest>(&m)) {
    for (const ChunkRef& c : r->chunks) {
      if (CheckChunk(geometry, c) && !in_block(c.block, geometry.ChunkOffset(c) + 1)) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  const std::span<const std::byte> input(bytes, size);
  auto decoded = Decode(input);
  if (!decoded) return 0;
  std::vector<std::byte> again;
  Encode(*decoded, &again);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  CheckAgainstGeometry(*decoded);
  return 0;
}
