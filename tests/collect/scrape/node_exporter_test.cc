// Scrapes Debian's real prometheus-node-exporter, started as a child process on loopback.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "collect/scrape/scrape_collector.h"
#include "common/test_util.h"

namespace echomon::collect {
namespace {

constexpr const char* kNodeExporter = "/usr/bin/prometheus-node-exporter";

TEST(ScrapeCollectorLive, ScrapesRealNodeExporter) {
  if (access(kNodeExporter, X_OK) != 0) GTEST_SKIP() << kNodeExporter << " not installed";
  const int port = echomon::testing::FreeLoopbackPort();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  echomon::testing::Subprocess exporter({kNodeExporter, "--web.listen-address=" + address,
                                         "--collector.disable-defaults", "--collector.cpu",
                                         "--collector.loadavg"});
  ScrapeCollector collector({.name = "node", .url = "http://" + address + "/metrics"});
  core::SampleBatch out;
  Status status;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    out.clear();
    status = collector.Collect(out);
    if (status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\nstderr: " << exporter.Stderr();

  size_t cpu_counters = 0;
  bool load = false;
  for (const auto& s : out) {
    if (s.name == "node_cpu_seconds_total") {
      EXPECT_EQ(s.type, core::MetricType::kCounter);
      EXPECT_NE(s.labels.Get("cpu"), nullptr);
      EXPECT_NE(s.labels.Get("mode"), nullptr);
      EXPECT_EQ(*s.labels.Get("target"), "node");
      EXPECT_GE(s.value, 0);
      ++cpu_counters;
    }
    if (s.name == "node_load1") {
      EXPECT_EQ(s.type, core::MetricType::kGauge);
      load = true;
    }
  }
  EXPECT_GT(cpu_counters, 0u);
  EXPECT_TRUE(load);
}

}  // namespace
}  // namespace echomon::collect
