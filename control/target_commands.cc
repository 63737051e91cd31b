#include "control/target_commands.h"

#include <utility>

namespace ftvm::control {
namespace {

// The phases in the order of issue 6's list (colo::Phase has RAM before device state).
constexpr colo::Phase kPhases[] = {colo::Phase::kWait, colo::Phase::kStat,  colo::Phase::kDev,
                                   colo::Phase::kRam,  colo::Phase::kPut,   colo::Phase::kRecv,
                                   colo::Phase::kLoad, colo::Phase::kResume};

Json PercentilesToJson(const colo::Percentiles& p) {
  return {{"p50", p.p50}, {"p99", p.p99}, {"max", p.max}};
}

Json MigrationInfoToJson(const colo::MigrationInfo& info) {
  return {{"status", info.status},
          {"total-time", info.total_time_ms},
          {"ram",
           {{"transferred", info.transferred},
            {"duplicate", info.duplicate},
            {"normal", info.normal},
            {"normal-bytes", info.normal_bytes},
            {"page-size", info.page_size},
            {"dirty-sync-count", info.dirty_sync_count},
            {"dirty-pages-rate", info.dirty_pages_rate},
            {"mbps", info.mbps}}}};
}

Json ColoStateToJson(const colo::ColoState& s) {
  return {{"mode", colo::Name(s.mode)},
          {"last-mode", colo::Name(s.last_mode)},
          {"reason", colo::Name(s.reason)},
          {"status", colo::Name(s.status)},
          {"failover-state", colo::Name(s.failover)}};
}

Json ReplicationToJson(const ReplicationInfo& r) {
  return {{"transport", r.transport},
          {"registration", r.registration},
          {"pinned-bytes", r.pinned_bytes},
          {"registrations", r.registrations},
          {"unregistrations", r.unregistrations},
          {"zero-chunks", r.zero_chunks},
          {"writes-in-flight", r.writes_in_flight}};
}

Json GuestToJson(const colo::GuestStatus& g) {
  return {{"present", g.present},
          {"heartbeats", g.heartbeats},
          {"last-heartbeat", g.last_heartbeat},
          {"heartbeat-gaps", g.heartbeat_gaps},
          {"work-done", g.work_done},
          {"exited", g.exited},
          {"exit-code", g.exit_code},
          {"generation", g.generation},
          {"pages-written", g.pages_written},
          {"counter", g.counter}};
}

Json ParametersToJson(const Parameters& p) {
  return {{"checkpoint-delay", p.checkpoint_delay_ms},
          {"heartbeat-timeout", p.heartbeat_timeout_ms},
          {"dirty-threshold", p.dirty_threshold_pages},
          {"pinned-budget", p.pinned_budget_bytes}};
}

ArgSpec ParameterArg(const char* name, ParameterRange range, const char* help) {
  return ArgSpec::Uint(name, Presence::kOptional, range.min, range.max, help);
}

std::vector<ArgSpec> ParameterArgs() {
  return {
      ParameterArg("checkpoint-delay", kCheckpointDelayMsRange, "milliseconds between checkpoints"),
      ParameterArg("heartbeat-timeout", kHeartbeatTimeoutMsRange,
                   "milliseconds of silence before the peer is declared lost"),
      ParameterArg("dirty-threshold", kDirtyThresholdPagesRange,
                   "checkpoint early when this many pages are dirty (0: never)"),
      ParameterArg("pinned-budget", kPinnedBudgetBytesRange,
                   "bytes of guest RAM kept registered on demand (0: no bound)")};
}

ParameterUpdate UpdateFromArgs(const Args& args) {
  return ParameterUpdate{.checkpoint_delay_ms = args.Uint("checkpoint-delay"),
                         .heartbeat_timeout_ms = args.Uint("heartbeat-timeout"),
                         .dirty_threshold_pages = args.Uint("dirty-threshold"),
                         .pinned_budget_bytes = args.Uint("pinned-budget")};
}

// A command without arguments whose reply is `to_json(target.method())`.
template <class Method, class ToJson>
CommandSpec Query(std::string name, std::string help, ControlTarget& target, Method method,
                  ToJson to_json) {
  return CommandSpec{.name = std::move(name),
                     .help = std::move(help),
                     .args = {},
                     .handler = [&target, method, to_json](const Args&) -> Result<Json> {
                       FTVM_ASSIGN_OR_RETURN(auto value, (target.*method)());
                       return to_json(value);
                     }};
}

// A command without arguments that performs `target.method()` and returns {}.
CommandSpec Action(std::string name, std::string help, ControlTarget& target,
                   Result<void> (ControlTarget::*method)(), std::vector<std::string> aliases = {}) {
  return CommandSpec{.name = std::move(name),
                     .help = std::move(help),
                     .args = {},
                     .handler = [&target, method](const Args&) -> Result<Json> {
                       FTVM_TRY((target.*method)());
                       return Json::object();
                     },
                     .aliases = std::move(aliases)};
}

}  // namespace

Json CheckpointStatsToJson(const colo::StatsSnapshot& s) {
  Json out = {{"tot_num", s.tot_num},
              {"tot_time", s.tot_time},
              {"avg_time", s.avg_time},
              {"init_time", s.init_time}};
  for (colo::Phase phase : kPhases) out[std::string(colo::PhaseStatName(phase))] = s.avg(phase);
  out["dev_size"] = s.dev_size;
  out["ram_size"] = s.ram_size;
  out["last_downtime"] = s.last_downtime_ns;  // beyond issue 6's names: for live views
  Json percentiles = {{"downtime", PercentilesToJson(s.downtime)}};
  for (colo::Phase phase : kPhases) {
    percentiles[std::string(colo::PhaseStatName(phase))] = PercentilesToJson(s.pct(phase));
  }
  out["percentiles"] = std::move(percentiles);
  out["info"] = MigrationInfoToJson(s.info);
  return out;
}

Result<void> RegisterTargetCommands(CommandRegistry& registry, ControlTarget& target) {
  std::vector<CommandSpec> commands;
  commands.push_back(Query("query-status", "whether the guest runs, and its run state", target,
                           &ControlTarget::QueryStatus, [](const StatusInfo& s) {
                             return Json{{"running", s.running},
                                         {"status", RunStateName(s.status)}};
                           }));
  commands.push_back(Query("info_checkpoint", "checkpoint statistics since the last reset", target,
                           &ControlTarget::InfoCheckpoint, CheckpointStatsToJson));
  commands.push_back(Action("reset_checkpoint", "zero the checkpoint statistics", target,
                            &ControlTarget::ResetCheckpoint));
  commands.push_back(Query("query-colo-status", "COLO mode, last mode and exit reason", target,
                           &ControlTarget::QueryColoStatus, ColoStateToJson));
  commands.push_back(Query("query-replication", "RAM replication transport and counters", target,
                           &ControlTarget::QueryReplication, ReplicationToJson));
  commands.push_back(Query("query-guest", "the guest's heartbeats, gaps and exit status", target,
                           &ControlTarget::QueryGuest, GuestToJson));
  commands.push_back(Action("checkpoint-now", "take a checkpoint now (returns once requested)",
                            target, &ControlTarget::CheckpointNow));
  commands.push_back(Query("query-parameters", "the current checkpoint parameters", target,
                           &ControlTarget::QueryParameters, ParametersToJson));
  commands.push_back(
      CommandSpec{.name = "set-parameters",
                  .help = "change checkpoint parameters (all given values, or none on error)",
                  .args = ParameterArgs(),
                  .handler = [&target](const Args& args) -> Result<Json> {
                    FTVM_TRY(target.SetParameters(UpdateFromArgs(args)));
                    return Json::object();
                  }});
  commands.push_back(
      Action("failover", "declare the peer lost: a secondary takes over, a primary runs on alone",
             target, &ControlTarget::Failover, {"x-colo-lost-heartbeat"}));
  for (CommandSpec& command : commands) FTVM_TRY(registry.Add(std::move(command)));
  return {};
}

}  // namespace ftvm::control
