// The state blob codec refuses every kind of damage with a clear kCorrupt error.
#include "vmm/vm_state.h"

#include <gtest/gtest.h>

#include <cstring>

namespace ftvm::vmm {
namespace {

struct Pod {
  uint64_t a;
  uint32_t b;
  uint32_t c;
};

std::vector<std::byte> SampleBlob() {
  VmState state;
  state.PutStruct("cpu0.regs", Pod{1, 2, 3});
  state.Put("dev.serial", {std::byte{7}, std::byte{8}});
  state.Put("empty", {});
  return state.Encode();
}

std::string DecodeError(const std::vector<std::byte>& blob) {
  auto r = VmState::Decode(blob);
  if (r.has_value()) return "decoded";
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt) << r.error().ToString();
  return r.error().context();
}

// Rewrites the trailing checksum so damage in the middle reaches the section parser.
void Reseal(std::vector<std::byte>& blob);

TEST(VmStateTest, RoundTrips) {
  auto state = VmState::Decode(SampleBlob());
  ASSERT_TRUE(state.has_value()) << state.error().ToString();
  ASSERT_EQ(state->sections().size(), 3u);
  auto pod = state->GetStruct<Pod>("cpu0.regs");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->a, 1u);
  EXPECT_EQ(pod->c, 3u);
  EXPECT_EQ(state->Get("dev.serial")->size(), 2u);
  EXPECT_TRUE(state->Get("empty")->empty());
}

TEST(VmStateTest, RefusesAnotherVersion) {
  auto blob = SampleBlob();
  blob[8] = std::byte{2};
  EXPECT_NE(DecodeError(blob).find("version 2"), std::string::npos);
}

TEST(VmStateTest, RefusesBadMagic) {
  auto blob = SampleBlob();
  blob[0] = std::byte{'X'};
  EXPECT_NE(DecodeError(blob).find("magic"), std::string::npos);
}

TEST(VmStateTest, RefusesTruncatedAndExtendedBlobs) {
  auto blob = SampleBlob();
  EXPECT_NE(DecodeError({blob.begin(), blob.end() - 1}).find("payload"), std::string::npos);
  blob.push_back(std::byte{0});
  EXPECT_NE(DecodeError(blob).find("payload"), std::string::npos);
  EXPECT_NE(DecodeError({blob.begin(), blob.begin() + 10}).find("too short"), std::string::npos);
}

TEST(VmStateTest, RefusesChecksumMismatch) {
  auto blob = SampleBlob();
  blob[40] ^= std::byte{1};
  EXPECT_NE(DecodeError(blob).find("checksum"), std::string::npos);
}

TEST(VmStateTest, RefusesSectionLengthPastTheEnd) {
  auto blob = SampleBlob();
  // First section: u16 name length at 24, the name (9 bytes), then its u32 data length.
  const uint32_t huge = 1'000'000;
  std::memcpy(blob.data() + 24 + 2 + 9, &huge, sizeof(huge));
  Reseal(blob);
  EXPECT_NE(DecodeError(blob).find("bytes needed"), std::string::npos);
}

TEST(VmStateTest, RefusesDuplicateSections) {
  VmState state;
  state.Put("a", {});
  state.Put("b", {});
  auto blob = state.Encode();
  blob[24 + 2 + 1 + 4 + 2] = std::byte{'a'};  // the second name, "b", becomes "a"
  Reseal(blob);
  EXPECT_NE(DecodeError(blob).find("duplicate"), std::string::npos);
}

TEST(VmStateTest, FixedSizeSectionsAreLengthChecked) {
  auto state = VmState::Decode(SampleBlob());
  ASSERT_TRUE(state.has_value());
  auto wrong = state->GetStruct<uint64_t>("cpu0.regs");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(wrong.error().context().find("expected 8"), std::string::npos);
  auto missing = state->Get("cpu1.regs");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().context().find("cpu1.regs"), std::string::npos);
}

}  // namespace
}  // namespace ftvm::vmm

#include <xxhash.h>

namespace ftvm::vmm {
namespace {
void Reseal(std::vector<std::byte>& blob) {
  const uint64_t sum = XXH3_64bits(blob.data(), blob.size() - 8);
  std::memcpy(blob.data() + blob.size() - 8, &sum, sizeof(sum));
}
}  // namespace
}  // namespace ftvm::vmm
