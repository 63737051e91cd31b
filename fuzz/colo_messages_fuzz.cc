// libFuzzer target: the colo/ control-message decoder (Hello ... Goodbye, 0x02xx).
//
// Invariants: DecodeColoMessage never crashes or reads outside the input; a VmstateData view
// lies inside the input; a VmstateSize never announces more than kMaxVmstateBytes; every accepted
// message re-encodes to bytes that decode to the same encoding again (the codec round-trips).
#include <cstdlib>
#include <cstring>
#include <variant>
#include <vector>

#include "colo/messages.h"

namespace {

using namespace ftvm::colo;  // NOLINT(google-build-using-namespace)

void CheckInvariants(const ColoMessage& m, std::span<const std::byte> input) {
  if (const auto* data = std::get_if<VmstateData>(&m)) {
    const std::byte* begin = input.data();
    const std::byte* end = input.data() + input.size();
    if (!data->bytes.empty() &&
        (data->bytes.data() < begin || data->bytes.data() + data->bytes.size() > end)) {
      std::abort();
    }
  }
  if (const auto* size = std::get_if<VmstateSize>(&m)) {
    if (size->size > kMaxVmstateBytes) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  auto decoded = DecodeColoMessage(input);
  if (!decoded) return 0;
  CheckInvariants(*decoded, input);
  std::vector<std::byte> first;
  Encode(*decoded, &first);
  auto again = DecodeColoMessage(first);
  if (!again || again->index() != decoded->index()) std::abort();
  std::vector<std::byte> second;
  Encode(*again, &second);
  if (first != second) std::abort();
  return 0;
}
