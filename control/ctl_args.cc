#include <charconv>
#include <cstdlib>

#include "base/strings.h"
#include "control/ctl.h"

namespace ftvm::control::ctl {
namespace {

bool IsInteger(std::string_view text) {
  if (text.starts_with('-')) text.remove_prefix(1);
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// One key=value value, typed (see ctl.h).
Json TypedValue(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (text == "null") return nullptr;
  if (IsInteger(text)) {
    if (text.starts_with('-')) {
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && ptr == text.data() + text.size()) return value;
    } else if (Result<uint64_t> value = ParseU64(text)) {
      return *value;
    }
    return std::string(text);  // out of range: let the server say what it expects
  }
  if (!text.empty() && text.front() >= '0' && text.front() <= '9') {
    if (Result<uint64_t> bytes = ParseSize(text)) return *bytes;
    char* end = nullptr;
    const std::string copy(text);
    const double number = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() + copy.size()) return number;
  }
  if (text.starts_with('[') || text.starts_with('{') || text.starts_with('"')) {
    if (Result<Json> parsed = ParseJson(text)) return std::move(*parsed);
  }
  return std::string(text);
}

}  // namespace

Result<Json> ParseArguments(std::span<const std::string> words) {
  if (words.size() == 1 && words[0].starts_with('{')) {
    Result<Json> object = ParseJson(words[0]);
    if (!object)
      return Fail(ErrorCode::kInvalidArgument, "arguments: {}", object.error().context());
    if (!object->is_object()) return Fail(ErrorCode::kInvalidArgument, "arguments: not an object");
    return object;
  }
  Json arguments = Json::object();
  for (const std::string& word : words) {
    if (word.starts_with('{')) {
      return Fail(ErrorCode::kInvalidArgument,
                  "a JSON object must be the only argument (got it beside key=value words)");
    }
    const size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(ErrorCode::kInvalidArgument, "'{}': expected key=value or a JSON object", word);
    }
    const std::string key = word.substr(0, eq);
    if (arguments.contains(key)) {
      return Fail(ErrorCode::kInvalidArgument, "'{}' given twice", key);
    }
    arguments[key] = TypedValue(std::string_view(word).substr(eq + 1));
  }
  return arguments;
}

}  // namespace ftvm::control::ctl
