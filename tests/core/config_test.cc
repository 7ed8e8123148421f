#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace echomon::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ConfigLoadResult Load(const std::string& text) {
  return LoadConfigString(text, "agent.yaml", "/etc/echomon");
}

std::vector<std::string> Errors(const ConfigLoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.ToString());
  return out;
}

// The one error of loading text, as "file:line:column: key: message".
std::string OnlyError(const std::string& text) {
  ConfigLoadResult r = Load(text);
  if (r.errors.size() != 1) {
    std::string all;
    for (const auto& e : Errors(r)) all += "\n  " + e;
    return "expected exactly one error, got " + std::to_string(r.errors.size()) + ":" + all;
  }
  return r.errors[0].ToString();
}

std::string ExamplePath() {
  return (std::filesystem::path(ECHOMON_TEST_DATA_DIR) / ".." / ".." / "examples" / "echomon.yaml")
      .lexically_normal()
      .string();
}

TEST(ConfigLoader, ExampleFileLoadsWithoutErrors) {
  ConfigLoadResult r = LoadConfigFile(ExamplePath());
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_THAT(r.warnings, IsEmpty());
  const Config& c = r.config;
  EXPECT_EQ(c.source, ExamplePath());
  EXPECT_EQ(c.interval_ms, 1000);
  EXPECT_EQ(c.collector_timeout_ms, 500);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.host.enabled);
  EXPECT_EQ(c.host.proc_root, "/proc");
  EXPECT_THAT(c.host.exclude_interfaces, ElementsAre("lo"));
  EXPECT_EQ(c.storage.retention_ms, 24LL * 3600 * 1000);
  EXPECT_EQ(c.storage.max_memory_bytes, 256ULL << 20);
  EXPECT_EQ(c.storage.checkpoint_interval_ms, 60'000);
  EXPECT_EQ(c.storage.data_dir,
            (std::filesystem::path(ExamplePath()).parent_path() / "var").string());
  EXPECT_EQ(c.server.listen, "127.0.0.1:9470");
  EXPECT_EQ(c.server.token, "");
}

TEST(ConfigLoader, YamlSetsEverySetting) {
  ConfigLoadResult r = Load(R"(interval: 2s
collector_timeout: 1500ms
log_level: DEBUG
host:
  enabled: false
  proc_root: /captured/proc
  sys_root: /captured/sys
  per_core: false
  exclude_fs_types: [tmpfs, overlay]
  exclude_interfaces:
    - lo
    - docker0
storage:
  data_dir: /srv/echomon
  persist: false
  retention: 7d
  max_memory: 1GiB
  checkpoint_interval: 5m
server:
  listen: "[::1]:0"
  token: s3cret-token
)");
  ASSERT_THAT(Errors(r), IsEmpty());
  const Config& c = r.config;
  EXPECT_EQ(c.source, "agent.yaml");
  EXPECT_EQ(c.interval_ms, 2000);
  EXPECT_EQ(c.collector_timeout_ms, 1500);
  EXPECT_EQ(c.EffectiveCollectorTimeoutMs(), 1500);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_FALSE(c.host.enabled);
  EXPECT_EQ(c.host.proc_root, "/captured/proc");
  EXPECT_EQ(c.host.sys_root, "/captured/sys");
  EXPECT_FALSE(c.host.per_core);
  EXPECT_THAT(c.host.exclude_fs_types, ElementsAre("tmpfs", "overlay"));
  EXPECT_THAT(c.host.exclude_interfaces, ElementsAre("lo", "docker0"));
  EXPECT_EQ(c.storage.data_dir, "/srv/echomon");
  EXPECT_FALSE(c.storage.persist);
  EXPECT_EQ(c.storage.retention_ms, 7LL * 86400 * 1000);
  EXPECT_EQ(c.storage.max_memory_bytes, 1ULL << 30);
  EXPECT_EQ(c.storage.checkpoint_interval_ms, 300'000);
  EXPECT_EQ(c.server.listen, "[::1]:0");
  EXPECT_EQ(c.server.token, "s3cret-token");
}

TEST(ConfigLoader, EmptyTextKeepsTheDefaults) {
  for (const char* text : {"", "# nothing set\n", "---\n"}) {
    ConfigLoadResult r = Load(text);
    ASSERT_THAT(Errors(r), IsEmpty()) << text;
    EXPECT_EQ(r.config.interval_ms, 1000);
    EXPECT_EQ(r.config.storage.data_dir, "/etc/echomon/var");
  }
}

TEST(ConfigLoader, ReadsJsonWithTabsAndWithoutSpaces) {
  ConfigLoadResult r = Load(
      "{\n\t\"interval\": \"250ms\",\n\t\"host\": {\n\t\t\"per_core\": false,\n"
      "\t\t\"exclude_interfaces\": [\"lo\",\t\"eth9\"]\n\t},\n"
      "\t\"storage\": {\"retention\": 3600, \"max_memory\": \"64MiB\"}\n}\n");
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.config.interval_ms, 250);
  EXPECT_FALSE(r.config.host.per_core);
  EXPECT_THAT(r.config.host.exclude_interfaces, ElementsAre("lo", "eth9"));
  EXPECT_EQ(r.config.storage.retention_ms, 3'600'000);
  EXPECT_EQ(r.config.storage.max_memory_bytes, 64ULL << 20);

  ConfigLoadResult compact = Load(R"({"log_level":"warn","server":{"listen":"0.0.0.0:80"}})");
  ASSERT_THAT(Errors(compact), IsEmpty());
  EXPECT_EQ(compact.config.log_level, "warn");
  EXPECT_EQ(compact.config.server.listen, "0.0.0.0:80");
}

TEST(ConfigLoader, LoadsTheDocumentedJsonExample) {
  ConfigLoadResult r = Load(R"({
  "interval": "1s",
  "collector_timeout": "500ms",
  "log_level": "info",
  "host": {"enabled": true, "proc_root": "/proc", "sys_root": "/sys", "per_core": true,
           "exclude_fs_types": ["tmpfs"], "exclude_interfaces": ["lo"]},
  "storage": {"data_dir": "./var", "persist": true, "retention": "24h",
              "max_memory": "256MiB", "checkpoint_interval": "60s"},
  "server": {"listen": "127.0.0.1:9470", "token": ""}
})");
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_THAT(r.config.host.exclude_fs_types, ElementsAre("tmpfs"));
  EXPECT_EQ(r.config.storage.data_dir, "/etc/echomon/var");
}

TEST(ConfigLoader, SmallConveniences) {
  ConfigLoadResult r = Load("log_level: Warning\ncollector_timeout: 0\ninterval: 3s\nhost:\n");
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.config.log_level, "warn");
  EXPECT_EQ(r.config.EffectiveCollectorTimeoutMs(), 1500);
  EXPECT_TRUE(r.config.host.enabled);
}

TEST(ConfigLoader, JsonErrorsPointAtTheValue) {
  EXPECT_EQ(OnlyError("{\n  \"storage\": {\"persist\": \"yes\"}\n}"),
            R"(agent.yaml:2:26: storage.persist: expected true or false, got "yes")");
}

TEST(ConfigLoader, MapsThePrototypeKeys) {
  ConfigLoadResult r = Load(R"({
  "monitoring_interval": 1.0,
  "max_metrics_history": 1000,
  "alert_thresholds": {"cpu_usage": 85.0, "memory_usage": 90.0, "gpu_utilization": 95.0,
                       "token_throughput": 50.0, "request_latency": 1000.0},
  "degradation_detection": {"window_size": 10, "threshold": 0.15}
})");
  ASSERT_THAT(Errors(r), IsEmpty());
  const Config& c = r.config;
  EXPECT_EQ(c.interval_ms, 1000);
  EXPECT_EQ(c.storage.retention_ms, 1'000'000);
  EXPECT_EQ(c.legacy.alert_thresholds,
            (std::map<std::string, double>{{"cpu_usage", 85.0},
                                           {"memory_usage", 90.0},
                                           {"gpu_utilization", 95.0},
                                           {"token_throughput", 50.0},
                                           {"request_latency", 1000.0}}));
  EXPECT_EQ(c.legacy.degradation_window, 10);
  EXPECT_DOUBLE_EQ(c.legacy.degradation_threshold, 0.15);
  ASSERT_EQ(r.warnings.size(), 4u);
  EXPECT_THAT(r.warnings[0], HasSubstr("alert_thresholds: prototype key"));
  EXPECT_THAT(r.warnings[1], HasSubstr("degradation_detection: prototype key"));
  EXPECT_THAT(r.warnings[2], HasSubstr("monitoring_interval: prototype key; mapped to interval"));
  EXPECT_THAT(r.warnings[3], HasSubstr("max_metrics_history: prototype key; mapped to storage"));
}

TEST(ConfigLoader, LoadsTheIssuesPrototypeFileAsIs) {
  ConfigLoadResult r = Load(
      R"({"monitoring_interval": 1.0, "max_metrics_history": 1000, "alert_thresholds": )"
      R"({"cpu_usage": 85.0}, "degradation_detection": {"window_size": 10, "threshold": 0.15}})");
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.config.legacy.alert_thresholds.at("cpu_usage"), 85.0);
}

TEST(ConfigLoader, HistoryIsMultipliedByTheFinalIntervalWhateverTheKeyOrder) {
  ConfigLoadResult r = Load("max_metrics_history: 600\nmonitoring_interval: 0.5\n");
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.config.interval_ms, 500);
  EXPECT_EQ(r.config.storage.retention_ms, 300'000);

  ConfigLoadResult y = Load("max_metrics_history: 60\ninterval: 5s\n");
  ASSERT_THAT(Errors(y), IsEmpty());
  EXPECT_EQ(y.config.storage.retention_ms, 300'000);
}

TEST(ConfigLoader, HistoryAndRetentionTogetherIsAnErrorNamingBoth) {
  EXPECT_EQ(OnlyError("storage:\n  retention: 1h\nmax_metrics_history: 10\n"),
            "agent.yaml:3:22: max_metrics_history: conflicts with storage.retention (line 2); "
            "set only one");
  EXPECT_EQ(OnlyError("monitoring_interval: 2\ninterval: 1s\n"),
            "agent.yaml:1:22: monitoring_interval: conflicts with interval (line 2); set only one");
}

TEST(ConfigLoader, ReportsLineAndKeyOfEachProblem) {
  ConfigLoadResult r = Load(R"(interval: 1s
log_level: loud
host:
  enabled: maybe
  exclude_fs_types: tmpfs
storage:
  data_dir: ./data
  retention: abc
  max_memory: 512KiB
server:
  listen: localhost
  tokn: x
)");
  EXPECT_THAT(
      Errors(r),
      ElementsAre(
          R"(agent.yaml:2:12: log_level: unknown log level "loud" (expected trace, debug, info, warn, error or off))",
          R"(agent.yaml:4:12: host.enabled: expected true or false, got "maybe")",
          R"(agent.yaml:5:21: host.exclude_fs_types: expected a list of strings, got "tmpfs")",
          R"(agent.yaml:8:14: storage.retention: expected a duration like "24h", got "abc")",
          R"(agent.yaml:9:15: storage.max_memory: must be at least 1MiB, got "512KiB")",
          R"(agent.yaml:11:11: server.listen: expected host:port like "127.0.0.1:9470" or "[::1]:9470" (port 0 to 65535), got "localhost")",
          "agent.yaml:12:3: server.tokn: unknown key; did you mean token?"));
  ASSERT_EQ(r.errors.size(), 7u);
  EXPECT_EQ(r.errors[3].file, "agent.yaml");
  EXPECT_EQ(r.errors[3].line, 8);
  EXPECT_EQ(r.errors[3].column, 14);
  EXPECT_EQ(r.errors[3].key, "storage.retention");
}

struct BadValueCase {
  const char* text;
  const char* error;
};

TEST(ConfigLoader, RejectsEachInvalidValueWithItsPosition) {
  const BadValueCase cases[] = {
      {"interval: 0s", R"(agent.yaml:1:11: interval: must be positive, got "0s")"},
      {"interval: -5s", R"(agent.yaml:1:11: interval: must be positive, got "-5s")"},
      {"interval: 50ms", R"(agent.yaml:1:11: interval: must be at least 100ms, got "50ms")"},
      {"interval: 2h", R"(agent.yaml:1:11: interval: must be at most 1h, got "2h")"},
      {"interval: [1]", R"(agent.yaml:1:11: interval: expected a duration like "24h", got a list)"},
      {"interval:", R"(agent.yaml:1:1: interval: expected a duration like "24h", got nothing)"},
      {"collector_timeout: 2s",
       R"(agent.yaml:1:20: collector_timeout: must not exceed the collection interval (1s), got "2s")"},
      {"collector_timeout: -1s",
       R"(agent.yaml:1:20: collector_timeout: must not be negative (0 or absent means half the interval), got "-1s")"},
      {"log_level: 3",
       R"(agent.yaml:1:12: log_level: unknown log level "3" (expected trace, debug, info, warn, error or off))"},
      {"log_level: inf",
       R"(agent.yaml:1:12: log_level: unknown log level "inf" (expected trace, debug, info, warn, error or off); did you mean info?)"},
      {"host: [1, 2]", "agent.yaml:1:7: host: expected a mapping, got a list"},
      {"host:\n  per_core: \"true\"",
       R"(agent.yaml:2:13: host.per_core: expected true or false, got "true")"},
      {"host:\n  proc_root: \"\"", "agent.yaml:2:14: host.proc_root: must not be empty"},
      {"host:\n  sys_root: {a: 1}",
       "agent.yaml:2:13: host.sys_root: expected a string, got a mapping"},
      {"host:\n  exclude_interfaces: [lo, [x]]",
       "agent.yaml:2:28: host.exclude_interfaces[1]: expected a string, got a list"},
      {"storage:\n  retention: 500ms",
       R"(agent.yaml:2:14: storage.retention: must be at least the collection interval (1s), got "500ms")"},
      {"storage:\n  retention: 0",
       R"(agent.yaml:2:14: storage.retention: must be positive, got "0")"},
      {"storage:\n  max_memory: 1000000",
       R"(agent.yaml:2:15: storage.max_memory: must be at least 1MiB, got "1000000")"},
      {"storage:\n  max_memory: lots",
       R"(agent.yaml:2:15: storage.max_memory: expected a size like "256MiB", got "lots")"},
      {"storage:\n  checkpoint_interval: 10ms",
       R"(agent.yaml:2:24: storage.checkpoint_interval: must be at least the collection interval (1s), got "10ms")"},
      {"storage:\n  persist: 1",
       R"(agent.yaml:2:12: storage.persist: expected true or false, got "1")"},
      {"server:\n  listen: 127.0.0.1:65536",
       R"(agent.yaml:2:11: server.listen: expected host:port like "127.0.0.1:9470" or "[::1]:9470" (port 0 to 65535), got "127.0.0.1:65536")"},
      {"server:\n  listen: \":9470\"",
       R"(agent.yaml:2:11: server.listen: expected host:port like "127.0.0.1:9470" or "[::1]:9470" (port 0 to 65535), got ":9470")"},
      {"server:\n  listen: ::1:9470",
       R"(agent.yaml:2:11: server.listen: expected host:port like "127.0.0.1:9470" or "[::1]:9470" (port 0 to 65535), got "::1:9470")"},
      {"server:\n  token: \"a b\"",
       "agent.yaml:2:10: server.token: must not contain spaces or control characters"},
      {"monitoring_interval: \"1\"",
       R"(agent.yaml:1:22: monitoring_interval: expected a number, got "1")"},
      {"monitoring_interval: 0.01",
       R"(agent.yaml:1:22: monitoring_interval: must be at least 100ms, got "0.01")"},
      {"max_metrics_history: 0",
       R"(agent.yaml:1:22: max_metrics_history: must be at least 1, got "0")"},
      {"max_metrics_history: 10.5",
       R"(agent.yaml:1:22: max_metrics_history: expected a whole number, got "10.5")"},
      {"alert_thresholds: [1]",
       "agent.yaml:1:19: alert_thresholds: expected a mapping of metric name to threshold, got "
       "a list"},
      {"alert_thresholds: {cpu_usage: high}",
       R"(agent.yaml:1:31: alert_thresholds.cpu_usage: expected a number, got "high")"},
      {"degradation_detection: {window_size: 1}",
       R"(agent.yaml:1:38: degradation_detection.window_size: must be between 2 and 1000000, got "1")"},
      {"degradation_detection: {threshold: 1.0}",
       R"(agent.yaml:1:36: degradation_detection.threshold: must be greater than 0 and less than 1, got "1.0")"},
      {"degradation_detection: {threshold: 0}",
       R"(agent.yaml:1:36: degradation_detection.threshold: must be greater than 0 and less than 1, got "0")"},
      {"degradation_detection: {windowsize: 5}",
       "agent.yaml:1:25: degradation_detection.windowsize: unknown key; did you mean window_size?"},
      {"interval: 1s\ninterval: 2s", "agent.yaml:2:1: interval: duplicate key"},
      {"- interval: 1s",
       "agent.yaml:1:1: expected a mapping of settings at the top level, got a list"},
  };
  for (const BadValueCase& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(OnlyError(c.text), c.error);
  }
}

TEST(ConfigLoader, SyntaxErrorIsOneErrorWithItsLine) {
  ConfigLoadResult r = Load("interval: 1s\nhost:\n  enabled: true\n bad: 1\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_GT(r.errors[0].column, 0);
  EXPECT_EQ(r.errors[0].key, "");
  EXPECT_THAT(r.errors[0].message, HasSubstr("syntax error"));

  ConfigLoadResult json = Load("{\n  \"interval\": \"1s\",\n  \"host\": {\"enabled\": true\n");
  ASSERT_EQ(json.errors.size(), 1u);
  EXPECT_THAT(json.errors[0].ToString(), HasSubstr("agent.yaml:4:"));
  EXPECT_THAT(json.errors[0].message, HasSubstr("syntax error"));
}

TEST(ConfigLoader, UnknownKeysSuggestTheClosestKnownKey) {
  ConfigLoadResult r = Load(R"(intervl: 1s
storage:
  retension: 1h
  max_memory_bytes: 1GiB
retention: 2h
frobnicate: true
)");
  EXPECT_THAT(Errors(r),
              ElementsAre("agent.yaml:1:1: intervl: unknown key; did you mean interval?",
                          "agent.yaml:3:3: storage.retension: unknown key; did you mean retention?",
                          "agent.yaml:4:3: storage.max_memory_bytes: unknown key; did you mean "
                          "max_memory?",
                          "agent.yaml:5:1: retention: unknown key; did you mean storage.retention?",
                          "agent.yaml:6:1: frobnicate: unknown key"));
}

TEST(ConfigLoader, ReservedSectionsAreIgnoredWithAWarning) {
  ConfigLoadResult r = Load("interval: 1s\nsilences:\n  - name: x\n");
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_THAT(r.warnings, ElementsAre("silences: not yet supported; section ignored (line 2)"));
}

TEST(ConfigLoader, SecondDocumentIsAnError) {
  EXPECT_EQ(OnlyError("interval: 1s\n---\ninterval: 2s\n"),
            "agent.yaml:3:1: only one document is allowed; found another here");
  EXPECT_THAT(OnlyError("interval: 1s\n---\n[\n"), HasSubstr("agent.yaml:4:1: syntax error"));
  EXPECT_TRUE(Load("---\ninterval: 1s\n...\n---\n").ok());
}

TEST(ParseDuration, AcceptsUnitsFractionsAndBareSeconds) {
  const std::pair<const char*, int64_t> cases[] = {
      {"250ms", 250}, {"1s", 1000}, {"5m", 300'000}, {"24h", 86'400'000},  {"7d", 604'800'000},
      {"0.5", 500},   {"2", 2000},  {"1.5s", 1500},  {"1h30m", 5'400'000}, {" 10s ", 10'000},
      {"-1s", -1000}, {"0", 0},     {".25", 250},    {"1m0.5s", 60'500},
  };
  for (const auto& [text, expected] : cases) {
    int64_t ms = -12345;
    EXPECT_TRUE(ParseDurationMs(text, &ms)) << text;
    EXPECT_EQ(ms, expected) << text;
  }
}

TEST(ParseDuration, RejectsMalformedText) {
  for (const char* text : {"", "abc", "1x", "s", "1 s", "1h30", "--1s", "+1s", "1e3", "1S", "inf",
                           "nan", "1.2.3s", "99999999999999999999d", "1ms5"}) {
    int64_t ms = 0;
    EXPECT_FALSE(ParseDurationMs(text, &ms)) << text;
  }
}

TEST(ParseSize, AcceptsBinaryDecimalAndBareBytes) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"512MiB", 512ULL << 20}, {"1GiB", 1ULL << 30},   {"1GB", 1'000'000'000ULL},
      {"64KiB", 65'536},        {"1048576", 1'048'576}, {"100B", 100},
      {"1.5KiB", 1536},         {"2TiB", 2ULL << 40},   {"10kB", 10'000},
      {"256Mi", 256ULL << 20},  {"1mib", 1ULL << 20},   {"0", 0},
  };
  for (const auto& [text, expected] : cases) {
    uint64_t bytes = 12345;
    EXPECT_TRUE(ParseSizeBytes(text, &bytes)) << text;
    EXPECT_EQ(bytes, expected) << text;
  }
}

TEST(ParseSize, RejectsMalformedText) {
  for (const char* text :
       {"", "MiB", "-1MiB", "1 MiB", "1XB", "1PiB", "lots", "1e6", "99999999999TiB", "1.2.3MB"}) {
    uint64_t bytes = 0;
    EXPECT_FALSE(ParseSizeBytes(text, &bytes)) << text;
  }
}

TEST(ConfigLoader, DataDirIsResolvedAgainstTheConfigFilesDirectory) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("conf/sub"));

  testing::WriteFile(dir.File("conf/relative.yaml"), "storage:\n  data_dir: ../state/./db/\n");
  ConfigLoadResult relative = LoadConfigFile(dir.File("conf/relative.yaml"));
  ASSERT_THAT(Errors(relative), IsEmpty());
  EXPECT_EQ(relative.config.storage.data_dir, dir.path() + "/state/db");
  EXPECT_EQ(relative.config.source, dir.File("conf/relative.yaml"));

  testing::WriteFile(dir.File("conf/sub/empty.yaml"), "storage:\n  data_dir: \"\"\n");
  ConfigLoadResult empty = LoadConfigFile(dir.File("conf/sub/empty.yaml"));
  ASSERT_THAT(Errors(empty), IsEmpty());
  EXPECT_EQ(empty.config.storage.data_dir, dir.path() + "/conf/sub/var");

  testing::WriteFile(dir.File("conf/absolute.json"), R"({"storage": {"data_dir": "/x/y/../z"}})");
  ConfigLoadResult absolute = LoadConfigFile(dir.File("conf/absolute.json"));
  ASSERT_THAT(Errors(absolute), IsEmpty());
  EXPECT_EQ(absolute.config.storage.data_dir, "/x/z");
}

TEST(ConfigLoader, DataDirFromStringsUsesBaseDirOrTheCurrentDirectory) {
  EXPECT_EQ(LoadConfigString("storage: {data_dir: db}", "s", "/opt/e").config.storage.data_dir,
            "/opt/e/db");
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(LoadConfigString("", "s").config.storage.data_dir,
            (std::filesystem::path(cwd) / "var").string());
  EXPECT_EQ(LoadConfigString("storage: {data_dir: db}", "s", "rel").config.storage.data_dir,
            (std::filesystem::path(cwd) / "rel" / "db").string());
}

TEST(ConfigLoader, DefaultConfigPutsDataInVarOfTheCurrentDirectory) {
  Config c = DefaultConfig();
  EXPECT_EQ(c.source, "");
  EXPECT_EQ(c.interval_ms, 1000);
  EXPECT_EQ(c.storage.data_dir, (std::filesystem::current_path() / "var").string());
  EXPECT_EQ(c.server.listen, "127.0.0.1:9470");
}

TEST(ConfigLoader, MissingOrUnreadableFileIsOneErrorNamingThePath) {
  testing::TempDir dir;
  ConfigLoadResult missing = LoadConfigFile(dir.File("nope.yaml"));
  EXPECT_THAT(Errors(missing),
              ElementsAre(dir.File("nope.yaml") + ": cannot open: No such file or directory"));

  ConfigLoadResult directory = LoadConfigFile(dir.path());
  EXPECT_THAT(Errors(directory), ElementsAre(dir.path() + ": cannot read: Is a directory"));

  if (geteuid() != 0) {
    testing::WriteFile(dir.File("secret.yaml"), "interval: 1s\n");
    ASSERT_EQ(chmod(dir.File("secret.yaml").c_str(), 0), 0);
    EXPECT_THAT(Errors(LoadConfigFile(dir.File("secret.yaml"))),
                ElementsAre(dir.File("secret.yaml") + ": cannot open: Permission denied"));
  }
}

TEST(ConfigLoader, ErrorsInAFileNameTheFile) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("agent.yaml"), "interval: 1s\nstorage:\n  retention: abc\n");
  EXPECT_THAT(
      Errors(LoadConfigFile(dir.File("agent.yaml"))),
      ElementsAre(dir.File("agent.yaml") +
                  R"(:3:14: storage.retention: expected a duration like "24h", got "abc")"));
}

TEST(ConfigLoader, HostileInputIsAnErrorNotACrash) {
  std::string deep(5000, '[');
  std::string wide = "alert_thresholds:\n";
  for (int i = 0; i < 2000; ++i)
    wide += "  m" + std::to_string(i) + ": " + std::to_string(i) + "\n";
  std::string huge(2 << 20, '#');
  const std::string inputs[] = {
      deep,
      std::string("interval: \0\x01\xff", 14),
      "a: &a [*a, *a]\n",
      "? [a, b]\n: 1\n",
      "host: {enabled: !!binary AAAA}\n",
      "alert_thresholds: {\"\": 1}\n",
      "storage: {retention: 99999999999999999999d}\n",
      "max_metrics_history: 9007199254740992\ninterval: 1h\n",
      huge,
  };
  for (const std::string& text : inputs) {
    ConfigLoadResult r = Load(text);
    EXPECT_FALSE(r.ok()) << text.substr(0, 40);
  }
  EXPECT_TRUE(Load(wide).ok());
  EXPECT_EQ(Load(wide).config.legacy.alert_thresholds.size(), 2000u);
}

TEST(ConfigError, FormatsWhatIsKnown) {
  EXPECT_EQ((ConfigError{"a.yaml", 7, 3, "storage.retention", "bad"}).ToString(),
            "a.yaml:7:3: storage.retention: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "", "cannot open"}).ToString(), "a.yaml: cannot open");
  EXPECT_EQ((ConfigError{"a.yaml", 2, 0, "", "x"}).ToString(), "a.yaml:2: x");
}

}  // namespace
}  // namespace echomon::core

namespace echomon::core {
namespace {

TEST(AlertingConfig, ReadsRulesWindowsAndNotifiers) {
  ConfigLoadResult r = Load(R"(alerting:
  default_rules: false
  external_url: http://monitor.example:9470
  snapshot_interval: 5s
rules:
  - name: root_disk
    metric: echomon_filesystem_usage_percent
    labels: {mount: /}
    aggregation: avg
    window: 5m
    warning: 85
    critical: {threshold: 95, clear: 90}
    for: 1m
    keep_firing_for: 30s
    summary: "disk {value}%"
    annotations: {runbook: "https://wiki/disk"}
  - name: tokens_fall
    kind: degradation
    metric: tokens_per_second
    comparison: below
    samples: 10
    window: 10m
    warning: 0.15
maintenance_windows:
  - name: sunday
    days: [sun, Saturday]
    start: "02:00"
    end: "04:30"
    time_zone: Europe/Berlin
    labels: 'alertname="root_disk"'
notifiers:
  - type: log
  - type: webhook
    url: http://127.0.0.1:5001/hook
    headers: {Authorization: Bearer x}
    timeout: 2s
  - type: program
    argv: [/usr/bin/logger, -t, echomon]
)");
  ASSERT_THAT(Errors(r), IsEmpty());
  const AlertingConfig& a = r.config.alerting;
  EXPECT_FALSE(a.default_rules);
  EXPECT_EQ(a.external_url, "http://monitor.example:9470");
  EXPECT_EQ(a.snapshot_interval_ms, 5000);
  ASSERT_EQ(a.rules.size(), 2u);
  const RuleConfig& disk = a.rules[0];
  EXPECT_EQ(disk.line, 6);
  EXPECT_EQ(disk.labels, "mount=\"/\"");
  EXPECT_EQ(disk.aggregation, "avg");
  EXPECT_EQ(disk.window_ms, 300'000);
  ASSERT_EQ(disk.levels.size(), 2u);
  EXPECT_EQ(disk.levels[0].severity, "warning");
  EXPECT_EQ(disk.levels[1].severity, "critical");
  EXPECT_EQ(disk.levels[1].clear, 90);
  EXPECT_EQ(disk.for_ms, 60'000);
  EXPECT_EQ(disk.keep_firing_for_ms, 30'000);
  EXPECT_EQ(disk.annotations.at("runbook"), "https://wiki/disk");
  EXPECT_EQ(a.rules[1].kind, "degradation");
  EXPECT_EQ(a.rules[1].comparison, "below");
  ASSERT_EQ(a.maintenance_windows.size(), 1u);
  EXPECT_EQ(a.maintenance_windows[0].days, (std::vector<int>{0, 6}));
  EXPECT_EQ(a.maintenance_windows[0].start_minute, 120);
  EXPECT_EQ(a.maintenance_windows[0].end_minute, 270);
  ASSERT_EQ(a.notifiers.size(), 3u);
  EXPECT_EQ(a.notifiers[1].headers.at("Authorization"), "Bearer x");
  EXPECT_EQ(a.notifiers[1].timeout_ms, 2000);
  EXPECT_EQ(a.notifiers[2].argv[0], "/usr/bin/logger");
  EXPECT_EQ(a.notifiers[2].name, "program");
}

TEST(AlertingConfig, NamesLineAndKeyOfRuleProblems) {
  EXPECT_EQ(OnlyError("rules:\n  - name: a\n    metric: m\n    kind: treshold\n    warning: 1\n"),
            "agent.yaml:4:11: rules[0].kind: unknown value \"treshold\" (expected one of "
            "threshold, trend, degradation, forecast, baseline, anomaly); did you mean threshold?");
  EXPECT_THAT(OnlyError("rules:\n  - name: a\n    metric: m\n"),
              HasSubstr("needs at least one of info, warning, critical"));
  EXPECT_THAT(OnlyError("rules:\n  - name: a\n    metric: m\n    warning: 1\n"
                        "  - name: a\n    metric: m\n    warning: 2\n"),
              HasSubstr("defined twice"));
  EXPECT_THAT(OnlyError("rules:\n  - name: a\n    metric: 9bad\n    warning: 1\n"),
              HasSubstr("agent.yaml:3:13: rules[0].metric"));
  EXPECT_THAT(
      OnlyError("rules:\n  - name: a\n    metric: m\n    labels: 'a=\"x'\n    warning: 1\n"),
      HasSubstr("rules[0].labels: invalid label matchers"));
  EXPECT_THAT(OnlyError("maintenance_windows:\n  - name: w\n    start: '2:00'\n    end: '03:00'\n"),
              HasSubstr("maintenance_windows[0].start: expected a time of day"));
  EXPECT_THAT(OnlyError("notifiers:\n  - type: program\n    argv: [logger]\n"),
              HasSubstr("absolute program path"));
  EXPECT_THAT(OnlyError("notifiers:\n  - type: webhook\n    url: ftp://x\n"),
              HasSubstr("notifiers[0].url: expected an http:// or https:// URL"));
}

}  // namespace
}  // namespace echomon::core
