// The saved state of a VM as a versioned, length-checked blob of named sections.
//
// Layout (little-endian):
//   u64 magic "FTVMSTAT"  u32 version  u32 section count  u64 payload bytes
//   per section: u16 name length, name, u32 data length, data
//   u64 XXH3-64 of everything before it
// Decode() refuses another version, a bad magic, a length that runs past the end, trailing
// bytes, duplicate names and a checksum mismatch, each with an error naming what was wrong
// (kCorrupt). Fixed-size sections (KVM structs) are checked against their exact size on read.
//
// A plain value type; not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace ftvm::vmm {

class VmState {
 public:
  static constexpr uint64_t kMagic = 0x544154534d565446ull;  // "FTVMSTAT" read as LE bytes
  static constexpr uint32_t kVersion = 1;
  static constexpr uint32_t kMaxSections = 4096;
  static constexpr size_t kMaxNameBytes = 128;

  struct Section {
    std::string name;
    std::vector<std::byte> data;
  };

  // Adds a section; a second section of the same name is a bug (CHECK).
  void Put(std::string name, std::vector<std::byte> data);
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void PutStruct(std::string name, const T& value) {
    std::vector<std::byte> data(sizeof(T));
    std::memcpy(data.data(), &value, sizeof(T));
    Put(std::move(name), std::move(data));
  }

  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  // The section's bytes; kCorrupt "missing section NAME" when absent.
  Result<std::span<const std::byte>> Get(std::string_view name) const;
  // The section as T; kCorrupt when absent or not exactly sizeof(T) bytes.
  template <class T>
    requires std::is_trivially_copyable_v<T>
  Result<T> GetStruct(std::string_view name) const {
    FTVM_ASSIGN_OR_RETURN(auto bytes, Get(name));
    if (bytes.size() != sizeof(T)) {
      return Fail(ErrorCode::kCorrupt, "state section {}: {} bytes, expected {}", name,
                  bytes.size(), sizeof(T));
    }
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }

  const std::vector<Section>& sections() const { return sections_; }

  std::vector<std::byte> Encode() const;
  static Result<VmState> Decode(std::span<const std::byte> blob);

 private:
  const Section* Find(std::string_view name) const;
  std::vector<Section> sections_;
};

}  // namespace ftvm::vmm
