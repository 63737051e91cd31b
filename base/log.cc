#include "base/log.h"

#include "base/strings.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ftvm {
namespace {

constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%f %P [%n] %^%l%$ %v";

class LogRegistry {
 public:
  static LogRegistry& Get() {
    static LogRegistry* registry = new LogRegistry();  // never destroyed: loggers outlive exit
    return *registry;
  }

  spdlog::logger& Logger(std::string_view name) {
    std::lock_guard lock(mu_);
    auto it = loggers_.find(std::string(name));
    if (it != loggers_.end()) return *it->second;
    auto logger = std::make_shared<spdlog::logger>(std::string(name), sink_);
    logger->set_pattern(kPattern);
    logger->set_level(LevelFor(name));
    logger->flush_on(spdlog::level::warn);
    return *loggers_.emplace(std::string(name), std::move(logger)).first->second;
  }

  Result<void> SetLevels(std::string_view spec) {
    std::map<std::string, spdlog::level::level_enum, std::less<>> per_logger;
    std::optional<spdlog::level::level_enum> default_level;
    for (std::string_view item : Split(spec, ',')) {
      const size_t eq = item.find('=');
      std::string_view level_name = eq == std::string_view::npos ? item : item.substr(eq + 1);
      const auto level = spdlog::level::from_str(std::string(level_name));
      if (level == spdlog::level::off && level_name != "off") {
        return Fail(ErrorCode::kInvalidArgument,
                    "unknown log level '{}' (trace, debug, info, warn, error, critical, off)",
                    level_name);
      }
      if (eq == std::string_view::npos) {
        default_level = level;
      } else {
        per_logger[std::string(item.substr(0, eq))] = level;
      }
    }
    std::lock_guard lock(mu_);
    if (default_level) default_level_ = *default_level;
    for (auto& [name, level] : per_logger) levels_[name] = level;
    for (auto& [name, logger] : loggers_) logger->set_level(LevelFor(name));
    return {};
  }

  Result<void> SetFile(std::string_view path) {
    spdlog::sink_ptr sink;
    if (path.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
      try {
        sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(std::string(path));
      } catch (const spdlog::spdlog_ex& e) {
        return Fail(ErrorCode::kSys, "open log file {}: {}", path, e.what());
      }
    }
    std::lock_guard lock(mu_);
    sink_ = sink;
    for (auto& [name, logger] : loggers_) {
      logger->sinks().clear();
      logger->sinks().push_back(sink_);
      logger->set_pattern(kPattern);
    }
    return {};
  }

 private:
  LogRegistry() : sink_(std::make_shared<spdlog::sinks::stderr_color_sink_mt>()) {
    if (const char* env = std::getenv("FTVM_LOG"); env != nullptr) {
      if (auto r = SetLevels(env); !r) {
        std::fprintf(stderr, "FTVM_LOG ignored: %s\n", r.error().ToString().c_str());
      }
    }
  }

  spdlog::level::level_enum LevelFor(std::string_view name) const {
    auto it = levels_.find(name);
    if (it != levels_.end()) return it->second;
    // Trace events are switched on one by one; once on, they print whatever the default is.
    return name == "trace" ? spdlog::level::trace : default_level_;
  }

  std::mutex mu_;
  spdlog::sink_ptr sink_;
  spdlog::level::level_enum default_level_ = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum, std::less<>> levels_;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers_;
};

}  // namespace

spdlog::logger& GetLogger(std::string_view name) { return LogRegistry::Get().Logger(name); }
Result<void> SetLogLevels(std::string_view spec) { return LogRegistry::Get().SetLevels(spec); }
Result<void> SetLogFile(std::string_view path) { return LogRegistry::Get().SetFile(path); }

}  // namespace ftvm
