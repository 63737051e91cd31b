// QMP wire format (what QEMU's monitor speaks, so qmp-shell, socat and python qemu.qmp work):
//
//   server -> {"QMP": {"version": {"qemu": {"major", "minor", "micro"}, "package"},
//                      "capabilities": []}}
//   client -> {"execute": "qmp_capabilities"}          (nothing else is accepted before it)
//   server -> {"return": {}}
//   client -> {"execute": NAME, "arguments": {...}, "id": ANY}     ("arguments", "id" optional)
//   server -> {"return": VALUE, "id": ANY}  or  {"error": {"class", "desc"}, "id": ANY}
//   server -> {"event": NAME, "data": {...}, "timestamp": {"seconds", "microseconds"}}
//
// Every server message is one line ending in "\r\n", as QEMU sends them. Error classes and
// descriptions follow QEMU's (qapi/qmp-dispatch.c, qapi/qobject-input-visitor.c).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "control/json.h"

namespace ftvm::control {

// QEMU's error classes (qapi/error.json).
inline constexpr std::string_view kGenericError = "GenericError";
inline constexpr std::string_view kCommandNotFound = "CommandNotFound";

struct QmpError {
  std::string error_class;
  std::string desc;

  static QmpError Generic(std::string desc) {
    return {std::string(kGenericError), std::move(desc)};
  }
  bool operator==(const QmpError&) const = default;
};

// A handler's Error as the client sees it: GenericError, desc = the error's context (plus
// strerror for system errors).
QmpError ToQmpError(const Error& error);

struct VersionInfo {
  int major = 0;
  int minor = 0;
  int micro = 0;
  std::string package;  // free text, "ftvm 0.1.0"
};
// This build's version (from the CMake project version).
VersionInfo FtvmVersion();

struct Request {
  std::string command;
  Json arguments = Json::object();
  std::optional<Json> id;  // echoed verbatim in the reply
};

struct RequestError {
  QmpError error;
  std::optional<Json> id;  // present when the text was an object carrying "id"
};

// Parses and shape-checks one JSON text from the splitter: a JSON object whose "execute" is a
// string, optional "arguments" object and "id" of any type, and no other member. Never throws.
std::expected<Request, RequestError> ParseRequest(std::string_view text);

// Server messages, each a line ending in "\r\n".
std::string EncodeGreeting(const VersionInfo& version);
std::string EncodeReturn(const Json& value, const std::optional<Json>& id);
std::string EncodeError(const QmpError& error, const std::optional<Json>& id);
// `data` is omitted when null, as QEMU does for events without data.
std::string EncodeEvent(std::string_view name, const Json& data, uint64_t realtime_ns);

}  // namespace ftvm::control
