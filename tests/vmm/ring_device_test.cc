// The ring device without KVM: records in a plain buffer, the doorbell called directly.
#include "vmm/devices/ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "vmm/guests/abi.h"

namespace ftvm::vmm {
namespace {

constexpr size_t kBlockBytes = 64 * 1024;

// Appends one record the way a guest does (record, payload padded to 8, then head).
void Append(std::vector<std::byte>& block, uint32_t type, std::string_view payload) {
  auto* h = reinterpret_cast<ftvm_ring_header*>(block.data());
  const ftvm_ring_record record{.length = static_cast<uint32_t>(payload.size()), .type = type};
  std::byte* at = block.data() + FTVM_RING_DATA_OFFSET + (h->head & (h->data_size - 1));
  std::memcpy(at, &record, sizeof(record));
  std::memcpy(at + sizeof(record), payload.data(), payload.size());
  h->head = h->head + sizeof(record) + ((payload.size() + 7) & ~size_t{7});
}

void Doorbell(RingDevice& ring) {
  std::byte value[4] = {};
  ring.HandleIo(FTVM_PORT_RING_DOORBELL, IoDirection::kOut, value);
}

TEST(RingDeviceTest, ReportsEveryTailItPublishesAsAHostWrite) {
  std::vector<std::byte> block(kBlockBytes);
  std::vector<std::string> seen;
  std::vector<std::pair<uint64_t, uint64_t>> writes;
  RingDevice ring(
      block,
      [&](uint32_t, std::span<const std::byte> p) {
        seen.emplace_back(reinterpret_cast<const char*>(p.data()), p.size());
      },
      [&](uint64_t offset, uint64_t length) { writes.emplace_back(offset, length); });
  EXPECT_TRUE(writes.empty()) << "the header written at construction is not a guest-time write";

  Append(block, 7, "hello");
  Append(block, 7, "ring");
  Doorbell(ring);
  const auto* h = reinterpret_cast<const ftvm_ring_header*>(block.data());
  EXPECT_EQ(seen, (std::vector<std::string>{"hello", "ring"}));
  EXPECT_EQ(h->tail, h->head);
  EXPECT_EQ(h->records_consumed, 2u);
  ASSERT_EQ(writes.size(), 1u);
  // The reported range covers what the device wrote: tail and records_consumed.
  EXPECT_LE(writes[0].first, offsetof(ftvm_ring_header, tail));
  EXPECT_GE(writes[0].first + writes[0].second,
            offsetof(ftvm_ring_header, records_consumed) + sizeof(uint64_t));

  Doorbell(ring);  // nothing new: the tail is published (and reported) again
  EXPECT_EQ(writes.size(), 2u);
}

}  // namespace
}  // namespace ftvm::vmm
