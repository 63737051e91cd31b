#include "app/cli.h"

#include <cstdio>
#include <string>

namespace ftvm::app {

int ExitCodeFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
      return kExitUsage;
    case ErrorCode::kCorrupt:
    case ErrorCode::kProtocol:
      return kExitDataError;
    case ErrorCode::kUnsupported:
      return kExitUnavailable;
    case ErrorCode::kTimeout:
      return kExitTimeout;
    case ErrorCode::kAborted:
      return kExitGuestCrashed;
    case ErrorCode::kSys:
      return error.sys_errno() == ENOENT || error.sys_errno() == EACCES ||
                     error.sys_errno() == EIO || error.sys_errno() == ENOSPC
                 ? kExitIo
                 : kExitSoftware;
    default:
      return kExitSoftware;
  }
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  using std::chrono::nanoseconds;
  const std::string s(text);
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(s, &used);
  } catch (const std::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "bad duration '{}'", text);
  }
  const std::string_view unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1e9;
  if (unit == "ms") scale = 1e6;
  if (unit == "us") scale = 1e3;
  if (unit == "m") scale = 60e9;
  if (unit == "h") scale = 3600e9;
  if (scale == 0 || value < 0 || value * scale > 1e18) {
    return Fail(ErrorCode::kInvalidArgument, "bad duration '{}' (e.g. 500ms, 2s, 1m)", text);
  }
  return nanoseconds(static_cast<int64_t>(value * scale));
}

int Report(std::string_view what, const Error& error) {
  std::fprintf(stderr, "ftvm: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               error.ToString().c_str());
  return ExitCodeFor(error);
}

}  // namespace ftvm::app
