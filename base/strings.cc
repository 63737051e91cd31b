#include "base/strings.h"

#include <charconv>
#include <limits>

namespace ftvm {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(sep, pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

Result<uint64_t> ParseU64(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not an unsigned number", text);
  }
  return value;
}

Result<uint64_t> ParseSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  FTVM_ASSIGN_OR_RETURN(const uint64_t number, ParseU64(text.substr(0, digits)));
  std::string_view suffix = text.substr(digits);
  if (suffix.ends_with("iB")) suffix.remove_suffix(2);
  if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b')) suffix.remove_suffix(1);
  unsigned shift = 0;
  if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      case 't':
      case 'T':
        shift = 40;
        break;
      case 'b':
      case 'B':
        shift = 0;
        break;
      default:
        return Fail(ErrorCode::kInvalidArgument, "size '{}': unknown suffix (use K, M, G, T)",
                    text);
    }
  } else if (!suffix.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "size '{}': unknown suffix (use K, M, G, T)", text);
  }
  if (shift > 0 && number > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return Fail(ErrorCode::kInvalidArgument, "size '{}' is too large", text);
  }
  return number << shift;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // A pattern with more literal bytes than the text cannot match: this bounds the work below
  // to O(text^2) whatever the pattern's length.
  size_t literals = 0;
  for (char c : pattern) literals += c == '*' ? 0 : 1;
  if (literals > text.size()) return false;
  // Greedy match remembering the last '*': on a mismatch, let that star swallow one more byte.
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool IsGlobPattern(std::string_view text) {
  return text.find_first_of("*?") != std::string_view::npos;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace ftvm
