// Scrape targets configured in the agent: a generic target stores every sample, an engine
// target derives the engine metrics the built-in rules use.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "common/test_util.h"
#include "echomon/monitor.h"

namespace echomon {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

double Find(const std::vector<MetricValue>& metrics, const std::string& name,
            const std::string& label, const std::string& value) {
  for (const auto& m : metrics) {
    auto it = m.labels.find(label);
    if (m.name == name && (label.empty() || (it != m.labels.end() && it->second == value))) {
      return m.value;
    }
  }
  return -1;
}

TEST(ScrapeIntegration, ConfiguredTargetsAreScrapedAndTheEngineProfileDerivesItsMetrics) {
  const std::string capture =
      testing::ReadFile(std::string(ECHOMON_SHARED_DATA_DIR) + "/exposition/vllm_v0_sample.txt");
  ASSERT_FALSE(capture.empty());
  httplib::Server engine;
  engine.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(capture, "text/plain; version=0.0.4");
  });
  const int port = engine.bind_to_any_port("127.0.0.1");
  std::thread server([&] { engine.listen_after_bind(); });
  while (!engine.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  testing::TempDir dir;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config,
                     "host: {enabled: false}\nalerting: {default_rules: false}\n"
                     "scrape:\n  targets:\n"
                     "    - {name: raw, url: '" +
                         url +
                         "', labels: {site: lab}}\n"
                         "    - {name: vllm, url: '" +
                         url + "', kind: engine}\n");
  ManualClock clock(kT0);
  MonitorOptions o;
  o.clock = &clock;
  o.config_file = config;
  o.persist = false;
  o.serve_http = false;
  o.run_loop = false;
  auto m = Monitor::Create(o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->Start().ok());
  (*m)->CollectOnce();
  const auto metrics = (*m)->CurrentMetrics();
  EXPECT_EQ(Find(metrics, "echomon_scrape_up", "target", "raw"), 1);
  EXPECT_GT(Find(metrics, "echomon_scrape_samples", "target", "raw"), 100);
  // A sample of the capture, stored as exposed with the target's labels.
  bool stored = false;
  for (const auto& mv : metrics) {
    if (mv.name == "vllm:num_requests_running" && mv.labels.count("site") &&
        mv.labels.at("site") == "lab" && mv.labels.at("target") == "raw") {
      stored = true;
    }
  }
  EXPECT_TRUE(stored);
  EXPECT_EQ(Find(metrics, "echomon_engine_up", "engine", "vllm"), 1);
  EXPECT_GE(Find(metrics, "echomon_engine_kv_cache_usage_percent", "engine", "vllm"), 0);
  (*m)->Stop();
  engine.stop();
  server.join();
}

TEST(ScrapeIntegration, ABadScrapeSectionNamesTheLine) {
  testing::TempDir dir;
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config, "scrape:\n  targets:\n    - {name: x, url: 'ftp://nope'}\n");
  MonitorOptions o;
  o.config_file = config;
  auto m = Monitor::Create(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(config + ":3:"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("scrape.targets[0].url"), std::string::npos);
}

}  // namespace
}  // namespace echomon
