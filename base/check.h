// A broken invariant is a bug: FTVM_CHECK aborts with the condition, location and a message.
// Use it for conditions no input can cause; input errors are Results.
#pragma once

#include <fmt/format.h>

namespace ftvm::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const std::string& message);
}  // namespace ftvm::internal

#define FTVM_CHECK(cond, ...)                                                      \
  do {                                                                             \
    if (!(cond)) [[unlikely]]                                                      \
      ::ftvm::internal::CheckFailed(__FILE__, __LINE__, #cond,                     \
                                    ::fmt::format("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
