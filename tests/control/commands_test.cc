#include "control/commands.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace ftvm::control {
namespace {

const std::vector<ArgSpec>& Schema() {
  static const std::vector<ArgSpec> schema = {
      ArgSpec::Bool("flag", Presence::kRequired, "a flag"),
      ArgSpec::Int("offset", Presence::kOptional, -5, 5, "signed"),
      ArgSpec::Uint("delay", Presence::kOptional, 1, 1000, "unsigned"),
      ArgSpec::String("name", Presence::kOptional, 8, "short string"),
      ArgSpec::StringList("tags", Presence::kOptional, "strings"),
  };
  return schema;
}

// The desc of the validation error for `arguments` (JSON text), or "" if valid.
std::string Check(const char* arguments) {
  auto error = ValidateArguments(Schema(), Json::parse(arguments));
  if (!error) return "";
  EXPECT_EQ(error->error_class, "GenericError");
  return error->desc;
}

TEST(ValidateArgumentsTest, AcceptsDeclaredArgumentsOfTheRightTypes) {
  EXPECT_EQ(Check(R"({"flag": true})"), "");
  EXPECT_EQ(Check(R"({"flag": false, "offset": -5, "delay": 1000, "name": "12345678",
                      "tags": ["a", "b"]})"),
            "");
  EXPECT_EQ(Check(R"({"flag": true, "tags": []})"), "");
}

TEST(ValidateArgumentsTest, NamesTheMissingOrUnexpectedParameter) {
  EXPECT_EQ(Check("{}"), "Parameter 'flag' is missing");
  EXPECT_EQ(Check(R"({"flag": true, "extra": 1})"), "Parameter 'extra' is unexpected");
  // Declared members are checked before leftovers, as QEMU's visitor does.
  EXPECT_EQ(Check(R"({"extra": 1})"), "Parameter 'flag' is missing");
}

TEST(ValidateArgumentsTest, WrongTypesSayWhatWasExpected) {
  EXPECT_EQ(Check(R"({"flag": 1})"), "Invalid parameter type for 'flag', expected: boolean");
  EXPECT_EQ(Check(R"({"flag": null})"), "Invalid parameter type for 'flag', expected: boolean");
  EXPECT_EQ(Check(R"({"flag": "true"})"), "Invalid parameter type for 'flag', expected: boolean");
  EXPECT_EQ(Check(R"({"flag": true, "offset": 1.5})"),
            "Invalid parameter type for 'offset', expected: integer");
  EXPECT_EQ(Check(R"({"flag": true, "delay": 10.0})"),
            "Invalid parameter type for 'delay', expected: integer");
  EXPECT_EQ(Check(R"({"flag": true, "delay": "10"})"),
            "Invalid parameter type for 'delay', expected: integer");
  EXPECT_EQ(Check(R"({"flag": true, "name": 7})"),
            "Invalid parameter type for 'name', expected: string");
  EXPECT_EQ(Check(R"({"flag": true, "tags": "a"})"),
            "Invalid parameter type for 'tags', expected: array");
  EXPECT_EQ(Check(R"({"flag": true, "tags": ["a", 2]})"),
            "Invalid parameter type for 'tags[1]', expected: string");
}

TEST(ValidateArgumentsTest, RangesAreInclusiveAndReported) {
  EXPECT_EQ(Check(R"({"flag": true, "offset": 6})"),
            "Parameter 'offset' expects an integer in the range of -5 to 5");
  EXPECT_EQ(Check(R"({"flag": true, "offset": -6})"),
            "Parameter 'offset' expects an integer in the range of -5 to 5");
  EXPECT_EQ(Check(R"({"flag": true, "offset": 9223372036854775808})"),
            "Parameter 'offset' expects an integer in the range of -5 to 5");
  EXPECT_EQ(Check(R"({"flag": true, "delay": 0})"),
            "Parameter 'delay' expects an integer in the range of 1 to 1000");
  EXPECT_EQ(Check(R"({"flag": true, "delay": 1001})"),
            "Parameter 'delay' expects an integer in the range of 1 to 1000");
  EXPECT_EQ(Check(R"({"flag": true, "delay": -1})"),
            "Parameter 'delay' expects an integer in the range of 1 to 1000");
  EXPECT_EQ(Check(R"({"flag": true, "delay": 18446744073709551615})"),
            "Parameter 'delay' expects an integer in the range of 1 to 1000");
  EXPECT_EQ(Check(R"({"flag": true, "name": "123456789"})"),
            "Parameter 'name' expects a string of at most 8 bytes");
}

CommandSpec Echo(std::string name, std::vector<std::string> aliases = {}) {
  return CommandSpec{.name = std::move(name),
                     .help = "echo",
                     .args = Schema(),
                     .handler = [](const Args& args) -> Result<Json> {
                       return Json{{"flag", args.Bool("flag")},
                                   {"offset", args.Int("offset").value_or(99)},
                                   {"delay", args.Uint("delay").value_or(99)},
                                   {"name", args.String("name", "none")},
                                   {"tags", args.StringList("tags")},
                                   {"has_name", args.Has("name")}};
                     },
                     .aliases = std::move(aliases)};
}

TEST(CommandRegistryTest, CallValidatesThenHandsTypedArgumentsToTheHandler) {
  CommandRegistry registry;
  ASSERT_TRUE(registry.Add(Echo("echo")).has_value());
  const CommandSpec* echo = registry.Find("echo");
  ASSERT_NE(echo, nullptr);
  auto result = registry.Call(*echo, Json::parse(R"({"flag": true, "offset": -2, "tags": ["t"]})"));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, Json::parse(R"({"flag": true, "offset": -2, "delay": 99, "name": "none",
                                     "tags": ["t"], "has_name": false})"));
  auto refused = registry.Call(*echo, Json::parse(R"({"offset": 1})"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().desc, "Parameter 'flag' is missing");
}

TEST(CommandRegistryTest, HandlerErrorsAndExceptionsBecomeGenericErrors) {
  CommandRegistry registry;
  ASSERT_TRUE(registry
                  .Add(CommandSpec{.name = "fails",
                                   .handler = [](const Args&) -> Result<Json> {
                                     return Fail(ErrorCode::kUnsupported, "no engine attached");
                                   }})
                  .has_value());
  ASSERT_TRUE(registry
                  .Add(CommandSpec{.name = "throws",
                                   .handler = [](const Args&) -> Result<Json> {
                                     Json j = 1;
                                     return j.at("missing");  // nlohmann throws type_error
                                   }})
                  .has_value());
  ASSERT_TRUE(registry
                  .Add(CommandSpec{.name = "throws-std",
                                   .handler = [](const Args&) -> Result<Json> {
                                     throw std::runtime_error("boom");
                                   }})
                  .has_value());
  auto fails = registry.Call(*registry.Find("fails"), Json::object());
  ASSERT_FALSE(fails.has_value());
  EXPECT_EQ(fails.error(), QmpError::Generic("no engine attached"));
  auto throws = registry.Call(*registry.Find("throws"), Json::object());
  ASSERT_FALSE(throws.has_value());
  EXPECT_EQ(throws.error().error_class, "GenericError");
  EXPECT_TRUE(throws.error().desc.starts_with("throws: ")) << throws.error().desc;
  auto throws_std = registry.Call(*registry.Find("throws-std"), Json::object());
  ASSERT_FALSE(throws_std.has_value());
  EXPECT_EQ(throws_std.error().desc, "throws-std: boom");
}

TEST(CommandRegistryTest, RejectsTakenNamesAliasesAndDuplicateArguments) {
  CommandRegistry registry;
  ASSERT_TRUE(registry.Add(Echo("echo", {"x-echo"})).has_value());
  EXPECT_FALSE(registry.Add(Echo("echo")).has_value());
  EXPECT_FALSE(registry.Add(Echo("other", {"x-echo"})).has_value());
  EXPECT_FALSE(registry.Add(Echo("x-echo")).has_value());
  EXPECT_FALSE(registry.Add(Echo("query-commands")).has_value());
  EXPECT_FALSE(registry.Add(CommandSpec{.name = "no-handler"}).has_value());
  CommandSpec twice = Echo("twice");
  twice.args.push_back(ArgSpec::Bool("flag", Presence::kOptional, "again"));
  EXPECT_FALSE(registry.Add(std::move(twice)).has_value());
  EXPECT_EQ(registry.Find("x-echo"), registry.Find("echo"));
  EXPECT_EQ(registry.Find("twice"), nullptr);
}

TEST(CommandRegistryTest, NamesAreSortedAndIncludeAliasesAndProtocolCommands) {
  CommandRegistry registry;
  ASSERT_TRUE(registry.Add(Echo("echo", {"x-echo"})).has_value());
  EXPECT_EQ(registry.Names(),
            (std::vector<std::string>{"echo", "qmp_capabilities", "query-commands", "x-echo"}));
  auto listed = registry.Call(*registry.Find("query-commands"), Json::object());
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(*listed, Json::parse(R"([{"name": "echo"}, {"name": "qmp_capabilities"},
                                     {"name": "query-commands"}, {"name": "x-echo"}])"));
}

}  // namespace
}  // namespace ftvm::control
