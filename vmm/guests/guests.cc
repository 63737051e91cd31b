#include "vmm/guests/guests.h"

#include <array>
#include <cstring>

#include "vmm/guests/page_stamp.h"

// Emitted by the generated guest_images.S (vmm/CMakeLists.txt): one blob per guest.
#define FTVM_GUEST_SYMBOLS(name)                          \
  extern "C" const std::byte ftvm_guest_##name##_start[]; \
  extern "C" const std::byte ftvm_guest_##name##_end[];
FTVM_GUEST_SYMBOLS(counter)
FTVM_GUEST_SYMBOLS(dirtier)
FTVM_GUEST_SYMBOLS(ringtest)

namespace ftvm::vmm {
namespace {

#define FTVM_GUEST_SPAN(name)    \
  std::span<const std::byte>(    \
      ftvm_guest_##name##_start, \
      static_cast<size_t>(ftvm_guest_##name##_end - ftvm_guest_##name##_start))

const std::array<GuestImage, 3>& Table() {
  static const std::array<GuestImage, 3> table = {
      GuestImage{"counter",
                 "counts in registers, SSE, stack and memory; heartbeats "
                 "(interval_ms=100 iterations=0 beats=0 exit_code=0 quiet=0)",
                 FTVM_GUEST_SPAN(counter)},
      GuestImage{"dirtier",
                 "stamps pages with (generation, index, checksum) (rate=0 pages=0 start= size= "
                 "stride=1 round_pages=0 stamp=1)",
                 FTVM_GUEST_SPAN(dirtier)},
      GuestImage{"ringtest",
                 "sends records through the shared-memory ring (records=1000 "
                 "batch=64 size=56)",
                 FTVM_GUEST_SPAN(ringtest)},
  };
  return table;
}

bool AllZero(const uint64_t* words) {
  for (uint32_t i = 0; i < FTVM_STAMP_WORDS; ++i) {
    if (words[i] != 0) return false;
  }
  return true;
}

const char* CheckStamp(const uint64_t* words, uint64_t index, uint64_t max_generation) {
  if (words[0] != FTVM_STAMP_MAGIC) return "no stamp magic";
  if (words[2] != index) return "stamp of another page";
  if (words[1] == 0 || (max_generation != 0 && words[1] > max_generation)) {
    return "generation out of range";
  }
  if (words[3] != FtvmStampChecksum(words)) return "checksum mismatch";
  return nullptr;
}

}  // namespace

std::span<const GuestImage> BuiltinGuests() { return Table(); }

const GuestImage* FindGuest(std::string_view name) {
  for (const GuestImage& g : Table()) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

DirtierReport VerifyDirtierPages(std::span<const std::byte> bytes, uint64_t gpa,
                                 uint64_t max_generation) {
  DirtierReport report;
  uint64_t words[FTVM_STAMP_WORDS];
  for (size_t off = 0; off + sizeof(words) <= bytes.size(); off += sizeof(words)) {
    std::memcpy(words, bytes.data() + off, sizeof(words));
    ++report.pages;
    if (AllZero(words)) {
      ++report.blank;
      continue;
    }
    const uint64_t page_gpa = gpa + off;
    if (const char* why = CheckStamp(words, page_gpa / sizeof(words), max_generation)) {
      if (report.bad++ == 0) {
        report.first_bad_gpa = page_gpa;
        report.first_bad_reason = why;
      }
      continue;
    }
    ++report.stamped;
    report.max_generation = std::max(report.max_generation, words[1]);
  }
  return report;
}

}  // namespace ftvm::vmm
