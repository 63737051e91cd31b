// A registry and a Session driven directly (no socket): Run() one command, compare the reply
// with Ok() / Err().
#pragma once

#include <gtest/gtest.h>

#include <string_view>
#include <utility>

#include "control/commands.h"
#include "control/session.h"

namespace ftvm::control::testing {

class SessionHarness : public ::testing::Test {
 protected:
  Json Run(std::string_view command, Json arguments = Json::object()) {
    Json request = {{"execute", command}, {"arguments", std::move(arguments)}};
    return Json::parse(session_.Handle(DumpJson(request)));
  }
  static Json Ok(Json value) { return Json{{"return", std::move(value)}}; }
  static Json Err(std::string_view desc) {
    return Json{{"error", {{"class", "GenericError"}, {"desc", desc}}}};
  }

  CommandRegistry registry_;
  Session session_{registry_};
};

}  // namespace ftvm::control::testing
