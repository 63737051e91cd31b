// Explicit little-endian encoding for every wire message and saved-state blob.
//
// WireWriter appends fields to a byte vector. WireReader never trusts its input: every read
// is bounds-checked; the first failure makes the reader sticky-failed (later reads return zero
// or empty spans), and Finish() turns that into a kProtocol error naming what was being decoded.
// Decoders validate the *values* they read (counts, indexes, lengths) against their own limits.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace ftvm {

static_assert(std::endian::native == std::endian::little,
              "the wire format is little-endian; add byte swaps before porting");

class WireWriter {
 public:
  WireWriter() = default;
  explicit WireWriter(std::vector<std::byte>* out) : out_(out) {}

  template <class T>
    requires std::is_integral_v<T> || std::is_enum_v<T>
  WireWriter& Put(T value) {
    const size_t at = out_->size();
    out_->resize(at + sizeof(T));
    std::memcpy(out_->data() + at, &value, sizeof(T));
    return *this;
  }
  WireWriter& PutBytes(std::span<const std::byte> bytes) {
    out_->insert(out_->end(), bytes.begin(), bytes.end());
    return *this;
  }
  // A u16 length followed by the bytes; `text` must be shorter than 64 KiB.
  WireWriter& PutString16(std::string_view text);
  // Reserves `n` bytes and returns their offset, for a length patched in later with PatchU32.
  size_t Reserve(size_t n) {
    const size_t at = out_->size();
    out_->resize(at + n);
    return at;
  }
  void PatchU32(size_t offset, uint32_t value) {
    std::memcpy(out_->data() + offset, &value, sizeof(value));
  }
  size_t size() const { return out_->size(); }

  std::vector<std::byte>& buffer() { return *out_; }

 private:
  std::vector<std::byte> own_;
  std::vector<std::byte>* out_ = &own_;
};

class WireReader {
 public:
  explicit WireReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  template <class T>
    requires std::is_integral_v<T>
  T Get() {
    T value{};
    if (!Need(sizeof(T))) return value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  // A view of the next `n` bytes (empty if fewer remain; the reader then fails).
  std::span<const std::byte> GetBytes(size_t n) {
    if (!Need(n)) return {};
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view GetString16() {
    const auto n = Get<uint16_t>();
    auto b = GetBytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  void Skip(size_t n) { (void)GetBytes(n); }

  // Marks the reader failed with a reason of the decoder's own (e.g. "count 9 > max 8").
  void Invalidate(std::string reason) {
    if (ok_) reason_ = std::move(reason);
    ok_ = false;
  }

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? bytes_.size() - pos_ : 0; }
  size_t position() const { return pos_; }

  // Ok if every read succeeded and, when `allow_trailing` is false, nothing is left over.
  Result<void> Finish(std::string_view what, bool allow_trailing = false) const;

 private:
  bool Need(size_t n) {
    if (!ok_) return false;
    if (bytes_.size() - pos_ < n) {
      Invalidate(std::to_string(n) + " bytes needed at offset " + std::to_string(pos_) + ", only " +
                 std::to_string(bytes_.size() - pos_) + " left");
      return false;
    }
    return true;
  }

  std::span<const std::byte> bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string reason_;
};

}  // namespace ftvm
