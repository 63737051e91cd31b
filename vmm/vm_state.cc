#include "vmm/vm_state.h"

#include <xxhash.h>

#include <unordered_set>

#include "base/check.h"
#include "base/wire.h"

namespace ftvm::vmm {
namespace {
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;
constexpr size_t kTrailerBytes = 8;
}  // namespace

void VmState::Put(std::string name, std::vector<std::byte> data) {
  FTVM_CHECK(!Has(name), "duplicate state section {}", name);
  FTVM_CHECK(name.size() <= kMaxNameBytes && !name.empty(), "bad section name '{}'", name);
  FTVM_CHECK(data.size() <= UINT32_MAX, "section {} too large", name);
  sections_.push_back({std::move(name), std::move(data)});
}

const VmState::Section* VmState::Find(std::string_view name) const {
  for (const Section& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<std::span<const std::byte>> VmState::Get(std::string_view name) const {
  const Section* s = Find(name);
  if (s == nullptr) return Fail(ErrorCode::kCorrupt, "state blob has no section {}", name);
  return std::span<const std::byte>(s->data);
}

std::vector<std::byte> VmState::Encode() const {
  std::vector<std::byte> out;
  WireWriter w(&out);
  w.Put(kMagic).Put(kVersion).Put(static_cast<uint32_t>(sections_.size()));
  const size_t payload_at = w.Reserve(8);
  for (const Section& s : sections_) {
    w.PutString16(s.name);
    w.Put(static_cast<uint32_t>(s.data.size()));
    w.PutBytes(s.data);
  }
  const uint64_t payload = out.size() - kHeaderBytes;
  std::memcpy(out.data() + payload_at, &payload, sizeof(payload));
  w.Put(static_cast<uint64_t>(XXH3_64bits(out.data(), out.size())));
  return out;
}

Result<VmState> VmState::Decode(std::span<const std::byte> blob) {
  if (blob.size() < kHeaderBytes + kTrailerBytes) {
    return Fail(ErrorCode::kCorrupt, "state blob of {} bytes is too short", blob.size());
  }
  WireReader header(blob.first(kHeaderBytes));
  const auto magic = header.Get<uint64_t>();
  const auto version = header.Get<uint32_t>();
  const auto count = header.Get<uint32_t>();
  const auto payload = header.Get<uint64_t>();
  if (magic != kMagic) return Fail(ErrorCode::kCorrupt, "not an ftvm state blob (bad magic)");
  if (version != kVersion) {
    return Fail(ErrorCode::kCorrupt, "state blob version {}; this build reads version {}", version,
                kVersion);
  }
  if (payload != blob.size() - kHeaderBytes - kTrailerBytes) {
    return Fail(ErrorCode::kCorrupt, "state blob says {} payload bytes, has {}", payload,
                blob.size() - kHeaderBytes - kTrailerBytes);
  }
  uint64_t stored_sum;
  std::memcpy(&stored_sum, blob.data() + blob.size() - kTrailerBytes, sizeof(stored_sum));
  if (stored_sum != XXH3_64bits(blob.data(), blob.size() - kTrailerBytes)) {
    return Fail(ErrorCode::kCorrupt, "state blob checksum mismatch");
  }
  if (count > kMaxSections) {
    return Fail(ErrorCode::kCorrupt, "state blob has {} sections (max {})", count, kMaxSections);
  }
  VmState state;
  WireReader r(blob.subspan(kHeaderBytes, payload));
  std::unordered_set<std::string_view> seen;
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    const std::string_view name = r.GetString16();
    const auto length = r.Get<uint32_t>();
    const auto data = r.GetBytes(length);
    if (!r.ok()) break;
    if (name.empty() || name.size() > kMaxNameBytes || !seen.insert(name).second) {
      return Fail(ErrorCode::kCorrupt, "state section {}: empty, too long or duplicate name", i);
    }
    state.sections_.push_back({std::string(name), {data.begin(), data.end()}});
  }
  if (auto done = r.Finish("state blob sections"); !done) {
    return Fail(ErrorCode::kCorrupt, "{}", done.error().context());
  }
  return state;
}

}  // namespace ftvm::vmm
