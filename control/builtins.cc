#include "control/builtins.h"

#include <utility>

#include "base/strings.h"
#include "base/trace.h"
#include "control/log.h"

namespace ftvm::control {
namespace {

// QEMU 7.2's TraceEventInfo: {"name", "state": "enabled" | "disabled" | "unavailable", "vcpu"}
// ("vcpu" is always false: ftvm has no per-vCPU events; kept because the schema requires it).
Result<Json> ListEvents(std::string_view glob) {
  Json list = Json::array();
  for (const trace::EventState& event : trace::List()) {
    if (!GlobMatch(glob, event.name)) continue;
    list.push_back(
        {{"name", event.name}, {"state", event.enabled ? "enabled" : "disabled"}, {"vcpu", false}});
  }
  // As QEMU: an exact name that matches nothing is an error, a pattern matching nothing is not.
  if (list.empty() && !IsGlobPattern(glob)) {
    return Fail(ErrorCode::kNotFound, "unknown event \"{}\"", glob);
  }
  return list;
}

CommandSpec TraceListCommand(std::string name, Presence presence) {
  return CommandSpec{
      .name = std::move(name),
      .help = "list trace events matching a glob, with their state",
      .args = {ArgSpec::String("name", presence, kMaxTraceGlobBytes,
                               "glob over event names ('*' and '?'), default '*'")},
      .handler = [](const Args& args) { return ListEvents(args.String("name", "*")); }};
}

CommandSpec TraceSetStateCommand() {
  return CommandSpec{
      .name = "trace-event-set-state",
      .help = "enable or disable the trace events matching a glob",
      .args = {ArgSpec::String("name", Presence::kRequired, kMaxTraceGlobBytes,
                               "glob over event names ('*' and '?')"),
               ArgSpec::Bool("enable", Presence::kRequired, "true to enable, false to disable"),
               ArgSpec::Bool("ignore-unavailable", Presence::kOptional,
                             "accepted for QEMU compatibility; no ftvm event is unavailable")},
      .handler = [](const Args& args) -> Result<Json> {
        const std::string glob = args.String("name");
        const bool enable = args.Bool("enable");
        const size_t matched = trace::SetState(glob, enable);
        if (matched == 0 && !IsGlobPattern(glob)) {
          return Fail(ErrorCode::kNotFound, "unknown event \"{}\"", glob);
        }
        Log().info("trace events '{}' {} ({} matched)", glob, enable ? "enabled" : "disabled",
                   matched);
        return Json::object();
      }};
}

}  // namespace

Result<void> RegisterBuiltinCommands(CommandRegistry& registry, BuiltinHooks hooks) {
  const VersionInfo version = hooks.version;
  FTVM_TRY(registry.Add(CommandSpec{
      .name = "query-version",
      .help = "the version of this ftvm process",
      .args = {},
      .handler = [version](const Args&) -> Result<Json> {
        return Json{
            {"qemu",
             {{"micro", version.micro}, {"minor", version.minor}, {"major", version.major}}},
            {"package", version.package}};
      }}));
  FTVM_TRY(registry.Add(TraceListCommand("trace-event-list", Presence::kOptional)));
  FTVM_TRY(registry.Add(TraceListCommand("trace-event-get-state", Presence::kRequired)));
  FTVM_TRY(registry.Add(TraceSetStateCommand()));
  if (hooks.quit) {
    FTVM_TRY(registry.Add(
        CommandSpec{.name = "quit",
                    .help = "stop this ftvm process",
                    .args = {},
                    .handler = [quit = std::move(hooks.quit)](const Args&) -> Result<Json> {
                      Log().info("quit requested over the control socket");
                      quit();
                      return Json::object();
                    }}));
  }
  return {};
}

}  // namespace ftvm::control
