// The built-in guest programs (freestanding C, built by CMake into flat images and linked into
// this library), and the host-side verifier of the dirtier's page stamps.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ftvm::vmm {

struct GuestImage {
  std::string_view name;
  std::string_view summary;  // one line, with the guest's arguments
  std::span<const std::byte> bytes;
};

std::span<const GuestImage> BuiltinGuests();
const GuestImage* FindGuest(std::string_view name);

// What VerifyDirtierPages found in a memory image.
struct DirtierReport {
  uint64_t pages = 0;    // pages examined
  uint64_t stamped = 0;  // valid stamps
  uint64_t blank = 0;    // all-zero pages (never written)
  uint64_t bad = 0;      // anything else: wrong magic, index, checksum or future generation
  uint64_t max_generation = 0;
  uint64_t first_bad_gpa = 0;
  std::string first_bad_reason;
  bool ok() const { return bad == 0; }
};

// Checks every page of `bytes` (guest memory starting at guest physical `gpa`): each must be
// all zero or a valid dirtier stamp whose index is its own page number and whose generation
// is at most `max_generation` (0: no limit). For replicas and restored snapshots.
DirtierReport VerifyDirtierPages(std::span<const std::byte> bytes, uint64_t gpa,
                                 uint64_t max_generation = 0);

}  // namespace ftvm::vmm
