#include "colo/kill_point.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "base/strings.h"
#include "colo/log.h"

namespace ftvm::colo {
namespace {

constexpr std::string_view kPoints[] = {"wait", "request", "ram", "device", "received", "loaded"};

}  // namespace

Result<KillPoint> ParseKillPoint(std::string_view text) {
  KillPoint kill;
  const size_t colon = text.find(':');
  const std::string_view point = text.substr(0, colon);
  bool known = false;
  for (std::string_view p : kPoints) known = known || p == point;
  if (!known) {
    return Fail(ErrorCode::kInvalidArgument,
                "kill point '{}': expected wait, request, ram, device, received or loaded", point);
  }
  kill.point = std::string(point);
  if (colon != std::string_view::npos) {
    FTVM_ASSIGN_OR_RETURN(kill.checkpoint, ParseU64(text.substr(colon + 1)));
  }
  return kill;
}

std::optional<KillPoint> KillPointFromEnv() {
  const char* env = std::getenv("FTVM_KILL_AT");
  if (env == nullptr || *env == '\0') return std::nullopt;
  auto kill = ParseKillPoint(env);
  if (!kill) {
    Log().error("FTVM_KILL_AT ignored: {}", kill.error().ToString());
    return std::nullopt;
  }
  return *kill;
}

void MaybeKill(const std::optional<KillPoint>& kill, std::string_view point, uint64_t checkpoint) {
  if (!kill || kill->point != point || kill->checkpoint != checkpoint) return;
  Log().warn("kill point {}:{} reached: SIGKILL (fault injection)", point, checkpoint);
  Log().flush();
  ::kill(::getpid(), SIGKILL);
}

}  // namespace ftvm::colo
