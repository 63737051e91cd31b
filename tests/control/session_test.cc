#include "control/session.h"

#include <gtest/gtest.h>

#include <string>

#include "control/protocol.h"

namespace ftvm::control {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : session_(registry_) {}

  // Handles `text` and returns the parsed reply, checking the line framing on the way.
  Json Send(std::string_view text) {
    const std::string line = session_.Handle(text);
    EXPECT_TRUE(line.ends_with("\r\n")) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per reply: " << line;
    return Json::parse(line);
  }
  void Negotiate() {
    ASSERT_EQ(Send(R"({"execute": "qmp_capabilities"})"), Json::parse(R"({"return": {}})"));
  }

  CommandRegistry registry_;
  Session session_;
};

Json Error(std::string_view error_class, std::string_view desc) {
  return Json{{"error", {{"class", error_class}, {"desc", desc}}}};
}
Json Error(std::string_view error_class, std::string_view desc, Json id) {
  Json reply = Error(error_class, desc);
  reply["id"] = std::move(id);
  return reply;
}

TEST(ProtocolTest, GreetingCarriesVersionAndNoCapabilities) {
  const std::string line =
      EncodeGreeting(VersionInfo{.major = 1, .minor = 2, .micro = 3, .package = "ftvm 1.2.3"});
  EXPECT_EQ(line,
            R"({"QMP":{"version":{"qemu":{"micro":3,"minor":2,"major":1},"package":"ftvm 1.2.3"},)"
            R"("capabilities":[]}})"
            "\r\n");
  const VersionInfo ours = FtvmVersion();
  EXPECT_EQ(ours.package, fmt::format("ftvm {}.{}.{}", ours.major, ours.minor, ours.micro));
}

TEST(ProtocolTest, EventsCarryTimestampAndOmitNullData) {
  EXPECT_EQ(EncodeEvent("STOP", nullptr, 1'700'000'000'123'456'789),
            R"({"event":"STOP","timestamp":{"seconds":1700000000,"microseconds":123456}})"
            "\r\n");
  EXPECT_EQ(EncodeEvent("FAILOVER", Json{{"mode", "secondary"}}, 5'000'000),
            R"({"event":"FAILOVER","data":{"mode":"secondary"},)"
            R"("timestamp":{"seconds":0,"microseconds":5000}})"
            "\r\n");
}

TEST_F(SessionTest, RefusesCommandsBeforeNegotiationTheWayQemuDoes) {
  EXPECT_EQ(
      Send(R"({"execute": "query-commands", "id": 1})"),
      Error("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'", 1));
  EXPECT_EQ(Send(R"({"execute": "no-such-command"})"),
            Error("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"));
  EXPECT_FALSE(session_.negotiated());
}

TEST_F(SessionTest, NegotiationRefusesUnofferedCapabilitiesAndCompletesOnce) {
  EXPECT_EQ(Send(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}, "id": 7})"),
            Error("GenericError", "Capability 'oob' not available", 7));
  EXPECT_FALSE(session_.negotiated());
  EXPECT_EQ(Send(R"({"execute": "qmp_capabilities", "arguments": {"enable": []}, "id": "a"})"),
            Json::parse(R"({"return": {}, "id": "a"})"));
  EXPECT_TRUE(session_.negotiated());
  EXPECT_EQ(
      Send(R"({"execute": "qmp_capabilities"})"),
      Error("CommandNotFound", "Capabilities negotiation is already complete, command ignored"));
}

TEST_F(SessionTest, UnknownCommandsAreCommandNotFound) {
  Negotiate();
  EXPECT_EQ(Send(R"({"execute": "query-foo", "id": 3})"),
            Error("CommandNotFound", "The command query-foo has not been found", 3));
}

TEST_F(SessionTest, MalformedInputGetsQemusShapeErrors) {
  Negotiate();
  Json parse_error = Send(R"({"execute": "query-commands",})");
  EXPECT_EQ(parse_error["error"]["class"], "GenericError");
  EXPECT_TRUE(parse_error["error"]["desc"].get<std::string>().starts_with("JSON parse error, "))
      << parse_error;
  EXPECT_FALSE(parse_error.contains("id"));
  EXPECT_EQ(Send("[1, 2]"), Error("GenericError", "QMP input must be a JSON object"));
  EXPECT_EQ(Send("42"), Error("GenericError", "QMP input must be a JSON object"));
  EXPECT_EQ(Send(R"({"id": 5})"), Error("GenericError", "QMP input lacks member 'execute'", 5));
  EXPECT_EQ(Send(R"({"execute": 1, "id": 6})"),
            Error("GenericError", "QMP input member 'execute' must be a string", 6));
  EXPECT_EQ(Send(R"({"execute": "query-commands", "arguments": [], "id": 7})"),
            Error("GenericError", "QMP input member 'arguments' must be an object", 7));
  EXPECT_EQ(Send(R"({"execute": "query-commands", "argument": {}})"),
            Error("GenericError", "QMP input member 'argument' is unexpected"));
  EXPECT_EQ(Send(R"({"execute": "query-commands", "arguments": {"x": 1}})"),
            Error("GenericError", "Parameter 'x' is unexpected"));
  // Invalid UTF-8 never reaches a handler.
  Json bad_utf8 = Send("{\"execute\": \"q\xff\"}");
  EXPECT_TRUE(bad_utf8["error"]["desc"].get<std::string>().starts_with("JSON parse error, "));
}

TEST_F(SessionTest, EchoesIdsOfAnyType) {
  Negotiate();
  for (const char* id : {R"("text")", "0", "-1", "1.5", "null", "true", R"({"a": [1]})", "[]"}) {
    Json reply = Send(fmt::format(R"({{"execute": "query-commands", "id": {}}})", id));
    ASSERT_TRUE(reply.contains("id")) << id;
    EXPECT_EQ(reply["id"], Json::parse(id));
    EXPECT_TRUE(reply.contains("return"));
  }
}

}  // namespace
}  // namespace ftvm::control
