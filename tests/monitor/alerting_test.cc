// Alerting end to end inside the agent: a rule on a collected metric fires, each notifier
// (in-process handler, JSON files, a webhook on loopback) hears about it exactly once per
// transition, it resolves, survives a restart, and silences and maintenance windows mute it.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"
#include "echomon/monitor.h"

namespace echomon {
namespace {

using nlohmann::json;
constexpr int64_t kT0 = 1'700'000'000'000;

// Waits (bounded) for deliveries that happen on the notifier threads.
bool WaitFor(const std::function<bool()>& done, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

size_t CountFiles(const std::string& dir) {
  if (!std::filesystem::exists(dir)) return 0;
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().extension() == ".json";
  return n;
}

class AlertingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hook_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      webhook_bodies_.push_back(json::parse(req.body));
      res.status = 200;
    });
    hook_port_ = hook_.bind_to_any_port("127.0.0.1");
    hook_thread_ = std::thread([this] { hook_.listen_after_bind(); });
  }
  void TearDown() override {
    hook_.stop();
    hook_thread_.join();
  }

  std::string WriteConfig(const std::string& extra = {}) {
    const std::string path = dir_.File("agent.yaml");
    testing::WriteFile(path,
                       "host: {enabled: false}\n"
                       "alerting:\n  default_rules: false\n"
                       "rules:\n"
                       "  - name: queue_deep\n"
                       "    metric: queue_depth\n"
                       "    labels: {collector: engine}\n"
                       "    warning: 10\n"
                       "    critical: 50\n"
                       "    summary: 'queue depth {value}'\n"
                       "notifiers:\n"
                       "  - type: file\n"
                       "    directory: " +
                           dir_.File("alerts") +
                           "\n"
                           "  - type: webhook\n"
                           "    url: http://127.0.0.1:" +
                           std::to_string(hook_port_) + "/hook\n" + extra);
    return path;
  }

  std::unique_ptr<Monitor> Start(const std::string& config) {
    MonitorOptions o;
    o.clock = &clock_;
    o.config_file = config;
    o.data_dir = dir_.File("data");
    o.listen = "127.0.0.1:0";
    o.run_loop = false;
    auto m = Monitor::Create(o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return nullptr;
    auto monitor = std::move(m).value();
    monitor->RegisterCollector("engine", [this] {
      return std::map<std::string, double>{{"queue_depth", depth_.load()}};
    });
    monitor->RegisterAlertHandler([this](const Alert& a) {
      std::lock_guard<std::mutex> lock(mu_);
      handled_.push_back(a);
    });
    EXPECT_TRUE(monitor->Start().ok());
    client_ = std::make_unique<httplib::Client>("http://" + monitor->http_address());
    return monitor;
  }

  void Tick(Monitor& m, double depth) {
    depth_ = depth;
    clock_.Advance(1000);
    m.CollectOnce();
  }

  size_t Handled() {
    std::lock_guard<std::mutex> lock(mu_);
    return handled_.size();
  }
  size_t Webhooks() {
    std::lock_guard<std::mutex> lock(mu_);
    return webhook_bodies_.size();
  }
  json Get(const std::string& path) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res && res->status == 200) << path;
    return res ? json::parse(res->body)["data"] : json();
  }
  // Every notifier has delivered n notifications (and none is queued).
  bool AllSent(size_t n) {
    for (const auto& s : Get("/api/v1/notifiers")) {
      if (s["sent"].get<size_t>() != n || s["queued"].get<size_t>() != 0) return false;
    }
    return true;
  }

  testing::TempDir dir_;
  ManualClock clock_{kT0};
  std::atomic<double> depth_{0};
  std::mutex mu_;
  std::vector<Alert> handled_;
  std::vector<json> webhook_bodies_;
  httplib::Server hook_;
  int hook_port_ = 0;
  std::thread hook_thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AlertingTest, FiresOncePerTransitionToEveryNotifierResolvesAndSurvivesARestart) {
  const std::string config = WriteConfig();
  std::string alert_id;
  {
    auto m = Start(config);
    ASSERT_TRUE(m);
    Tick(*m, 5);
    EXPECT_TRUE(Get("/api/v1/alerts").empty());
    Tick(*m, 20);  // above warning
    ASSERT_TRUE(WaitFor([&] { return Handled() == 1 && Webhooks() == 1; }));
    for (int i = 0; i < 5; ++i) Tick(*m, 21);  // persisting: no new notifications
    Tick(*m, 60);                              // warning -> critical
    ASSERT_TRUE(WaitFor([&] { return Handled() == 2 && Webhooks() == 2; }));
    Tick(*m, 4);  // resolved
    ASSERT_TRUE(WaitFor([&] { return AllSent(3); })) << Get("/api/v1/notifiers").dump();
    EXPECT_EQ(Handled(), 3u);
    EXPECT_EQ(Webhooks(), 3u);
    EXPECT_EQ(CountFiles(dir_.File("alerts")), 3u);
    {
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_EQ(handled_[0].rule, "queue_deep");
      EXPECT_EQ(handled_[0].severity, Severity::kWarning);
      EXPECT_FALSE(handled_[0].resolved);
      EXPECT_EQ(handled_[0].value, 20);
      EXPECT_EQ(handled_[0].labels.at("collector"), "engine");
      EXPECT_EQ(handled_[1].severity, Severity::kCritical);
      EXPECT_TRUE(handled_[2].resolved);
      EXPECT_EQ(webhook_bodies_[0]["status"], "firing");
      EXPECT_EQ(webhook_bodies_[0]["alerts"][0]["labels"]["alertname"], "queue_deep");
      EXPECT_EQ(webhook_bodies_[2]["status"], "resolved");
    }
    // Fire again and stop while it is firing.
    Tick(*m, 30);
    ASSERT_TRUE(WaitFor([&] { return AllSent(4); }));
    auto active = Get("/api/v1/alerts");
    ASSERT_EQ(active.size(), 1u);
    alert_id = active[0]["id"];
    EXPECT_EQ(active[0]["state"], "firing");
    m->Stop();
  }
  auto m = Start(config);
  ASSERT_TRUE(m);
  // Restored from the journal before any tick, and not announced again.
  auto active = Get("/api/v1/alerts");
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0]["id"], alert_id);
  Tick(*m, 30);
  EXPECT_TRUE(AllSent(0));
  EXPECT_EQ(Handled(), 4u);  // the handler of the first run saw 4; nothing new
  auto history = Get("/api/v1/alerts/history?since=0");
  // pending+firing (x2 for two alerts), severity change, resolve.
  ASSERT_EQ(history.size(), 6u) << history.dump();
  EXPECT_EQ(history[3]["to"], "resolved");
  auto rules = Get("/api/v1/rules");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["health"], "ok");
  EXPECT_EQ(rules[0]["series"][0]["value"], 30);
}

TEST_F(AlertingTest, ASilenceCreatedThroughTheApiMutesButKeepsTheAlertVisible) {
  auto m = Start(WriteConfig());
  ASSERT_TRUE(m);
  httplib::Headers auth = {{"Authorization", "Bearer " + m->token()}};
  json body = {{"matchers", "alertname=\"queue_deep\""},
               {"duration", "1h"},
               {"author", "ops"},
               {"comment", "draining the queue"}};
  auto denied = client_->Post("/api/v1/silences", body.dump(), "application/json");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  auto created = client_->Post("/api/v1/silences", auth, body.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string id = json::parse(created->body)["data"]["id"];

  Tick(*m, 20);
  auto active = Get("/api/v1/alerts");
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0]["state"], "firing");
  EXPECT_TRUE(active[0]["silenced"].get<bool>());
  EXPECT_EQ(active[0]["silenced_by"], "silence " + id);
  EXPECT_TRUE(AllSent(0));
  EXPECT_EQ(Handled(), 0u);

  // Expired: the next transition is told again.
  auto expired = client_->Delete(("/api/v1/silences/" + id).c_str(), auth);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 200);
  EXPECT_EQ(Get("/api/v1/silences").size(), 0u);
  EXPECT_EQ(Get("/api/v1/silences?all=1").size(), 1u);
  Tick(*m, 60);
  ASSERT_TRUE(WaitFor([&] { return Handled() == 1; }));
  auto missing = client_->Delete("/api/v1/silences/nope", auth);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(AlertingTest, AMaintenanceWindowMutesNotifications) {
  auto m =
      Start(WriteConfig("maintenance_windows:\n"
                        "  - name: always\n"
                        "    start: '00:00'\n"
                        "    end: '24:00'\n"
                        "    labels: {alertname: queue_deep}\n"));
  ASSERT_TRUE(m);
  Tick(*m, 20);
  auto active = Get("/api/v1/alerts");
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0]["silenced_by"], "maintenance window always");
  EXPECT_TRUE(AllSent(0));
}

TEST(AlertingConfig, PrototypeThresholdsTuneTheBuiltInRules) {
  testing::TempDir dir;
  const std::string path = dir.File("prototype.json");
  testing::WriteFile(path, R"({"monitoring_interval": 1.0,
      "alert_thresholds": {"cpu_usage": 70.0, "request_latency": 500.0},
      "degradation_detection": {"window_size": 12, "threshold": 0.2}})");
  MonitorOptions o;
  o.config_file = path;
  o.persist = false;
  o.listen = "127.0.0.1:0";
  o.run_loop = false;
  auto m = Monitor::Create(o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->Start().ok());
  httplib::Client client("http://" + (*m)->http_address());
  auto res = client.Get("/api/v1/rules");
  ASSERT_TRUE(res);
  std::map<std::string, json> rules;
  const json doc = json::parse(res->body);
  for (const auto& r : doc["data"]) rules[r["name"].get<std::string>()] = r;
  EXPECT_EQ(rules["cpu_usage_high"]["levels"][0]["threshold"], 70.0);
  EXPECT_DOUBLE_EQ(rules["request_latency_high"]["levels"][0]["threshold"].get<double>(), 0.5);
  EXPECT_EQ(rules["memory_usage_high"]["levels"][0]["threshold"], 90.0);
  EXPECT_EQ(rules["token_throughput_degradation"]["levels"][0]["threshold"], 0.2);
  EXPECT_TRUE(rules.count("disk_full_forecast"));
}

TEST(AlertingConfig, AnUnknownTimeZoneIsRejectedWithTheLine) {
  testing::TempDir dir;
  const std::string path = dir.File("agent.yaml");
  testing::WriteFile(path,
                     "maintenance_windows:\n  - name: w\n    start: '01:00'\n    end: '02:00'\n"
                     "    time_zone: Mars/Olympus\n");
  MonitorOptions o;
  o.config_file = path;
  auto m = Monitor::Create(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(path + ":2"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("Mars/Olympus"), std::string::npos);
}

}  // namespace
}  // namespace echomon

namespace echomon {
namespace {

TEST(AlertingApi, RulesAddedInCodeFireAndInvalidOnesAreRefused) {
  testing::TempDir dir;
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config,
                     "host: {enabled: false}\nalerting: {default_rules: false, "
                     "snapshot_interval: 1s}\n");
  ManualClock clock(kT0);
  MonitorOptions o;
  o.clock = &clock;
  o.config_file = config;
  o.data_dir = dir.File("data");
  o.serve_http = false;
  o.run_loop = false;
  auto created = Monitor::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Monitor& m = **created;
  double temperature = 40;
  m.RegisterCollector("embodied", [&] {
    return std::map<std::string, double>{{"actuator_temperature", temperature}};
  });
  RuleDefinition bad;
  bad.name = "broken";
  bad.metric = "actuator_temperature";
  Status refused = m.AddRule(bad);  // no threshold
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("broken"), std::string::npos);
  bad.warning = 10;
  bad.warning_clear = 20;  // clear above an 'above' threshold
  EXPECT_FALSE(m.AddRule(bad).ok());

  RuleDefinition hot;
  hot.name = "actuator_hot";
  hot.metric = "actuator_temperature";
  hot.labels = {{"collector", "embodied"}};
  hot.warning = 70;
  hot.critical = 90;
  hot.summary = "actuator at {value} C";
  ASSERT_TRUE(m.AddRule(hot).ok());  // before Start: kept for when alerting starts
  std::mutex mu;
  std::vector<Alert> seen;
  m.RegisterAlertHandler([&](const Alert& a) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(a);
  });
  ASSERT_TRUE(m.Start().ok());
  m.CollectOnce();
  temperature = 95;
  clock.Advance(1000);
  m.CollectOnce();
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == 1;
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(seen[0].rule, "actuator_hot");
    EXPECT_EQ(seen[0].severity, Severity::kCritical);
    EXPECT_EQ(seen[0].message, "actuator at 95 C");
  }
  // The dashboard snapshot is refreshed on its own schedule, with the firing alert in it.
  const std::string snapshot = dir.File("data/dashboard.json");
  ASSERT_TRUE(std::filesystem::exists(snapshot));
  json doc = json::parse(testing::ReadFile(snapshot));
  EXPECT_EQ(doc["alerts"].size(), 1u);
  EXPECT_EQ(doc["alerts"][0]["rule"], "actuator_hot");
  EXPECT_EQ(doc["metrics"]["actuator_temperature{collector=\"embodied\"}"], 95);
  EXPECT_DOUBLE_EQ(doc["generated_at"].get<double>(), (kT0 + 1000) / 1000.0);

  EXPECT_TRUE(m.RemoveRule("actuator_hot"));
  EXPECT_FALSE(m.RemoveRule("actuator_hot"));
  clock.Advance(1000);
  m.CollectOnce();  // the rule is gone: its alert resolves
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == 2;
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(seen[1].resolved);
}

}  // namespace
}  // namespace echomon

namespace echomon {
namespace {

TEST(AnomalyAlerting, AnInjectedLevelShiftRaisesAnAnomalyAlertWithScoreAndBaseline) {
  testing::TempDir dir;
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config,
                     "host: {enabled: false}\n"
                     "alerting: {default_rules: false}\n"
                     "anomaly:\n  warmup: 100\n  watch:\n    - metric: queue_latency_ms\n"
                     "rules:\n  - name: queue_latency_anomalous\n    kind: anomaly\n"
                     "    metric: queue_latency_ms\n    warning: 0.5\n"
                     "notifiers:\n  - type: file\n    directory: " +
                         dir.File("alerts") + "\n");
  ManualClock clock(kT0);
  MonitorOptions o;
  o.clock = &clock;
  o.config_file = config;
  o.persist = false;
  o.serve_http = false;
  o.run_loop = false;
  auto m = Monitor::Create(o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  double latency = 0;
  int tick = 0;
  (*m)->RegisterCollector("engine", [&] {
    return std::map<std::string, double>{{"queue_latency_ms", latency}};
  });
  ASSERT_TRUE((*m)->Start().ok());
  auto step = [&](double v) {
    latency = v;
    clock.Advance(1000);
    (*m)->CollectOnce();
    ++tick;
  };
  // Normal: 20 ms with a little deterministic jitter, for 600 ticks.
  for (int i = 0; i < 600; ++i) step(20 + (i * 7 % 5) * 0.4);
  auto score = (*m)->MetricsHistory("echomon_anomaly_score",
                                    {{"collector", "engine"}, {"metric", "queue_latency_ms"}});
  ASSERT_EQ(score.size(), 600u);
  EXPECT_LT(score.back().value, 0.5);
  EXPECT_EQ(CountFiles(dir.File("alerts")), 0u) << "no alert while normal";
  // Injected change: latency jumps to 250 ms.
  for (int i = 0; i < 5; ++i) step(250);
  ASSERT_TRUE(WaitFor([&] { return CountFiles(dir.File("alerts")) >= 1; }));
  std::string first;
  for (const auto& e : std::filesystem::directory_iterator(dir.File("alerts"))) {
    first = testing::ReadFile(e.path());
  }
  json event = json::parse(first);
  const std::string text = event.dump();
  EXPECT_NE(text.find("queue_latency_anomalous"), std::string::npos) << text;
  EXPECT_NE(text.find("\"score\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"baseline\""), std::string::npos) << text;
  auto rate = (*m)->MetricsHistory("echomon_anomaly_rate");
  ASSERT_GE(rate.size(), 5u);
  double peak = 0;  // the one watched series was anomalous at the change
  for (size_t i = rate.size() - 5; i < rate.size(); ++i) peak = std::max(peak, rate[i].value);
  EXPECT_EQ(peak, 1.0);
}

}  // namespace
}  // namespace echomon
