// Fuzzes the snapshot header validation: every block's offsets and sizes must be checked
// against the file size before anything is read. The header checksum is patched in so the
// fuzzer reaches the bounds checks; the file size comes from the first 8 input bytes.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vmm/snapshot_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ftvm::vmm::snapshot_format;  // NOLINT(google-build-using-namespace)
  if (size < 8) return 0;
  uint64_t file_bytes;
  std::memcpy(&file_bytes, data, 8);
  std::vector<std::byte> page(kHeaderBytes);
  std::memcpy(page.data(), data + 8, std::min<size_t>(size - 8, kHeaderBytes));
  const uint64_t sum = XXH3_64bits(page.data(), kHeaderBytes - 8);
  std::memcpy(page.data() + kHeaderBytes - 8, &sum, sizeof(sum));
  if (auto h = DecodeHeader(page, file_bytes)) {
    // Whatever is accepted must describe regions inside the file.
    for (const BlockEntry& b : h->blocks) {
      if (b.data_offset + b.stored_pages * 4096 > file_bytes) __builtin_trap();
      if (b.bitmap_offset + b.bitmap_bytes() > b.data_offset) __builtin_trap();
    }
  }
  return 0;
}
