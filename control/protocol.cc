#include "control/protocol.h"

#include <utility>

namespace ftvm::control {
namespace {

std::string Line(const Json& message) { return DumpJson(message) + "\r\n"; }

// qmp_dispatch_check_obj() in QEMU: the same checks, in the same words.
std::optional<QmpError> CheckShape(const Json& object) {
  bool has_execute = false;
  for (const auto& [key, value] : object.items()) {
    if (key == "execute") {
      if (!value.is_string())
        return QmpError::Generic("QMP input member 'execute' must be a string");
      has_execute = true;
    } else if (key == "arguments") {
      if (!value.is_object()) {
        return QmpError::Generic("QMP input member 'arguments' must be an object");
      }
    } else if (key != "id") {
      return QmpError::Generic(fmt::format("QMP input member '{}' is unexpected", key));
    }
  }
  if (!has_execute) return QmpError::Generic("QMP input lacks member 'execute'");
  return std::nullopt;
}

}  // namespace

QmpError ToQmpError(const Error& error) {
  return QmpError::Generic(error.sys_errno() != 0 ? error.ToString() : error.context());
}

VersionInfo FtvmVersion() {
  return VersionInfo{
      FTVM_VERSION_MAJOR, FTVM_VERSION_MINOR, FTVM_VERSION_PATCH,
      fmt::format("ftvm {}.{}.{}", FTVM_VERSION_MAJOR, FTVM_VERSION_MINOR, FTVM_VERSION_PATCH)};
}

std::expected<Request, RequestError> ParseRequest(std::string_view text) {
  Result<Json> parsed = ParseJson(text);
  if (!parsed) {
    return std::unexpected(RequestError{
        QmpError::Generic(fmt::format("JSON parse error, {}", parsed.error().context())), {}});
  }
  Json& object = *parsed;
  if (!object.is_object()) {
    return std::unexpected(RequestError{QmpError::Generic("QMP input must be a JSON object"), {}});
  }
  std::optional<Json> id;
  if (auto it = object.find("id"); it != object.end()) id = std::move(*it);
  if (std::optional<QmpError> error = CheckShape(object)) {
    return std::unexpected(RequestError{std::move(*error), std::move(id)});
  }
  Request request;
  request.command = object["execute"].get_ref<const std::string&>();
  if (auto it = object.find("arguments"); it != object.end()) request.arguments = std::move(*it);
  request.id = std::move(id);
  return request;
}

std::string EncodeGreeting(const VersionInfo& version) {
  Json qemu = {{"micro", version.micro}, {"minor", version.minor}, {"major", version.major}};
  Json greeting = {{"QMP",
                    {{"version", {{"qemu", std::move(qemu)}, {"package", version.package}}},
                     {"capabilities", Json::array()}}}};
  return Line(greeting);
}

std::string EncodeReturn(const Json& value, const std::optional<Json>& id) {
  Json reply = {{"return", value}};
  if (id) reply["id"] = *id;
  return Line(reply);
}

std::string EncodeError(const QmpError& error, const std::optional<Json>& id) {
  Json reply = {{"error", {{"class", error.error_class}, {"desc", error.desc}}}};
  if (id) reply["id"] = *id;
  return Line(reply);
}

std::string EncodeEvent(std::string_view name, const Json& data, uint64_t realtime_ns) {
  Json event = {{"event", name}};
  if (!data.is_null()) event["data"] = data;
  event["timestamp"] = {{"seconds", realtime_ns / 1'000'000'000},
                        {"microseconds", realtime_ns % 1'000'000'000 / 1'000}};
  return Line(event);
}

}  // namespace ftvm::control
