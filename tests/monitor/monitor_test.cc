#include "echomon/monitor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace echomon {
namespace {

using testing::TempDir;

constexpr int64_t kT0 = 1'700'000'000'000;

// A monitor on a manual clock, driven by CollectOnce(), with only callback collectors unless
// host collectors are asked for.
std::unique_ptr<Monitor> MakeMonitor(ManualClock* clock, const std::string& data_dir,
                                     const std::string& config_file = {}) {
  MonitorOptions o;
  o.clock = clock;
  o.serve_http = false;
  o.run_loop = false;
  o.config_file = config_file;
  if (data_dir.empty()) {
    o.persist = false;
  } else {
    o.data_dir = data_dir;
  }
  auto m = Monitor::Create(o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

double ValueOf(const std::vector<MetricValue>& metrics, const std::string& name,
               const std::map<std::string, std::string>& labels) {
  for (const auto& m : metrics) {
    if (m.name == name && m.labels == labels) return m.value;
  }
  ADD_FAILURE() << "no series " << name;
  return -1;
}

TEST(Monitor, RegisteredCollectorValuesBecomeSeriesAndReRegistrationReplaces) {
  ManualClock clock(kT0);
  auto m = MakeMonitor(&clock, "");
  ASSERT_TRUE(m);
  m->RegisterCollector("dtesn", [] {
    return std::map<std::string, double>{{"membrane_depth", 3}};
  });
  ASSERT_TRUE(m->Start().ok());
  EXPECT_TRUE(m->is_monitoring());
  m->CollectOnce();
  auto now = m->CurrentMetrics();
  EXPECT_EQ(ValueOf(now, "membrane_depth", {{"collector", "dtesn"}}), 3);

  m->RegisterCollector("dtesn", [] {
    return std::map<std::string, double>{{"membrane_depth", 5}};
  });
  clock.Advance(1000);
  m->CollectOnce();
  EXPECT_EQ(ValueOf(m->CurrentMetrics(), "membrane_depth", {{"collector", "dtesn"}}), 5);
  auto history = m->MetricsHistory("membrane_depth", {{"collector", "dtesn"}});
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].timestamp_ms, kT0);
  EXPECT_EQ(history[0].value, 3);
  EXPECT_EQ(history[1].timestamp_ms, kT0 + 1000);
  EXPECT_EQ(history[1].value, 5);

  EXPECT_TRUE(m->UnregisterCollector("dtesn"));
  EXPECT_FALSE(m->UnregisterCollector("dtesn"));
  m->Stop();
  EXPECT_FALSE(m->is_monitoring());
}

TEST(Monitor, PerformanceSummaryCoversRegisteredCollectorsOverTheWindow) {
  ManualClock clock(kT0);
  auto m = MakeMonitor(&clock, "");
  ASSERT_TRUE(m);
  double v = 0;
  m->RegisterCollector("echo_self", [&v] { return std::map<std::string, double>{{"fitness", v}}; });
  ASSERT_TRUE(m->Start().ok());
  for (double x : {0.5, 0.7, 0.9, 0.3}) {
    v = x;
    m->CollectOnce();
    clock.Advance(1000);
  }
  PerformanceSummary s = m->GetPerformanceSummary(60'000);
  EXPECT_TRUE(s.monitoring);
  const MetricSummary* fitness = nullptr;
  for (const auto& ms : s.metrics) {
    if (ms.name == "fitness") fitness = &ms;
  }
  ASSERT_NE(fitness, nullptr);
  EXPECT_EQ(fitness->samples, 4u);
  EXPECT_DOUBLE_EQ(fitness->current, 0.3);
  EXPECT_DOUBLE_EQ(fitness->minimum, 0.3);
  EXPECT_DOUBLE_EQ(fitness->maximum, 0.9);
  EXPECT_DOUBLE_EQ(fitness->average, 0.6);
  // Only the last 2 s: samples at t0+2s and t0+3s.
  PerformanceSummary recent = m->GetPerformanceSummary(2000);
  for (const auto& ms : recent.metrics) {
    if (ms.name == "fitness") {
      EXPECT_EQ(ms.samples, 2u);
    }
  }
}

TEST(Monitor, ACollectorThatThrowsIsReportedAndOthersContinue) {
  ManualClock clock(kT0);
  auto m = MakeMonitor(&clock, "");
  ASSERT_TRUE(m);
  m->RegisterCollector("broken", []() -> std::map<std::string, double> {
    throw std::runtime_error("sensor offline");
  });
  m->RegisterCollector("fine", [] { return std::map<std::string, double>{{"ok_value", 1}}; });
  ASSERT_TRUE(m->Start().ok());
  m->CollectOnce();
  EXPECT_EQ(ValueOf(m->CurrentMetrics(), "ok_value", {{"collector", "fine"}}), 1);
  bool found = false;
  for (const auto& c : m->GetPerformanceSummary().collectors) {
    if (c.name != "broken") continue;
    found = true;
    EXPECT_FALSE(c.healthy);
    EXPECT_EQ(c.errors, 1u);
    EXPECT_NE(c.last_error.find("sensor offline"), std::string::npos) << c.last_error;
  }
  EXPECT_TRUE(found);
}

TEST(Monitor, HistorySurvivesARestartOnTheSameDataDirectory) {
  TempDir dir;
  ManualClock clock(kT0);
  {
    auto m = MakeMonitor(&clock, dir.path());
    ASSERT_TRUE(m);
    int i = 0;
    m->RegisterCollector("c", [&i] {
      return std::map<std::string, double>{{"counter_like", ++i}};
    });
    ASSERT_TRUE(m->Start().ok());
    for (int k = 0; k < 300; ++k) {
      m->CollectOnce();
      clock.Advance(1000);
    }
    m->Stop();
  }
  {
    auto m = MakeMonitor(&clock, dir.path());
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->Start().ok());
    auto history = m->MetricsHistory("counter_like", {{"collector", "c"}});
    ASSERT_EQ(history.size(), 300u);
    EXPECT_EQ(history.front().timestamp_ms, kT0);
    EXPECT_EQ(history.front().value, 1);
    EXPECT_EQ(history.back().value, 300);
    int i = 1000;
    m->RegisterCollector("c", [&i] {
      return std::map<std::string, double>{{"counter_like", ++i}};
    });
    m->CollectOnce();
    history = m->MetricsHistory("counter_like", {{"collector", "c"}});
    ASSERT_EQ(history.size(), 301u);
    EXPECT_EQ(history.back().value, 1001);
    m->Stop();
  }
}

TEST(Monitor, SaveMetricsWritesAJsonFileAtomically) {
  TempDir dir;
  ManualClock clock(kT0);
  auto m = MakeMonitor(&clock, "");
  ASSERT_TRUE(m);
  m->RegisterCollector("embodied", [] {
    return std::map<std::string, double>{{"proprioceptive_accuracy", 0.92}};
  });
  ASSERT_TRUE(m->Start().ok());
  m->CollectOnce();
  clock.Advance(1000);
  m->CollectOnce();
  const std::string path = dir.File("metrics.json");
  ASSERT_TRUE(m->SaveMetrics(path).ok());
  auto doc = nlohmann::json::parse(testing::ReadFile(path));
  bool found = false;
  for (const auto& c : doc["current"]) {
    if (c["name"] == "proprioceptive_accuracy") {
      found = true;
      EXPECT_DOUBLE_EQ(c["value"].get<double>(), 0.92);
      EXPECT_EQ(c["labels"]["collector"], "embodied");
    }
  }
  EXPECT_TRUE(found);
  bool history_found = false;
  for (const auto& h : doc["history"]) {
    if (h["name"] == "proprioceptive_accuracy") {
      history_found = true;
      EXPECT_EQ(h["points"].size(), 2u);
    }
  }
  EXPECT_TRUE(history_found);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  Status bad = m->SaveMetrics(dir.File("no/such/dir/metrics.json"));
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("no/such/dir"), std::string::npos);
}

TEST(Monitor, BadConfigurationFailsCreationWithFileLineAndKey) {
  TempDir dir;
  const std::string path = dir.File("bad.yaml");
  testing::WriteFile(path, "interval: 1s\nstorage:\n  retention: soon\n");
  MonitorOptions o;
  o.config_file = path;
  auto m = Monitor::Create(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(path + ":3"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("storage.retention"), std::string::npos);
}

TEST(Monitor, ListeningBeyondLoopbackWithoutATokenIsRefused) {
  MonitorOptions o;
  o.listen = "0.0.0.0:9470";
  o.persist = false;
  auto m = Monitor::Create(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("token"), std::string::npos);
}

TEST(Monitor, UnusableDataDirectoryFailsStartNamingThePath) {
  TempDir dir;
  const std::string file = dir.File("a_file");
  testing::WriteFile(file, "x");
  ManualClock clock(kT0);
  auto m = MakeMonitor(&clock, file + "/sub");
  ASSERT_TRUE(m);
  Status s = m->Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(file), std::string::npos) << s.message();
}

}  // namespace
}  // namespace echomon
