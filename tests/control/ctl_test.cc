#include "control/ctl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ftvm::control::ctl {
namespace {

Result<Json> Parse(std::vector<std::string> words) { return ParseArguments(words); }

TEST(CtlArgumentsTest, KeyValueWordsAreTyped) {
  auto args = Parse({"enable=true", "off=false", "n=42", "neg=-5", "budget=1G", "small=64K",
                     "ratio=1.5", "name=colo_*", "list=[1,\"a\"]", "quoted=\"42\"", "nothing=null",
                     "empty=", "delay=10s"});
  ASSERT_TRUE(args.has_value()) << args.error().ToString();
  EXPECT_EQ(*args, Json::parse(R"({"enable": true, "off": false, "n": 42, "neg": -5,
                                   "budget": 1073741824, "small": 65536, "ratio": 1.5,
                                   "name": "colo_*", "list": [1, "a"], "quoted": "42",
                                   "nothing": null, "empty": "", "delay": "10s"})"));
  EXPECT_TRUE((*args)["n"].is_number_unsigned());
  EXPECT_TRUE((*args)["neg"].is_number_integer());
}

TEST(CtlArgumentsTest, OneJsonObjectIsTakenAsIs) {
  auto args = Parse({R"({"name": "colo_*", "enable": true})"});
  ASSERT_TRUE(args.has_value());
  EXPECT_EQ(*args, Json::parse(R"({"name": "colo_*", "enable": true})"));
  EXPECT_EQ(*Parse({}), Json::object());
}

TEST(CtlArgumentsTest, RefusesWhatItCannotMap) {
  EXPECT_FALSE(Parse({"enable"}).has_value());
  EXPECT_FALSE(Parse({"=1"}).has_value());
  EXPECT_FALSE(Parse({"a=1", "a=2"}).has_value());
  EXPECT_FALSE(Parse({R"({"a": 1})", "b=2"}).has_value());
  EXPECT_FALSE(Parse({R"({"a": )"}).has_value());
  auto twice = Parse({"a=1", "a=2"});
  EXPECT_EQ(twice.error().context(), "'a' given twice");
}

TEST(CtlFormatTest, NanosReadNaturally) {
  EXPECT_EQ(FormatNanos(850), "850 ns");
  EXPECT_EQ(FormatNanos(12'345), "12.3 us");
  EXPECT_EQ(FormatNanos(1'960'550), "1.96 ms");
  EXPECT_EQ(FormatNanos(2'350'000'000), "2.35 s");
}

TEST(CtlFormatTest, ObjectsBecomeKeyValueTablesWithDottedNestedKeys) {
  EXPECT_EQ(
      FormatReturn("query-colo-status", Json::parse(R"({"mode": "secondary", "last-mode": "none",
                                         "nested": {"a": 1, "b": [1, 2]}})")),
      "mode       secondary\n"
      "last-mode  none\n"
      "nested.a   1\n"
      "nested.b   [1,2]\n");
  EXPECT_EQ(FormatReturn("reset_checkpoint", Json::object()), "ok\n");
  EXPECT_EQ(FormatReturn("trace-event-list", Json::array()), "(none)\n");
}

TEST(CtlFormatTest, ArraysOfObjectsBecomeColumns) {
  EXPECT_EQ(FormatReturn("trace-event-list",
                         Json::parse(R"([{"name": "colo_ram_saved", "state": "enabled"},
                                         {"name": "vmm_exit", "state": "disabled"}])")),
            "name            state\n"
            "colo_ram_saved  enabled\n"
            "vmm_exit        disabled\n");
}

TEST(CtlFormatTest, InfoCheckpointIsAPhaseTable) {
  const Json stats = Json::parse(R"({
    "tot_num": 200, "tot_time": 392110000, "avg_time": 1960550, "init_time": 2350000000,
    "wait_time": 100000000, "stat_time": 100050, "dev_time": 150000, "ram_time": 1300500,
    "put_time": 40000, "recv_time": 30000, "load_time": 210000, "resume_time": 20000,
    "dev_size": 18432, "ram_size": 11468800, "last_downtime": 1920000,
    "percentiles": {"downtime": {"p50": 1810431, "p99": 1920000, "max": 1920000},
                    "ram_time": {"p50": 1302527, "p99": 1400000, "max": 1400000}},
    "info": {"status": "colo", "total-time": 565,
             "ram": {"transferred": 2293760000, "duplicate": 10000, "normal": 550000,
                     "normal-bytes": 2252800000, "page-size": 4096, "dirty-sync-count": 3,
                     "dirty-pages-rate": 28000, "mbps": 812.25}}})");
  const std::string table = FormatReturn("info_checkpoint", stats);
  EXPECT_NE(table.find("checkpoints  200   total 392.11 ms   average 1.96 ms   setup 2.35 s   "
                       "last pause 1.92 ms\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("per checkpoint: device state 18.0 KiB, RAM 10.9 MiB\n"), std::string::npos);
  EXPECT_NE(table.find("downtime           -    1.81 ms    1.92 ms    1.92 ms\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("ram          1.30 ms    1.30 ms    1.40 ms    1.40 ms\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("status colo, total-time 565 ms, transferred 2.1 GiB (812.2 Mbps)"),
            std::string::npos)
      << table;
  // A reply missing fields, or with the wrong types, still prints.
  EXPECT_FALSE(FormatReturn("info_checkpoint", Json::parse(R"({"tot_num": "x"})")).empty());
}

TEST(CtlFormatTest, EventsAreOneLineWithTheirData) {
  const std::string line = FormatEvent(Json::parse(
      R"({"event": "FAILOVER", "data": {"mode": "secondary", "reason": "error"},
          "timestamp": {"seconds": 1763779055, "microseconds": 293725}})"));
  EXPECT_TRUE(line.ends_with(".293 FAILOVER mode=secondary reason=error")) << line;
  EXPECT_TRUE(FormatEvent(Json::parse(R"({"event": "STOP", "timestamp": {"seconds": 0,
                                          "microseconds": 0}})"))
                  .ends_with(".000 STOP"));
}

TEST(CtlFormatTest, WatchLineShowsRatesBetweenPolls) {
  const Json colo = Json::parse(R"({"mode": "primary", "status": "colo"})");
  const Json before = Json::parse(R"({"tot_num": 100, "info": {"ram": {"transferred": 0}}})");
  const Json after = Json::parse(R"({"tot_num": 150, "last_downtime": 1810000,
      "percentiles": {"downtime": {"p50": 1790000, "p99": 2100000}},
      "info": {"ram": {"transferred": 97300000}}})");
  EXPECT_EQ(FormatWatchLine(colo, after, &before, 0.5),
            "colo primary | 150 checkpoints (+100/s) | pause last 1.81 ms, p50 1.79 ms, p99 "
            "2.10 ms | 194.6 MB/s");
  EXPECT_EQ(FormatWatchLine(colo, after, nullptr, 0),
            "colo primary | 150 checkpoints (+-/s) | pause last 1.81 ms, p50 1.79 ms, p99 2.10 ms "
            "| - MB/s");
}

}  // namespace
}  // namespace ftvm::control::ctl
