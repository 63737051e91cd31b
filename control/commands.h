// The command registry: every QMP command with its declared argument schema.
//
// Arguments are validated against the schema before a handler runs, with QEMU's wording:
//   missing required      "Parameter 'name' is missing"
//   undeclared            "Parameter 'name' is unexpected"
//   wrong JSON type       "Invalid parameter type for 'name', expected: integer"
//   outside the range     "Parameter 'name' expects an integer in the range of 1 to 60000"
//   string too long       "Parameter 'name' expects a string of at most 256 bytes"
// so handlers read their arguments through `Args` without re-checking them.
//
// Handlers return Result<Json>; an Error reaches the client as a GenericError whose desc is the
// error's context. Exceptions never leave Call(): anything a handler throws becomes a
// GenericError too.
//
// Thread safety: build the registry (Add) before handing it to the Server; afterwards it is
// read-only and Call() may run concurrently with readers. Handlers themselves run on the
// server's thread (see server.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "control/json.h"
#include "control/protocol.h"

namespace ftvm::control {

enum class ArgType : uint8_t { kBool, kInt, kUint, kString, kStringList };
enum class Presence : uint8_t { kRequired, kOptional };

struct ArgSpec {
  std::string name{};
  ArgType type = ArgType::kBool;
  Presence presence = Presence::kOptional;
  int64_t int_min = INT64_MIN;  // kInt: inclusive range
  int64_t int_max = INT64_MAX;
  uint64_t uint_min = 0;  // kUint: inclusive range
  uint64_t uint_max = UINT64_MAX;
  size_t max_length = 4096;  // kString: bytes; kStringList: per item
  std::string help{};        // one line, for listings and docs

  static ArgSpec Bool(std::string name, Presence presence, std::string help);
  static ArgSpec Int(std::string name, Presence presence, int64_t min, int64_t max,
                     std::string help);
  static ArgSpec Uint(std::string name, Presence presence, uint64_t min, uint64_t max,
                      std::string help);
  static ArgSpec String(std::string name, Presence presence, size_t max_length, std::string help);
  static ArgSpec StringList(std::string name, Presence presence, std::string help);
};

// Validated arguments. Asking for an argument the command did not declare with that type is a
// bug (FTVM_CHECK); absent optional arguments yield the fallback / nullopt.
class Args {
 public:
  explicit Args(const Json& object) : object_(object) {}

  bool Has(std::string_view name) const;
  bool Bool(std::string_view name, bool fallback = false) const;
  std::optional<int64_t> Int(std::string_view name) const;
  std::optional<uint64_t> Uint(std::string_view name) const;
  std::string String(std::string_view name, std::string_view fallback = {}) const;
  std::vector<std::string> StringList(std::string_view name) const;
  const Json& json() const { return object_; }

 private:
  const Json* Find(std::string_view name) const;
  const Json& object_;
};

using Handler = std::function<Result<Json>(const Args& args)>;

struct CommandSpec {
  std::string name{};
  std::string help{};  // one line
  std::vector<ArgSpec> args{};
  Handler handler{};
  std::vector<std::string> aliases{};  // other names for the same command
};

class CommandRegistry {
 public:
  // Starts with the protocol's own commands: qmp_capabilities (no capabilities are offered, so
  // any requested one is refused the way QEMU refuses an unavailable one) and query-commands.
  CommandRegistry();
  CommandRegistry(const CommandRegistry&) = delete;  // handlers may hold `this`
  CommandRegistry& operator=(const CommandRegistry&) = delete;

  // kInvalidArgument if the name, an alias or an argument name is taken or empty, or the
  // handler is empty.
  Result<void> Add(CommandSpec spec);

  // By name or alias; nullptr if unknown.
  const CommandSpec* Find(std::string_view name) const;
  // Every name and alias, sorted.
  std::vector<std::string> Names() const;

  // Validates `arguments` (a JSON object) against `command`'s schema, then runs its handler.
  std::expected<Json, QmpError> Call(const CommandSpec& command, const Json& arguments) const;

 private:
  std::vector<std::unique_ptr<CommandSpec>> commands_;
  std::map<std::string, const CommandSpec*, std::less<>> by_name_;
};

// Validation alone (exposed for tests and the fuzzer): nullopt when `arguments` fits `args`.
std::optional<QmpError> ValidateArguments(const std::vector<ArgSpec>& args, const Json& arguments);

}  // namespace ftvm::control
