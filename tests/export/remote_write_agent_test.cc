// The remote_write configuration section and the agent extension that feeds the writers.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "core/config.h"
#include "echomon/monitor.h"
#include "export/fake_receiver.h"

namespace echomon {
namespace {

using remote_write::Accepted;
using remote_write::FakeReceiver;
using remote_write::WriteSample;
using testing::TempDir;

std::string Errors(const core::ConfigLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.ToString() + "\n";
  return out;
}

TEST(RemoteWriteConfig, ReadsEndpointsAndAppliesDefaults) {
  auto r = core::LoadConfigString(
      "remote_write:\n"
      "  - url: http://127.0.0.1:9090/api/v1/write\n"
      "  - name: central\n"
      "    url: https://metrics.example.org/api/v1/push\n"
      "    headers: {Authorization: Bearer abc}\n"
      "    timeout: 10s\n"
      "    queue_capacity: 5000\n"
      "    max_samples_per_send: 500\n"
      "    batch_send_deadline: 2s\n"
      "    min_backoff: 50ms\n"
      "    max_backoff: 10s\n"
      "    external_labels: {cluster: lab}\n"
      "    drop_metrics: \"go_.*|process_.*\"\n",
      "agent.yaml");
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_TRUE(r.warnings.empty());
  const auto& rw = r.config.remote_write;
  ASSERT_EQ(rw.size(), 2u);
  EXPECT_EQ(rw[0].name, "http://127.0.0.1:9090/api/v1/write");
  EXPECT_EQ(rw[0].queue_capacity, 200'000);
  EXPECT_EQ(rw[0].max_samples_per_send, 2000);
  EXPECT_EQ(rw[0].batch_send_deadline_ms, 5000);
  EXPECT_EQ(rw[0].min_backoff_ms, 30);
  EXPECT_EQ(rw[0].max_backoff_ms, 5000);
  EXPECT_EQ(rw[0].timeout_ms, 30'000);
  EXPECT_EQ(rw[1].name, "central");
  EXPECT_EQ(rw[1].headers.at("Authorization"), "Bearer abc");
  EXPECT_EQ(rw[1].timeout_ms, 10'000);
  EXPECT_EQ(rw[1].queue_capacity, 5000);
  EXPECT_EQ(rw[1].max_samples_per_send, 500);
  EXPECT_EQ(rw[1].batch_send_deadline_ms, 2000);
  EXPECT_EQ(rw[1].min_backoff_ms, 50);
  EXPECT_EQ(rw[1].max_backoff_ms, 10'000);
  EXPECT_EQ(rw[1].external_labels.at("cluster"), "lab");
  EXPECT_EQ(rw[1].drop_metrics, "go_.*|process_.*");
}

TEST(RemoteWriteConfig, NamesTheLineAndKeyOfEachMistake) {
  struct Case {
    std::string yaml;
    std::string expected;  // substring of the errors
  };
  const std::vector<Case> cases = {
      {"remote_write:\n  - name: x\n",
       "agent.yaml:2:5: remote_write[0]: a remote_write endpoint needs a url"},
      {"remote_write:\n  - url: ftp://x/\n", "expected an http:// or https:// URL"},
      {"remote_write:\n  - url: http://x/\n    drop_metrics: \"(\"\n",
       "agent.yaml:3:19: remote_write[0].drop_metrics: invalid regular expression"},
      {"remote_write:\n  - url: http://x/\n    headers: {Content-Encoding: gzip}\n",
       "header Content-Encoding is set by the protocol"},
      {"remote_write:\n  - url: http://x/\n    external_labels: {__x: y}\n",
       "invalid external label name '__x'"},
      {"remote_write:\n  - url: http://x/\n    queue_capacity: 0\n", "must be between 1 and"},
      {"remote_write:\n  - url: http://x/\n    min_backoff: 10s\n    max_backoff: 1s\n",
       "min_backoff must not exceed max_backoff"},
      {"remote_write:\n  - url: http://x/\n  - url: http://x/\n", "is defined twice"},
      {"remote_write:\n  - url: http://x/\n    timeuot: 1s\n",
       "unknown key; did you mean timeout?"},
      {"remote_write: {url: http://x/}\n", "expected a list"},
  };
  for (const Case& c : cases) {
    auto r = core::LoadConfigString(c.yaml, "agent.yaml");
    EXPECT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(Errors(r).find(c.expected), std::string::npos)
        << "config:\n"
        << c.yaml << "errors:\n"
        << Errors(r) << "expected: " << c.expected;
  }
}

// The extension, driven tick by tick on a manual clock, with a reload that moves the endpoint.
TEST(RemoteWriteExtension, ReloadMovesToTheNewEndpointWithoutLosingOrRepeatingSamples) {
  FakeReceiver first, second;
  TempDir dir;
  auto config = [&](const FakeReceiver& r) {
    return "host: {enabled: false}\n"
           "storage: {persist: false}\n"
           "scrape: {engine_discovery: false}\n"
           "remote_write:\n"
           "  - name: rw\n"
           "    url: " +
           r.Url() +
           "\n"
           "    drop_metrics: \"echomon_.*\"\n";
  };
  testing::WriteFile(dir.File("agent.yaml"), config(first));
  constexpr int64_t kT0 = 1'700'000'000'000;
  ManualClock clock(kT0);
  MonitorOptions o;
  o.config_file = dir.File("agent.yaml");
  o.clock = &clock;
  o.serve_http = false;
  o.run_loop = false;
  auto created = Monitor::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto m = std::move(created).value();
  ASSERT_TRUE(m->Start().ok());
  double value = 0;
  m->RegisterCollector("c", [&value] { return std::map<std::string, double>{{"v", value}}; });
  for (int i = 0; i < 3; ++i) {
    value = i;
    m->CollectOnce();
    clock.Advance(1000);
  }
  testing::WriteFile(dir.File("agent.yaml"), config(second));
  ASSERT_TRUE(m->Reload().ok());  // the old endpoint is flushed before it is dropped
  for (int i = 3; i < 5; ++i) {
    value = i;
    m->CollectOnce();
    clock.Advance(1000);
  }
  m->Stop();
  const std::vector<WriteSample> before{{kT0, 0}, {kT0 + 1000, 1}, {kT0 + 2000, 2}};
  const std::vector<WriteSample> after{{kT0 + 3000, 3}, {kT0 + 4000, 4}};
  auto got_first = Accepted(first.Requests());
  auto got_second = Accepted(second.Requests());
  EXPECT_EQ(got_first["v"], before);
  EXPECT_EQ(got_second["v"], after);
  // Only what drop_metrics lets through: the collector's series, none of echomon_*.
  EXPECT_EQ(got_first.size(), 1u);
  EXPECT_EQ(got_second.size(), 1u);
}

TEST(RemoteWriteExtension, AnEndpointAddedByReloadGetsSamplesFromThenOn) {
  FakeReceiver receiver;
  TempDir dir;
  const std::string base =
      "host: {enabled: false}\n"
      "storage: {persist: false}\n"
      "scrape: {engine_discovery: false}\n";
  testing::WriteFile(dir.File("agent.yaml"), base);
  constexpr int64_t kT0 = 1'700'000'000'000;
  ManualClock clock(kT0);
  MonitorOptions o;
  o.config_file = dir.File("agent.yaml");
  o.clock = &clock;
  o.serve_http = false;
  o.run_loop = false;
  auto created = Monitor::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto m = std::move(created).value();
  ASSERT_TRUE(m->Start().ok());
  double value = 0;
  m->RegisterCollector("c", [&value] { return std::map<std::string, double>{{"v", value}}; });
  for (int i = 0; i < 3; ++i) {
    value = i;
    m->CollectOnce();
    clock.Advance(1000);
  }
  testing::WriteFile(dir.File("agent.yaml"),
                     base + "remote_write: [{url: \"" + receiver.Url() + "\"}]\n");
  ASSERT_TRUE(m->Reload().ok());
  value = 3;
  m->CollectOnce();
  m->Stop();
  const std::vector<WriteSample> only_new{{kT0 + 3000, 3}};
  EXPECT_EQ(Accepted(receiver.Requests())["v"], only_new);
}

TEST(RemoteWriteExtension, AnUnreachableEndpointNeverDelaysCollection) {
  TempDir dir;
  const int port = testing::FreeLoopbackPort();  // nothing listens there
  testing::WriteFile(dir.File("agent.yaml"),
                     "host: {enabled: false}\n"
                     "storage: {persist: false}\n"
                     "scrape: {engine_discovery: false}\n"
                     "remote_write:\n"
                     "  - url: http://127.0.0.1:" +
                         std::to_string(port) +
                         "/api/v1/write\n"
                         "    name: down\n"
                         "    max_samples_per_send: 1\n"
                         "    queue_capacity: 50\n");
  ManualClock clock(1'700'000'000'000);
  MonitorOptions o;
  o.config_file = dir.File("agent.yaml");
  o.clock = &clock;
  o.serve_http = false;
  o.run_loop = false;
  auto created = Monitor::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto m = std::move(created).value();
  ASSERT_TRUE(m->Start().ok());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    m->CollectOnce();
    clock.Advance(1000);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The queue filled up and the overflow is counted, in the agent's own metrics.
  double dropped = -1, queued = -1;
  for (const MetricValue& v : m->CurrentMetrics()) {
    if (v.labels.count("endpoint") == 0 || v.labels.at("endpoint") != "down") continue;
    if (v.name == "echomon_remote_write_samples_dropped_total") dropped = v.value;
    if (v.name == "echomon_remote_write_queue_length") queued = v.value;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(queued, 50);
  const auto stop_start = std::chrono::steady_clock::now();
  m->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, std::chrono::seconds(8));
}

}  // namespace
}  // namespace echomon
