// One spdlog logger per library ("base", "rdma", "ram", "vmm", "colo", "control", "app",
// and "trace" for trace events), all writing to one shared stderr sink.
//
// Levels come from FTVM_LOG (e.g. "info", "debug", or "rdma=debug,warn" for per-logger levels)
// and can be changed at run time with SetLogLevels(). Libraries expose their logger as
// `Log()` in `<lib>/log.h`, built with FTVM_DEFINE_LIBRARY_LOGGER.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "base/result.h"

namespace ftvm {

// Returns the logger named `name`, creating it on first use. Thread-safe; never null.
spdlog::logger& GetLogger(std::string_view name);

// Applies a spec like "debug" or "rdma=trace,colo=debug,info" (the bare level is the default).
Result<void> SetLogLevels(std::string_view spec);

// Sends every logger's output to `path` (appending) instead of stderr; "" restores stderr.
Result<void> SetLogFile(std::string_view path);

}  // namespace ftvm

// In <lib>/log.h: FTVM_DEFINE_LIBRARY_LOGGER(rdma) defines ftvm::rdma-local `Log()`.
#define FTVM_DEFINE_LIBRARY_LOGGER(name)                        \
  inline ::spdlog::logger& Log() {                              \
    static ::spdlog::logger& logger = ::ftvm::GetLogger(#name); \
    return logger;                                              \
  }
