#include "control/commands.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "base/check.h"

namespace ftvm::control {
namespace {

QmpError TypeError(std::string_view name, std::string_view expected) {
  return QmpError::Generic(
      fmt::format("Invalid parameter type for '{}', expected: {}", name, expected));
}

template <class T>
QmpError RangeError(std::string_view name, T min, T max) {
  return QmpError::Generic(
      fmt::format("Parameter '{}' expects an integer in the range of {} to {}", name, min, max));
}

// The value of one declared argument, present in the request.
std::optional<QmpError> CheckValue(const ArgSpec& spec, const Json& value) {
  switch (spec.type) {
    case ArgType::kBool:
      if (!value.is_boolean()) return TypeError(spec.name, "boolean");
      return std::nullopt;
    case ArgType::kInt: {
      if (!value.is_number_integer()) return TypeError(spec.name, "integer");
      const bool too_big =
          value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX);
      if (too_big || value.get<int64_t>() < spec.int_min || value.get<int64_t>() > spec.int_max) {
        return RangeError(spec.name, spec.int_min, spec.int_max);
      }
      return std::nullopt;
    }
    case ArgType::kUint: {
      if (!value.is_number_integer()) return TypeError(spec.name, "integer");
      const bool negative = !value.is_number_unsigned() && value.get<int64_t>() < 0;
      if (negative || value.get<uint64_t>() < spec.uint_min ||
          value.get<uint64_t>() > spec.uint_max) {
        return RangeError(spec.name, spec.uint_min, spec.uint_max);
      }
      return std::nullopt;
    }
    case ArgType::kString:
      if (!value.is_string()) return TypeError(spec.name, "string");
      if (value.get_ref<const std::string&>().size() > spec.max_length) {
        return QmpError::Generic(fmt::format("Parameter '{}' expects a string of at most {} bytes",
                                             spec.name, spec.max_length));
      }
      return std::nullopt;
    case ArgType::kStringList:
      if (!value.is_array()) return TypeError(spec.name, "array");
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) return TypeError(fmt::format("{}[{}]", spec.name, i), "string");
      }
      return std::nullopt;
  }
  return TypeError(spec.name, "value");
}

}  // namespace

ArgSpec ArgSpec::Bool(std::string name, Presence presence, std::string help) {
  return ArgSpec{.name = std::move(name),
                 .type = ArgType::kBool,
                 .presence = presence,
                 .help = std::move(help)};
}

ArgSpec ArgSpec::Int(std::string name, Presence presence, int64_t min, int64_t max,
                     std::string help) {
  return ArgSpec{.name = std::move(name),
                 .type = ArgType::kInt,
                 .presence = presence,
                 .int_min = min,
                 .int_max = max,
                 .help = std::move(help)};
}

ArgSpec ArgSpec::Uint(std::string name, Presence presence, uint64_t min, uint64_t max,
                      std::string help) {
  return ArgSpec{.name = std::move(name),
                 .type = ArgType::kUint,
                 .presence = presence,
                 .uint_min = min,
                 .uint_max = max,
                 .help = std::move(help)};
}

ArgSpec ArgSpec::String(std::string name, Presence presence, size_t max_length, std::string help) {
  return ArgSpec{.name = std::move(name),
                 .type = ArgType::kString,
                 .presence = presence,
                 .max_length = max_length,
                 .help = std::move(help)};
}

ArgSpec ArgSpec::StringList(std::string name, Presence presence, std::string help) {
  return ArgSpec{.name = std::move(name),
                 .type = ArgType::kStringList,
                 .presence = presence,
                 .help = std::move(help)};
}

std::optional<QmpError> ValidateArguments(const std::vector<ArgSpec>& args, const Json& arguments) {
  if (!arguments.is_object())
    return QmpError::Generic("QMP input member 'arguments' must be an object");
  // Declared members first, in declaration order, then leftovers: QEMU's visiting order.
  for (const ArgSpec& spec : args) {
    auto it = arguments.find(spec.name);
    if (it == arguments.end()) {
      if (spec.presence == Presence::kRequired) {
        return QmpError::Generic(fmt::format("Parameter '{}' is missing", spec.name));
      }
      continue;
    }
    if (std::optional<QmpError> error = CheckValue(spec, *it)) return error;
  }
  for (const auto& [key, value] : arguments.items()) {
    const bool declared =
        std::any_of(args.begin(), args.end(), [&](const ArgSpec& a) { return a.name == key; });
    if (!declared) return QmpError::Generic(fmt::format("Parameter '{}' is unexpected", key));
  }
  return std::nullopt;
}

// ---- Args ------------------------------------------------------------------------------------

const Json* Args::Find(std::string_view name) const {
  auto it = object_.find(name);
  return it == object_.end() ? nullptr : &*it;
}

bool Args::Has(std::string_view name) const { return Find(name) != nullptr; }

bool Args::Bool(std::string_view name, bool fallback) const {
  const Json* v = Find(name);
  if (v == nullptr) return fallback;
  FTVM_CHECK(v->is_boolean(), "argument '{}' read as boolean", name);
  return v->get<bool>();
}

std::optional<int64_t> Args::Int(std::string_view name) const {
  const Json* v = Find(name);
  if (v == nullptr) return std::nullopt;
  FTVM_CHECK(v->is_number_integer(), "argument '{}' read as integer", name);
  return v->get<int64_t>();
}

std::optional<uint64_t> Args::Uint(std::string_view name) const {
  const Json* v = Find(name);
  if (v == nullptr) return std::nullopt;
  FTVM_CHECK(v->is_number_integer(), "argument '{}' read as integer", name);
  return v->get<uint64_t>();
}

std::string Args::String(std::string_view name, std::string_view fallback) const {
  const Json* v = Find(name);
  if (v == nullptr) return std::string(fallback);
  FTVM_CHECK(v->is_string(), "argument '{}' read as string", name);
  return v->get<std::string>();
}

std::vector<std::string> Args::StringList(std::string_view name) const {
  std::vector<std::string> out;
  const Json* v = Find(name);
  if (v == nullptr) return out;
  FTVM_CHECK(v->is_array(), "argument '{}' read as array", name);
  for (const Json& item : *v) {
    FTVM_CHECK(item.is_string(), "argument '{}' item read as string", name);
    out.push_back(item.get<std::string>());
  }
  return out;
}

// ---- CommandRegistry -------------------------------------------------------------------------

CommandRegistry::CommandRegistry() {
  // Capabilities the greeting offers: none (no out-of-band execution), so any is refused.
  Result<void> added = Add(CommandSpec{
      .name = "qmp_capabilities",
      .help = "leave capabilities negotiation mode (the first command of every session)",
      .args = {ArgSpec::StringList("enable", Presence::kOptional, "capabilities to enable")},
      .handler = [](const Args& args) -> Result<Json> {
        const std::vector<std::string> wanted = args.StringList("enable");
        if (!wanted.empty()) {
          return Fail(ErrorCode::kUnsupported, "Capability '{}' not available", wanted.front());
        }
        return Json::object();
      }});
  FTVM_CHECK(added.has_value());
  added = Add(CommandSpec{.name = "query-commands",
                          .help = "list the commands this server accepts",
                          .args = {},
                          .handler = [this](const Args&) -> Result<Json> {
                            Json list = Json::array();
                            for (const std::string& name : Names())
                              list.push_back({{"name", name}});
                            return list;
                          }});
  FTVM_CHECK(added.has_value());
}

Result<void> CommandRegistry::Add(CommandSpec spec) {
  if (!spec.handler)
    return Fail(ErrorCode::kInvalidArgument, "command '{}' has no handler", spec.name);
  std::vector<std::string> names = spec.aliases;
  names.push_back(spec.name);
  for (const std::string& name : names) {
    if (name.empty() || by_name_.contains(name)) {
      return Fail(ErrorCode::kInvalidArgument, "command name '{}' is empty or taken", name);
    }
  }
  for (size_t i = 0; i < spec.args.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (spec.args[i].name == spec.args[j].name) {
        return Fail(ErrorCode::kInvalidArgument, "command '{}' declares '{}' twice", spec.name,
                    spec.args[i].name);
      }
    }
  }
  commands_.push_back(std::make_unique<CommandSpec>(std::move(spec)));
  for (const std::string& name : names) by_name_.emplace(name, commands_.back().get());
  return {};
}

const CommandSpec* CommandRegistry::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::string> CommandRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(by_name_.size());
  for (const auto& [name, spec] : by_name_) names.push_back(name);
  return names;  // std::map iterates in sorted order
}

std::expected<Json, QmpError> CommandRegistry::Call(const CommandSpec& command,
                                                    const Json& arguments) const {
  if (std::optional<QmpError> error = ValidateArguments(command.args, arguments)) {
    return std::unexpected(std::move(*error));
  }
  try {
    Result<Json> result = command.handler(Args(arguments));
    if (!result) return std::unexpected(ToQmpError(result.error()));
    return std::move(*result);
  } catch (const std::exception& e) {
    // The JSON boundary: a handler's nlohmann (or allocation) exception stops here.
    return std::unexpected(QmpError::Generic(fmt::format("{}: {}", command.name, e.what())));
  }
}

}  // namespace ftvm::control
