// A whole agent scraping real engine captures: what it re-exposes on /metrics passes Debian's
// `promtool check metrics` (histograms keep their type), counter resets are read as resets,
// and series a target stops exposing vanish from /metrics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "common/test_util.h"
#include "echomon/monitor.h"
#include "fake_engine.h"

namespace echomon {
namespace {

using echomon::testing::FakeEngine;
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr const char* kPromtool = "/usr/bin/promtool";

std::string Capture(const std::string& name) {
  return testing::ReadFile(std::string(ECHOMON_SHARED_DATA_DIR) + "/exposition/" + name);
}

struct Agent {
  explicit Agent(const std::string& scrape_config) {
    const std::string path = dir.File("agent.yaml");
    testing::WriteFile(
        path, "host: {enabled: false}\nalerting: {default_rules: false}\n" + scrape_config);
    MonitorOptions o;
    o.clock = &clock;
    o.config_file = path;
    o.persist = false;
    o.run_loop = false;
    o.listen = "127.0.0.1:0";
    auto m = Monitor::Create(o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    monitor = std::move(m).value();
    Status s = monitor->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    client = std::make_unique<httplib::Client>("http://" + monitor->http_address());
  }
  ~Agent() { monitor->Stop(); }
  std::string Get(const std::string& p) {
    auto r = client->Get(p.c_str());
    return r ? r->body : std::string();
  }
  testing::TempDir dir;
  ManualClock clock{kT0};
  std::unique_ptr<Monitor> monitor;
  std::unique_ptr<httplib::Client> client;
};

// promtool's problem lines ("name problem"), and its exit code.
int Promtool(const std::string& file, std::set<std::string>* problems) {
  std::string out, err;
  int rc = testing::RunCommand({kPromtool, "check", "metrics"}, &out, &err, 30'000, file);
  std::istringstream lines(out + err);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) problems->insert(line);
  }
  return rc;
}

TEST(AgentExposition, ReexposedEngineCapturesPassPromtool) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << "Debian's prometheus package not installed";
  const std::vector<std::string> captures = {"vllm_v0_sample.txt", "vllm_v1_sample_truncated.txt",
                                             "aphrodite_v0_sample.txt"};
  std::vector<std::unique_ptr<FakeEngine>> engines;
  std::string config = "scrape:\n  engine_discovery: false\n  targets:\n";
  testing::TempDir dir;
  std::set<std::string> allowed;  // problems the captures have themselves
  for (size_t i = 0; i < captures.size(); ++i) {
    engines.push_back(std::make_unique<FakeEngine>());
    engines.back()->Set(Capture(captures[i]));
    config += "    - {name: t" + std::to_string(i) + ", url: '" + engines.back()->url() + "'}\n";
    const std::string file = dir.File(captures[i]);
    testing::WriteFile(file, Capture(captures[i]));
    int rc = Promtool(file, &allowed);
    ASSERT_NE(rc, 1) << captures[i] << " does not parse";
  }
  Agent agent(config);
  agent.monitor->CollectOnce();
  const std::string metrics = agent.Get("/metrics");
  ASSERT_NE(metrics.find("# TYPE vllm:e2e_request_latency_seconds histogram\n"), std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_EQ(metrics.find("# TYPE vllm:e2e_request_latency_seconds_bucket"), std::string::npos);
  const std::string file = dir.File("agent_metrics.txt");
  testing::WriteFile(file, metrics);
  std::set<std::string> problems;
  const int rc = Promtool(file, &problems);
  EXPECT_NE(rc, 1) << "promtool cannot parse the agent's /metrics: "
                   << (problems.empty() ? "" : *problems.begin());
  for (const auto& p : problems) {
    // Problems the engine's own exposition has (e.g. ':' in vLLM names) are passed through;
    // the agent must add none.
    EXPECT_TRUE(allowed.count(p) > 0) << "new promtool problem: " << p;
  }
  // Without the family types the re-exposed buckets were linted as non-histograms.
  for (const auto& p : problems) {
    EXPECT_EQ(p.find("non-histogram"), std::string::npos) << p;
  }
}

TEST(AgentExposition, CounterResetsAndVanishedSeries) {
  FakeEngine target;
  target.Set(
      "# TYPE jobs_total counter\njobs_total 100\n# TYPE queue gauge\nqueue 4\n"
      "queue{shard=\"b\"} 2\n");
  Agent agent("scrape:\n  engine_discovery: false\n  targets:\n    - {name: app, url: '" +
              target.url() + "'}\n");
  RuleDefinition rule;
  rule.name = "jobs_rate";
  rule.metric = "jobs_total";
  rule.aggregation = "rate";
  rule.window_ms = 60'000;
  rule.warning = 1e9;
  ASSERT_TRUE(agent.monitor->AddRule(rule).ok());
  agent.monitor->CollectOnce();
  agent.clock.Advance(1000);
  target.Set("# TYPE jobs_total counter\njobs_total 160\n# TYPE queue gauge\nqueue 4\n");
  agent.monitor->CollectOnce();  // +60 in 1 s; queue{shard="b"} vanished
  agent.clock.Advance(1000);
  target.Set("# TYPE jobs_total counter\njobs_total 10\n# TYPE queue gauge\nqueue 4\n");
  agent.monitor->CollectOnce();  // the target restarted: +10 after the reset

  // The store keeps what was exposed; the rule's rate counts the reset as a restart from 0:
  // (60 + 10) / 2 s = 35/s, never a negative rate.
  auto history = agent.monitor->MetricsHistory("jobs_total", {{"target", "app"}});
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[2].value, 10);
  const auto rules = nlohmann::json::parse(agent.Get("/api/v1/rules"));
  double rate = -1;
  for (const auto& r : rules["data"]) {
    if (r["name"] == "jobs_rate" && !r["series"].empty()) rate = r["series"][0]["value"];
  }
  EXPECT_DOUBLE_EQ(rate, 35.0);

  // queue{shard="b"} is no longer emitted; once its last sample is older than the staleness
  // window (3 intervals + the collector timeout = 3.5 s), /metrics stops listing it.
  EXPECT_NE(agent.Get("/metrics").find("queue{shard=\"b\",target=\"app\"} 2"), std::string::npos);
  for (int i = 0; i < 3; ++i) {
    agent.clock.Advance(1000);
    agent.monitor->CollectOnce();
  }
  const std::string metrics = agent.Get("/metrics");
  EXPECT_EQ(metrics.find("shard=\"b\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("queue{target=\"app\"} 4"), std::string::npos);
}

TEST(AgentExposition, AConfiguredTargetIntervalIsHonoured) {
  FakeEngine target;
  target.Set("level 1\n");
  Agent agent("scrape:\n  engine_discovery: false\n  targets:\n    - {name: slow, url: '" +
              target.url() + "', interval: 5s}\n");
  auto level = [&] {
    for (const auto& m : agent.monitor->CurrentMetrics()) {
      if (m.name == "level") return m.value;
    }
    return -1.0;
  };
  agent.monitor->CollectOnce();
  EXPECT_EQ(level(), 1);
  target.Set("level 2\n");
  for (int i = 0; i < 4; ++i) {
    agent.clock.Advance(1000);
    agent.monitor->CollectOnce();
    EXPECT_EQ(level(), 1) << "tick " << i + 1 << ": fetched before the interval passed";
  }
  agent.clock.Advance(1000);
  agent.monitor->CollectOnce();
  EXPECT_EQ(level(), 2);
}

}  // namespace
}  // namespace echomon
