// The built-in guests are embedded, and the host-side verifier of dirtier stamps accepts good
// pages and names the first bad one.
#include "vmm/guests/guests.h"

#include <gtest/gtest.h>

#include <vector>

#include "vmm/guests/page_stamp.h"

namespace ftvm::vmm {
namespace {

TEST(GuestsTest, EveryBuiltinGuestHasAnImage) {
  ASSERT_GE(BuiltinGuests().size(), 3u);
  for (const GuestImage& g : BuiltinGuests()) {
    EXPECT_GT(g.bytes.size(), 64u) << g.name;
    EXPECT_EQ(FindGuest(g.name), &g);
  }
  EXPECT_EQ(FindGuest("nope"), nullptr);
}

TEST(GuestsTest, VerifierAcceptsStampsAndBlankPages) {
  constexpr uint64_t kGpa = 0x400000;
  std::vector<uint64_t> words(4 * FTVM_STAMP_WORDS, 0);
  FtvmStampPage(&words[0], 3, kGpa / 4096);
  FtvmStampPage(&words[2 * FTVM_STAMP_WORDS], 5, kGpa / 4096 + 2);
  const auto bytes = std::as_bytes(std::span(words));
  const DirtierReport r = VerifyDirtierPages(bytes, kGpa);
  EXPECT_TRUE(r.ok()) << r.first_bad_reason;
  EXPECT_EQ(r.pages, 4u);
  EXPECT_EQ(r.stamped, 2u);
  EXPECT_EQ(r.blank, 2u);
  EXPECT_EQ(r.max_generation, 5u);
  EXPECT_FALSE(VerifyDirtierPages(bytes, kGpa, /*max_generation=*/4).ok());
}

TEST(GuestsTest, VerifierCatchesDamage) {
  constexpr uint64_t kGpa = 0x400000;
  std::vector<uint64_t> words(2 * FTVM_STAMP_WORDS, 0);
  FtvmStampPage(&words[0], 1, kGpa / 4096);
  FtvmStampPage(&words[FTVM_STAMP_WORDS], 1, kGpa / 4096 + 1);
  words[FTVM_STAMP_WORDS + 100] ^= 1;  // one flipped bit in the second page
  DirtierReport r = VerifyDirtierPages(std::as_bytes(std::span(words)), kGpa);
  EXPECT_EQ(r.bad, 1u);
  EXPECT_EQ(r.first_bad_gpa, kGpa + 4096);
  EXPECT_EQ(r.first_bad_reason, "checksum mismatch");
  // A page copied to the wrong place.
  r = VerifyDirtierPages(std::as_bytes(std::span(words)).subspan(0, 4096), kGpa + 4096);
  EXPECT_EQ(r.first_bad_reason, "stamp of another page");
}

}  // namespace
}  // namespace ftvm::vmm
