#include "base/wire.h"

#include "base/check.h"

namespace ftvm {

WireWriter& WireWriter::PutString16(std::string_view text) {
  FTVM_CHECK(text.size() <= UINT16_MAX, "string of {} bytes", text.size());
  Put(static_cast<uint16_t>(text.size()));
  return PutBytes(std::as_bytes(std::span(text.data(), text.size())));
}

Result<void> WireReader::Finish(std::string_view what, bool allow_trailing) const {
  if (!ok_) return Fail(ErrorCode::kProtocol, "decode {}: {}", what, reason_);
  if (!allow_trailing && pos_ != bytes_.size()) {
    return Fail(ErrorCode::kProtocol, "decode {}: {} trailing bytes", what, bytes_.size() - pos_);
  }
  return {};
}

}  // namespace ftvm
