#include "control/json.h"

#include <exception>

namespace ftvm::control {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1,
// column 9: "; clients need only the reason (the position is added back as a byte offset).
std::string_view StripPrefix(std::string_view what) {
  if (const size_t colon = what.find(": ");
      what.starts_with("[json.exception.") && colon != std::string_view::npos) {
    what.remove_prefix(colon + 2);
  }
  return what;
}

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Fail(ErrorCode::kProtocol, "{} (byte {})", StripPrefix(e.what()), e.byte);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kProtocol, "{}", StripPrefix(e.what()));
  }
}

std::string DumpJson(const Json& value) {
  try {
    return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  } catch (const std::exception&) {
    // Only allocation failure can get here; report it in-band rather than unwinding.
    return R"({"error": {"class": "GenericError", "desc": "reply could not be encoded"}})";
  }
}

std::string_view JsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    case Json::value_t::null:
    case Json::value_t::discarded:
    case Json::value_t::binary:
      break;
  }
  return "null";
}

}  // namespace ftvm::control
