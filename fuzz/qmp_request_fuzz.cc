// libFuzzer target for the control socket's request path: arbitrary bytes, fed in chunks of a
// fuzzer-chosen size through the JsonSplitter and a Session (request parser, argument
// validation, dispatch to the builtins and to target commands backed by a bare ControlTarget).
//
// Oracle beyond "no crash, no sanitizer report": every reply is one line of valid JSON holding
// exactly one of "return" or "error".
//
// Input layout: byte 0 = flags (bit 7: start negotiated; bits 0-5: chunk size - 1), then the
// stream a client would send.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "base/log.h"
#include "control/builtins.h"
#include "control/commands.h"
#include "control/session.h"
#include "control/splitter.h"
#include "control/target.h"
#include "control/target_commands.h"

namespace {

using namespace ftvm::control;  // NOLINT(google-build-using-namespace)

const CommandRegistry& Registry() {
  static ControlTarget* target = new ControlTarget();  // every method "not available"
  static CommandRegistry* registry = [] {
    (void)ftvm::SetLogLevels("error");  // info lines per trace-event-set-state would dominate
    auto* r = new CommandRegistry();
    FTVM_CHECK(RegisterBuiltinCommands(*r, BuiltinHooks{.quit = [] {}}).has_value());
    FTVM_CHECK(RegisterTargetCommands(*r, *target).has_value());
    // One command with every argument type, so validation of each is reachable.
    FTVM_CHECK(r->Add(CommandSpec{.name = "fuzz-all-types",
                                  .help = "echo",
                                  .args = {ArgSpec::Bool("b", Presence::kRequired, ""),
                                           ArgSpec::Int("i", Presence::kOptional, -100, 100, ""),
                                           ArgSpec::Uint("u", Presence::kOptional, 5, 1000, ""),
                                           ArgSpec::String("s", Presence::kOptional, 16, ""),
                                           ArgSpec::StringList("l", Presence::kOptional, "")},
                                  .handler = [](const Args& args) -> ftvm::Result<Json> {
                                    return Json{{"b", args.Bool("b")},
                                                {"i", args.Int("i").value_or(0)},
                                                {"u", args.Uint("u").value_or(0)},
                                                {"s", args.String("s")},
                                                {"l", args.StringList("l")}};
                                  }})
                   .has_value());
    return r;
  }();
  return *registry;
}

void CheckReply(const std::string& reply) {
  FTVM_CHECK(reply.size() >= 2 && reply.ends_with("\r\n"), "reply not a line: {}", reply);
  FTVM_CHECK(reply.find('\n') == reply.size() - 1, "reply spans lines: {}", reply);
  auto parsed = ParseJson(std::string_view(reply).substr(0, reply.size() - 2));
  FTVM_CHECK(parsed.has_value(), "reply is not JSON: {}", reply);
  FTVM_CHECK(parsed->is_object() && (parsed->contains("return") != parsed->contains("error")),
             "reply has neither or both of return/error: {}", reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t chunk = (flags & 0x3f) + 1;

  JsonSplitter splitter(SplitterLimits{.max_message_bytes = 4096, .max_depth = 32});
  Session session(Registry());
  if ((flags & 0x80) != 0) CheckReply(session.Handle(R"({"execute":"qmp_capabilities"})"));
  for (size_t offset = 0; offset < stream.size(); offset += chunk) {
    splitter.Append(stream.substr(offset, chunk));
    for (;;) {
      auto text = splitter.Next();
      if (!text) return 0;  // oversized or too deep: the server disconnects here
      if (!*text) break;
      CheckReply(session.Handle(**text));
    }
  }
  return 0;
}
