// The agent against the live machine: real /proc, real statvfs, real HTTP on loopback, and
// Debian's promtool checking the exposition.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/test_util.h"
#include "echomon/monitor.h"

namespace echomon {
namespace {

using nlohmann::json;

uint64_t MemTotalFromProc() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit) {
    if (key == "MemTotal:") return kb * 1024;
  }
  return 0;
}

class LiveAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MonitorOptions o;
    o.listen = "127.0.0.1:0";
    o.persist = false;
    o.run_loop = false;
    auto m = Monitor::Create(o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    monitor_ = std::move(m).value();
    ASSERT_TRUE(monitor_->Start().ok());
    monitor_->CollectOnce();
    // CPU utilisation is a delta between ticks: let a little real time pass on the live host.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    monitor_->CollectOnce();
    const std::string addr = monitor_->http_address();
    client_ = std::make_unique<httplib::Client>("http://" + addr);
  }

  double Instant(const std::string& metric, const std::string& labels = {}) {
    auto res = client_->Get(("/api/v1/query?metric=" + metric + "&labels=" + labels).c_str());
    EXPECT_TRUE(res);
    if (!res) return -1;
    json body = json::parse(res->body);
    EXPECT_EQ(body["data"]["series"].size(), 1u) << metric << " " << res->body;
    if (body["data"]["series"].empty()) return -1;
    return body["data"]["series"][0]["value"][1].get<double>();
  }

  std::unique_ptr<Monitor> monitor_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(LiveAgentTest, MetricsEndpointPassesPromtoolCheckMetrics) {
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("# TYPE echomon_cpu_usage_percent gauge"), std::string::npos);
  EXPECT_NE(res->body.find("echomon_memory_total_bytes "), std::string::npos);
  testing::TempDir dir;
  const std::string file = dir.File("metrics.txt");
  testing::WriteFile(file, res->body);
  std::string out, err;
  int rc = testing::RunCommand({"promtool", "check", "metrics"}, &out, &err, 30'000, file);
  EXPECT_EQ(rc, 0) << "promtool check metrics failed:\n" << out << err;
}

TEST_F(LiveAgentTest, ValuesMatchProcAndStatvfs) {
  EXPECT_EQ(Instant("echomon_memory_total_bytes"), static_cast<double>(MemTotalFromProc()));

  struct statvfs vfs {};
  ASSERT_EQ(statvfs("/", &vfs), 0);
  const double size = static_cast<double>(vfs.f_blocks) * vfs.f_frsize;
  const double avail = static_cast<double>(vfs.f_bavail) * vfs.f_frsize;
  EXPECT_DOUBLE_EQ(Instant("echomon_filesystem_size_bytes", "mount=/"), size);
  // Free space moves while tests run (the build writes files): 1 % of the size.
  EXPECT_NEAR(Instant("echomon_filesystem_avail_bytes", "mount=/"), avail, size * 0.01);

  EXPECT_EQ(Instant("echomon_cpus_online"), static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)));
  const double cpu = Instant("echomon_cpu_usage_percent", "cpu=total");
  EXPECT_GE(cpu, 0.0);
  EXPECT_LE(cpu, 100.0);
  const double mem_used = Instant("echomon_memory_used_percent");
  EXPECT_GT(mem_used, 0.0);
  EXPECT_LT(mem_used, 100.0);
  EXPECT_GT(Instant("echomon_self_resident_memory_bytes"), 1e6);
  EXPECT_GE(Instant("echomon_self_open_fds"), 3);
}

TEST_F(LiveAgentTest, StatusReportsHealthyCollectorsAndTheStore) {
  auto res = client_->Get("/api/v1/status");
  ASSERT_TRUE(res);
  json status = json::parse(res->body);
  EXPECT_TRUE(status["monitoring"].get<bool>());
  EXPECT_GE(status["uptime_seconds"].get<double>(), 0.0);
  ASSERT_GE(status["collectors"].size(), 8u);
  for (const auto& c : status["collectors"]) {
    EXPECT_TRUE(c["healthy"].get<bool>()) << c.dump();
    EXPECT_EQ(c["runs"], 2) << c.dump();
  }
  EXPECT_GT(status["store"]["series"].get<int>(), 50);
  EXPECT_GT(status["store"]["samples"].get<int>(), 100);
  EXPECT_GT(status["store"]["memory_bytes"].get<int>(), 0);
}

TEST(QuickStartExample, RunsAndSavesMetrics) {
  testing::TempDir dir;
  const std::string output = dir.File("metrics.json");
  std::string out, err;
  ASSERT_EQ(testing::RunCommand({testing::BuiltBinary("examples/quick_start"), output}, &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find("monitoring: yes"), std::string::npos) << out;
  json doc = json::parse(testing::ReadFile(output));
  bool component = false;
  for (const auto& c : doc["current"]) {
    if (c["name"] == "queue_depth" && c["labels"]["collector"] == "my_component") component = true;
  }
  EXPECT_TRUE(component) << doc["current"].dump();
  EXPECT_FALSE(doc["summary"]["metrics"].empty());
}

}  // namespace
}  // namespace echomon
