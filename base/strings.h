// Small string helpers shared by every library (parsing of flags, specs and URIs).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ftvm {

// Splits on `sep`, dropping empty items: Split("a,,b", ',') == {"a", "b"}.
std::vector<std::string_view> Split(std::string_view text, char sep);

// Parses a whole unsigned decimal number; rejects signs, spaces, trailing text and overflow.
Result<uint64_t> ParseU64(std::string_view text);

// Parses a size with an optional binary suffix: "4096", "64K", "1M", "2G", "1GiB", "1T".
Result<uint64_t> ParseSize(std::string_view text);

// "1.5 GiB", "64 KiB", "17 B".
std::string FormatBytes(uint64_t bytes);

}  // namespace ftvm
