// The GPU extension inside a real Monitor: configuration, the collector in the runner, and the
// "gpus" part of /api/v1/status over HTTP on loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/test_util.h"
#include "core/config.h"
#include "echomon/monitor.h"

namespace echomon {
namespace {

using nlohmann::json;
using testing::TempDir;

class GpuMonitorTest : public ::testing::Test {
 protected:
  // Starts a monitor with the given gpu: section, runs one tick and returns /api/v1/status.
  json StatusWith(const std::string& gpu_section) {
    WriteConfig(gpu_section);
    const std::string file = dir_.File("agent.yaml");
    MonitorOptions o;
    o.config_file = file;
    o.listen = "127.0.0.1:0";
    o.persist = false;
    o.run_loop = false;
    auto m = Monitor::Create(o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return nullptr;
    monitor_ = std::move(m).value();
    EXPECT_TRUE(monitor_->Start().ok());
    return TickAndGetStatus();
  }

  void WriteConfig(const std::string& gpu_section) {
    testing::WriteFile(dir_.File("agent.yaml"),
                       "gpu:\n" + gpu_section + "host:\n  enabled: false\n");
  }

  // One tick, then /api/v1/status.
  json TickAndGetStatus() {
    monitor_->CollectOnce();
    httplib::Client client("http://" + monitor_->http_address());
    auto res = client.Get("/api/v1/status");
    EXPECT_TRUE(res);
    if (!res) return nullptr;
    json body = json::parse(res->body);
    return body.contains("data") ? body["data"] : body;
  }

  double Value(const std::string& name, const std::string& gpu) {
    for (const auto& m : monitor_->CurrentMetrics()) {
      auto it = m.labels.find("gpu");
      if (m.name == name && it != m.labels.end() && it->second == gpu) return m.value;
    }
    ADD_FAILURE() << "no " << name << " for gpu " << gpu;
    return -1;
  }

  int CollectorSamples(const json& status, const std::string& name) {
    for (const auto& c : status["collectors"]) {
      if (c["name"] == name) return c["samples"].get<int>();
    }
    return -1;
  }

  bool HasCollector(const json& status, const std::string& name) {
    for (const auto& c : status["collectors"]) {
      if (c["name"] == name) return true;
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<Monitor> monitor_;
};

TEST_F(GpuMonitorTest, StatusListsTheGpusAndTheirMetricsAreStored) {
  json status = StatusWith(std::string("  library: ") + FAKE_NVML_MODERN + "\n");
  ASSERT_TRUE(status.is_object());
  const json& gpus = status["gpus"];
  ASSERT_TRUE(gpus["available"].get<bool>()) << gpus.dump();
  EXPECT_EQ(gpus["count"], 2);
  EXPECT_EQ(gpus["driver_version"], "580.00.01");
  EXPECT_EQ(gpus["devices"][0]["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpus["devices"][1]["uuid"], "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
  EXPECT_EQ(gpus["devices"][1]["absent_metrics"]["energy"], "Insufficient Permissions");
  EXPECT_TRUE(HasCollector(status, "gpu")) << status["collectors"].dump();
  EXPECT_EQ(Value("echomon_gpu_temperature_celsius", "0"), 61);
  EXPECT_EQ(Value("echomon_gpu_utilization_percent", "1"), 3);
}

TEST_F(GpuMonitorTest, AHostWithoutNvmlSaysSoInStatus) {
  const std::string missing = dir_.File("no-such-libnvidia-ml.so.1");
  json status = StatusWith("  library: " + missing + "\n");
  ASSERT_TRUE(status.is_object());
  const json& gpus = status["gpus"];
  EXPECT_FALSE(gpus["available"].get<bool>());
  EXPECT_NE(gpus["reason"].get<std::string>().find(missing), std::string::npos) << gpus.dump();
  for (const auto& m : monitor_->CurrentMetrics()) {
    EXPECT_FALSE(m.name.starts_with("echomon_gpu")) << m.name;
  }
}

TEST_F(GpuMonitorTest, DisabledMeansNoCollector) {
  json status = StatusWith(std::string("  enabled: false\n  library: ") + FAKE_NVML_MODERN + "\n");
  ASSERT_TRUE(status.is_object());
  EXPECT_FALSE(status["gpus"]["available"].get<bool>());
  EXPECT_NE(status["gpus"]["reason"].get<std::string>().find("disabled"), std::string::npos);
  EXPECT_FALSE(HasCollector(status, "gpu"));
}

TEST_F(GpuMonitorTest, AReloadAppliesTheNewGpuSection) {
  json status = StatusWith(std::string("  library: ") + FAKE_NVML_MODERN + "\n");
  ASSERT_TRUE(status.is_object());
  ASSERT_TRUE(status["gpus"]["available"].get<bool>());

  WriteConfig("  enabled: false\n");
  ASSERT_TRUE(monitor_->Reload().ok());
  status = TickAndGetStatus();
  EXPECT_FALSE(status["gpus"]["available"].get<bool>());
  EXPECT_FALSE(HasCollector(status, "gpu"));

  WriteConfig(std::string("  library: ") + FAKE_NVML_LEGACY + "\n  per_process: false\n");
  ASSERT_TRUE(monitor_->Reload().ok());
  status = TickAndGetStatus();
  ASSERT_TRUE(status["gpus"]["available"].get<bool>()) << status["gpus"].dump();
  EXPECT_EQ(status["gpus"]["library"], FAKE_NVML_LEGACY);
  EXPECT_TRUE(HasCollector(status, "gpu"));
  EXPECT_EQ(Value("echomon_gpu_performance_state", "1"), 8);  // only the legacy fake has it
  // The legacy fake's 69 series less 2 process-memory and 2 process-count series.
  EXPECT_EQ(CollectorSamples(status, "gpu"), 65);
}

TEST(GpuConfig, KeysAreReadAndMistakesNamed) {
  auto ok = core::LoadConfigString(
      "gpu:\n  enabled: false\n  library: /opt/nvidia/libnvidia-ml.so.1\n  per_process: false\n"
      "  pcie_throughput: false\n",
      "agent.yaml");
  ASSERT_TRUE(ok.ok()) << ok.errors[0].ToString();
  EXPECT_FALSE(ok.config.gpu.enabled);
  EXPECT_EQ(ok.config.gpu.library, "/opt/nvidia/libnvidia-ml.so.1");
  EXPECT_FALSE(ok.config.gpu.per_process);
  EXPECT_FALSE(ok.config.gpu.pcie_throughput);
  EXPECT_TRUE(ok.warnings.empty());

  core::Config defaults = core::DefaultConfig();
  EXPECT_TRUE(defaults.gpu.enabled);
  EXPECT_EQ(defaults.gpu.library, "libnvidia-ml.so.1");
  EXPECT_TRUE(defaults.gpu.per_process);

  auto bad = core::LoadConfigString("gpu:\n  librray: x\n  per_process: maybe\n", "agent.yaml");
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0].key, "gpu.librray");
  EXPECT_EQ(bad.errors[0].line, 2);
  EXPECT_EQ(bad.errors[1].key, "gpu.per_process");
  EXPECT_EQ(bad.errors[1].line, 3);
}

}  // namespace
}  // namespace echomon
