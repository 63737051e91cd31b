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

// Shell-style glob with only '*' (any run, also empty) and '?' (one byte), like QEMU's trace
// patterns (g_pattern_match_simple). Every other byte matches itself. Linear in practice and
// never worse than O(text * pattern) (no backtracking blow-up, unlike fnmatch on "*a*a*a*b").
bool GlobMatch(std::string_view pattern, std::string_view text);
// True if `text` contains a glob metacharacter ('*' or '?').
bool IsGlobPattern(std::string_view text);

// "1.5 GiB", "64 KiB", "17 B".
std::string FormatBytes(uint64_t bytes);

}  // namespace ftvm
