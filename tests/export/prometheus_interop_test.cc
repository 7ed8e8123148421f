// Interoperability with a real Prometheus (Debian's /usr/bin/prometheus) on loopback:
// remote-written samples can be queried back, and Prometheus can scrape the agent's /metrics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"
#include "echomon/clock.h"
#include "echomon/monitor.h"
#include "echomon/version.h"

namespace echomon {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

// A Prometheus server on a free loopback port with a temporary TSDB, killed on destruction.
class PrometheusServer {
 public:
  // Starts it and waits (at most 30 s) until /-/ready answers 200. ok() tells whether it did.
  PrometheusServer(const TempDir& dir, const std::string& config_yaml)
      : port_(testing::FreeLoopbackPort()) {
    testing::WriteFile(dir.File("prometheus.yml"), config_yaml);
    process_ = std::make_unique<testing::Subprocess>(
        std::vector<std::string>{kPrometheus, "--config.file=" + dir.File("prometheus.yml"),
                                 "--storage.tsdb.path=" + dir.File("tsdb"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--web.enable-remote-write-receiver", "--log.level=warn"});
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client.Get("/-/ready");
      if (r && r->status == 200) {
        ready_ = true;
        return;
      }
      if (process_->Wait(0) != -1) break;  // exited
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~PrometheusServer() {
    process_->Signal(SIGTERM);
    if (process_->Wait(5000) == -1) process_->Signal(SIGKILL);
  }

  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string Logs() const { return process_->Stderr(); }

  // /api/v1/query; the "data" object, or null on any failure.
  json Query(const std::string& promql) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(5, 0);
    auto r = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!r || r->status != 200) return nullptr;
    json body = json::parse(r->body, nullptr, false);
    if (body.is_discarded() || body.value("status", "") != "success") return nullptr;
    json data = body["data"];
    return data;
  }

  // Polls an instant query until it returns at least one series (at most timeout).
  json WaitForVector(const std::string& promql, std::chrono::seconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json result = json::array();
    while (std::chrono::steady_clock::now() < deadline) {
      json data = Query(promql);
      if (data.is_object() && data["result"].is_array() && !data["result"].empty()) {
        result = data["result"];
        return result;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return result;
  }

 private:
  int port_;
  bool ready_ = false;
  std::unique_ptr<testing::Subprocess> process_;
};

bool HavePrometheus() { return access(kPrometheus, X_OK) == 0; }

std::unique_ptr<Monitor> StartMonitor(const TempDir& dir, const std::string& config_yaml,
                                      Clock* clock, bool serve_http, bool run_loop) {
  testing::WriteFile(dir.File("echomon.yaml"), config_yaml);
  MonitorOptions o;
  o.config_file = dir.File("echomon.yaml");
  o.clock = clock;
  o.serve_http = serve_http;
  o.run_loop = run_loop;
  auto m = Monitor::Create(o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok()) return nullptr;
  Status s = (*m)->Start();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return s.ok() ? std::move(m).value() : nullptr;
}

TEST(PrometheusInterop, RemoteWrittenSamplesCanBeQueriedBackWithTheirLabels) {
  if (!HavePrometheus()) GTEST_SKIP() << kPrometheus << " not installed (scripts/setup.sh)";
  TempDir dir;
  PrometheusServer prometheus(dir, "global:\n  scrape_interval: 15s\n");
  ASSERT_TRUE(prometheus.ready()) << prometheus.Logs();

  // Recent timestamps (Prometheus refuses samples far in the past), stepped by hand.
  const int64_t t0 = (SystemClock::Get()->NowMillis() / 1000 - 60) * 1000;
  ManualClock clock(t0);
  const std::string config =
      "interval: 1s\n"
      "host: {enabled: false}\n"
      "storage: {persist: false}\n"
      "scrape: {engine_discovery: false}\n"
      "remote_write:\n"
      "  - name: prom\n"
      "    url: http://127.0.0.1:" +
      std::to_string(prometheus.port()) +
      "/api/v1/write\n"
      "    batch_send_deadline: 100ms\n"
      "    external_labels: {agent: interop}\n";
  auto m = StartMonitor(dir, config, &clock, /*serve_http=*/false, /*run_loop=*/false);
  ASSERT_TRUE(m);
  double value = 0;
  m->RegisterCollector("dtesn", [&value] {
    return std::map<std::string, double>{{"membrane_depth", value}};
  });
  for (double v : {1.5, 2.5, -3.25}) {
    value = v;
    m->CollectOnce();
    clock.Advance(1000);
  }
  m->Stop();  // flushes the remote-write queue

  json series = prometheus.WaitForVector("membrane_depth{collector=\"dtesn\"}[10m]",
                                         std::chrono::seconds(10));
  ASSERT_EQ(series.size(), 1u) << series.dump() << "\n" << prometheus.Logs();
  json metric = series[0]["metric"];
  EXPECT_EQ(metric,
            json({{"__name__", "membrane_depth"}, {"collector", "dtesn"}, {"agent", "interop"}}));
  json values = series[0]["values"];
  ASSERT_EQ(values.size(), 3u) << values.dump();
  const double expected[] = {1.5, 2.5, -3.25};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(values[i][0].get<double>(), static_cast<double>(t0 + 1000 * i) / 1000.0);
    EXPECT_EQ(std::stod(values[i][1].get<std::string>()), expected[i]);
  }

  // The agent's own series travel too, with the writer's self-metrics among them.
  json capacity = prometheus.WaitForVector(
      "echomon_remote_write_queue_capacity{endpoint=\"prom\",agent=\"interop\"}",
      std::chrono::seconds(5));
  ASSERT_EQ(capacity.size(), 1u) << capacity.dump();
  EXPECT_EQ(capacity[0]["value"][1], "200000");
}

TEST(PrometheusInterop, TheRunningAgentStreamsSamplesWithoutWaitingForStop) {
  if (!HavePrometheus()) GTEST_SKIP() << kPrometheus << " not installed (scripts/setup.sh)";
  TempDir dir;
  PrometheusServer prometheus(dir, "global:\n  scrape_interval: 15s\n");
  ASSERT_TRUE(prometheus.ready()) << prometheus.Logs();
  const std::string config =
      "interval: 200ms\n"
      "host: {enabled: false}\n"
      "storage: {persist: false}\n"
      "scrape: {engine_discovery: false}\n"
      "remote_write:\n"
      "  - name: prom\n"
      "    url: http://127.0.0.1:" +
      std::to_string(prometheus.port()) +
      "/api/v1/write\n"
      "    batch_send_deadline: 100ms\n"
      "    drop_metrics: \"echomon_store_.*\"\n";
  auto m = StartMonitor(dir, config, SystemClock::Get(), /*serve_http=*/false, /*run_loop=*/true);
  ASSERT_TRUE(m);
  std::atomic<int> calls{0};
  m->RegisterCollector("dtesn", [&calls] {
    return std::map<std::string, double>{{"membrane_depth", ++calls}};
  });
  // At least five samples arrive while the agent runs, increasing like the collector's values.
  json series;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    series = prometheus.WaitForVector("membrane_depth{collector=\"dtesn\"}[5m]",
                                      std::chrono::seconds(1));
    if (series.size() == 1 && series[0]["values"].size() >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(series.size(), 1u) << series.dump();
  json values = series[0]["values"];
  ASSERT_GE(values.size(), 5u) << values.dump();
  double previous = 0;
  for (const json& v : values) {
    const double value = std::stod(v[1].get<std::string>());
    EXPECT_EQ(value, previous + 1) << values.dump();  // none lost, none repeated, in order
    previous = value;
  }
  // drop_metrics keeps the store's self-metrics out; the writer reports what it sent.
  EXPECT_TRUE(prometheus.Query("echomon_store_series")["result"].empty());
  json sent = prometheus.WaitForVector(
      "echomon_remote_write_samples_sent_total{endpoint=\"prom\"} > 0", std::chrono::seconds(5));
  EXPECT_EQ(sent.size(), 1u);
  m->Stop();
}

TEST(PrometheusInterop, PrometheusScrapesTheAgentsMetricsEndpoint) {
  if (!HavePrometheus()) GTEST_SKIP() << kPrometheus << " not installed (scripts/setup.sh)";
  TempDir dir;
  const std::string config =
      "interval: 1s\n"
      "host: {enabled: false}\n"
      "storage: {persist: false}\n"
      "scrape: {engine_discovery: false}\n"
      "server: {listen: \"127.0.0.1:0\"}\n";
  auto m = StartMonitor(dir, config, SystemClock::Get(), /*serve_http=*/true, /*run_loop=*/true);
  ASSERT_TRUE(m);
  m->RegisterCollector("dtesn", [] {
    return std::map<std::string, double>{{"membrane_depth", 42.5}};
  });
  const std::string address = m->http_address();
  ASSERT_FALSE(address.empty());

  PrometheusServer prometheus(dir,
                              "global:\n"
                              "  scrape_interval: 1s\n"
                              "  scrape_timeout: 900ms\n"
                              "scrape_configs:\n"
                              "  - job_name: echomon\n"
                              "    static_configs:\n"
                              "      - targets: ['" +
                                  address + "']\n");
  ASSERT_TRUE(prometheus.ready()) << prometheus.Logs();

  json up = prometheus.WaitForVector("up{job=\"echomon\"} == 1", std::chrono::seconds(20));
  ASSERT_EQ(up.size(), 1u) << "Prometheus never scraped the agent successfully\n"
                           << prometheus.Logs();
  json depth = prometheus.WaitForVector("membrane_depth{job=\"echomon\",collector=\"dtesn\"}",
                                        std::chrono::seconds(10));
  ASSERT_EQ(depth.size(), 1u);
  EXPECT_EQ(depth[0]["value"][1], "42.5");

  json build =
      prometheus.WaitForVector("echomon_build_info{job=\"echomon\"}", std::chrono::seconds(5));
  ASSERT_EQ(build.size(), 1u);
  EXPECT_EQ(build[0]["metric"]["version"], kVersion);

  // A value Prometheus scraped equals the one the agent holds.
  json start = prometheus.WaitForVector("echomon_start_time_seconds{job=\"echomon\"}",
                                        std::chrono::seconds(5));
  ASSERT_EQ(start.size(), 1u);
  double agent_start = -1;
  for (const MetricValue& v : m->CurrentMetrics()) {
    if (v.name == "echomon_start_time_seconds") agent_start = v.value;
  }
  EXPECT_DOUBLE_EQ(std::stod(start[0]["value"][1].get<std::string>()), agent_start);
  m->Stop();
}

}  // namespace
}  // namespace echomon
