// The JSON boundary of control/: nlohmann-json lives behind these helpers, which never throw.
//
// Everything QMP-facing uses `Json` (insertion-ordered, so replies list fields in the order the
// code builds them, which is what people reading raw QMP expect). Parsing and printing catch
// nlohmann's exceptions here; handlers build values with the plain nlohmann API, and
// CommandRegistry catches anything a handler lets escape (see commands.h).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "base/result.h"

namespace ftvm::control {

using Json = nlohmann::ordered_json;

// Parses one complete JSON text. Errors are kProtocol with the parser's reason and position,
// e.g. "syntax error while parsing object - unexpected '}'; expected string literal (byte 9)".
Result<Json> ParseJson(std::string_view text);

// Compact one-line text of a whole QMP message. Invalid UTF-8 inside strings is replaced by
// U+FFFD; never throws (should allocation fail, the text is a QMP GenericError instead).
std::string DumpJson(const Json& value);

// QAPI's name for the type of `value` in error messages: "boolean", "integer", "number",
// "string", "array", "object" or "null".
std::string_view JsonTypeName(const Json& value);

}  // namespace ftvm::control
