#include <time.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "base/strings.h"
#include "control/ctl.h"

namespace ftvm::control::ctl {
namespace {

// Field readers that never throw, whatever the server sent.
uint64_t U(const Json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return it->get<int64_t>() < 0 ? 0 : it->get<uint64_t>();
  if (it->is_number_float())
    return it->get<double>() < 0 ? 0 : static_cast<uint64_t>(it->get<double>());
  return 0;
}
double D(const Json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0;
}
const Json& Child(const Json& object, std::string_view key) {
  static const Json kEmpty = Json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(key);
  return it == object.end() ? kEmpty : *it;
}
std::string Text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : DumpJson(value);
}
std::string S(const Json& object, std::string_view key) {
  if (!object.is_object()) return "?";
  auto it = object.find(key);
  return it == object.end() ? "?" : Text(*it);
}

void Flatten(const Json& object, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& rows) {
  for (const auto& [key, value] : object.items()) {
    if (value.is_object() && !value.empty()) {
      Flatten(value, prefix + key + ".", rows);
    } else {
      rows.emplace_back(prefix + key, Text(value));
    }
  }
}

std::string KeyValueTable(const Json& object) {
  std::vector<std::pair<std::string, std::string>> rows;
  Flatten(object, "", rows);
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string out;
  for (const auto& [key, value] : rows) out += fmt::format("{:<{}}  {}\n", key, width, value);
  return out;
}

std::string ColumnTable(const Json& array) {
  std::vector<std::string> columns;
  for (const Json& row : array) {
    for (const auto& [key, value] : row.items()) {
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
    }
  }
  std::vector<std::vector<std::string>> cells{columns};
  for (const Json& row : array) {
    std::vector<std::string>& line = cells.emplace_back();
    for (const std::string& column : columns) {
      line.push_back(row.contains(column) ? Text(row[column]) : "");
    }
  }
  std::vector<size_t> widths(columns.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += i + 1 < line.size() ? fmt::format("{:<{}}  ", line[i], widths[i]) : line[i];
    }
    out += text + "\n";
  }
  return out;
}

std::string CheckpointTable(const Json& s) {
  std::string out = fmt::format(
      "checkpoints  {}   total {}   average {}   setup {}   last pause {}\n"
      "per checkpoint: device state {}, RAM {}\n\n",
      U(s, "tot_num"), FormatNanos(U(s, "tot_time")), FormatNanos(U(s, "avg_time")),
      FormatNanos(U(s, "init_time")), FormatNanos(U(s, "last_downtime")),
      FormatBytes(U(s, "dev_size")), FormatBytes(U(s, "ram_size")));
  out += fmt::format("{:<9}{:>11}{:>11}{:>11}{:>11}\n", "phase", "average", "p50", "p99", "max");
  const Json& pct = Child(s, "percentiles");
  for (const char* phase :
       {"downtime", "wait", "stat", "dev", "ram", "put", "recv", "load", "resume"}) {
    const std::string key =
        phase == std::string_view("downtime") ? phase : fmt::format("{}_time", phase);
    const Json& p = Child(pct, key);
    const std::string average = s.contains(key) ? FormatNanos(U(s, key)) : "-";
    out += fmt::format("{:<9}{:>11}{:>11}{:>11}{:>11}\n", phase, average, FormatNanos(U(p, "p50")),
                       FormatNanos(U(p, "p99")), FormatNanos(U(p, "max")));
  }
  const Json& info = Child(s, "info");
  const Json& ram = Child(info, "ram");
  out += fmt::format(
      "\nmigration  status {}, total-time {} ms, transferred {} ({:.1f} Mbps)\n"
      "           zero pages {}, normal pages {} ({}), page size {}\n"
      "           dirty syncs {}, dirty rate {} pages/s\n",
      S(info, "status"), U(info, "total-time"), FormatBytes(U(ram, "transferred")), D(ram, "mbps"),
      U(ram, "duplicate"), U(ram, "normal"), FormatBytes(U(ram, "normal-bytes")),
      U(ram, "page-size"), U(ram, "dirty-sync-count"), U(ram, "dirty-pages-rate"));
  return out;
}

std::string FormatReturnUnsafe(std::string_view command, const Json& value) {
  if (command == "info_checkpoint" && value.is_object()) return CheckpointTable(value);
  if (value.is_object()) return value.empty() ? "ok\n" : KeyValueTable(value);
  if (value.is_array()) {
    if (value.empty()) return "(none)\n";
    const bool objects =
        std::all_of(value.begin(), value.end(), [](const Json& v) { return v.is_object(); });
    if (objects) return ColumnTable(value);
    std::string out;
    for (const Json& item : value) out += Text(item) + "\n";
    return out;
  }
  return Text(value) + "\n";
}

}  // namespace

std::string FormatNanos(uint64_t ns) {
  if (ns < 1'000) return fmt::format("{} ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

std::string FormatReturn(std::string_view command, const Json& value) {
  try {
    return FormatReturnUnsafe(command, value);
  } catch (const std::exception&) {
    return DumpJson(value) + "\n";  // an unexpected shape: show it raw rather than fail
  }
}

std::string FormatEvent(const Json& event) {
  const Json& stamp = Child(event, "timestamp");
  const time_t seconds = static_cast<time_t>(U(stamp, "seconds"));
  tm local{};
  ::localtime_r(&seconds, &local);
  char when[32];
  ::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &local);
  std::string line =
      fmt::format("{}.{:03} {}", when, U(stamp, "microseconds") / 1000 % 1000, S(event, "event"));
  std::vector<std::pair<std::string, std::string>> fields;
  Flatten(Child(event, "data"), "", fields);
  for (const auto& [key, value] : fields) line += fmt::format(" {}={}", key, value);
  return line;
}

std::string FormatWatchLine(const Json& colo_status, const Json& stats, const Json* previous,
                            double interval_s) {
  const Json& downtime = Child(Child(stats, "percentiles"), "downtime");
  std::string rate = "-";
  std::string throughput = "- MB/s";
  if (previous != nullptr && interval_s > 0) {
    const uint64_t before = U(*previous, "tot_num");
    const uint64_t now = U(stats, "tot_num");
    rate =
        fmt::format("{:.0f}", static_cast<double>(now >= before ? now - before : 0) / interval_s);
    const uint64_t bytes_before = U(Child(Child(*previous, "info"), "ram"), "transferred");
    const uint64_t bytes_now = U(Child(Child(stats, "info"), "ram"), "transferred");
    const uint64_t moved = bytes_now >= bytes_before ? bytes_now - bytes_before : 0;
    throughput = fmt::format("{:.1f} MB/s", static_cast<double>(moved) / interval_s / 1e6);
  }
  return fmt::format("{} {} | {} checkpoints (+{}/s) | pause last {}, p50 {}, p99 {} | {}",
                     S(colo_status, "status"), S(colo_status, "mode"), U(stats, "tot_num"), rate,
                     FormatNanos(U(stats, "last_downtime")), FormatNanos(U(downtime, "p50")),
                     FormatNanos(U(downtime, "p99")), throughput);
}

}  // namespace ftvm::control::ctl
