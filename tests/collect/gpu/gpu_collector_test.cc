// GpuCollector against fake libnvidia-ml builds (tests/collect/gpu/fake_nvml.cc): the dlopen path,
// symbol fallbacks, struct layouts, absent metrics and the no-NVML host, without a GPU.
#include "collect/gpu/gpu_collector.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collect/gpu/gpu_metric_defs.h"
#include "common/test_util.h"
#include "core/labels.h"
#include "core/log.h"

namespace echomon::collect::gpu {
namespace {

using testing::TempDir;

const std::string kGpu0 =
    R"(gpu="0",name="NVIDIA H100 80GB HBM3",uuid="GPU-00000000-1111-2222-3333-444444444444")";
const std::string kGpu1 =
    R"(gpu="1",name="NVIDIA A10",uuid="GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")";

// Series key of a GPU's series with one extra label (labels sort by name).
std::string WithLabel(const std::string& metric, int gpu, const std::string& key,
                      const std::string& value) {
  core::Labels labels{{"gpu", std::to_string(gpu)},
                      {"name", gpu == 0 ? "NVIDIA H100 80GB HBM3" : "NVIDIA A10"},
                      {"uuid", gpu == 0 ? "GPU-00000000-1111-2222-3333-444444444444"
                                        : "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}};
  labels.Set(key, value);
  return core::SeriesKey(metric, labels);
}

// The fake library's controls, reached through its own handle (the collector's dlopen of the
// same path shares it, so both see one state).
class FakeNvml {
 public:
  explicit FakeNvml(const char* path) {
    handle_ = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(handle_, nullptr) << dlerror();
    set_ = reinterpret_cast<void (*)(const char*, long long)>(dlsym(handle_, "fake_nvml_set"));
    get_ = reinterpret_cast<long long (*)(const char*)>(dlsym(handle_, "fake_nvml_get"));
    auto reset = reinterpret_cast<void (*)()>(dlsym(handle_, "fake_nvml_reset"));
    reset();
  }
  ~FakeNvml() { dlclose(handle_); }
  void Set(const char* key, long long value) { set_(key, value); }
  long long Get(const char* key) { return get_(key); }

 private:
  void* handle_ = nullptr;
  void (*set_)(const char*, long long) = nullptr;
  long long (*get_)(const char*) = nullptr;
};

// Captures what the default logger writes while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() const { return out_.str(); }
  size_t Count(const std::string& needle) const {
    std::string t = text();
    size_t n = 0;
    for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// "name{labels} value" per sample, sorted: the form of the golden files.
std::vector<std::string> Render(const core::SampleBatch& batch) {
  std::vector<std::string> lines;
  for (const auto& s : batch) {
    char value[64];
    std::snprintf(value, sizeof(value), "%.17g", s.value);
    lines.push_back(s.name + s.labels.ToString() + " " + value);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> GoldenLines(const std::string& file) {
  std::istringstream in(testing::ReadFile(std::string(ECHOMON_TEST_DATA_DIR) + "/gpu/" + file));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

std::map<std::string, double> ByKey(const core::SampleBatch& batch) {
  std::map<std::string, double> out;
  for (const auto& s : batch) out[core::SeriesKey(s.name, s.labels)] = s.value;
  return out;
}

bool HasMetric(const core::SampleBatch& batch, std::string_view name, const std::string& gpu) {
  for (const auto& s : batch) {
    const std::string* g = s.labels.Get("gpu");
    if (s.name == name && g != nullptr && *g == gpu) return true;
  }
  return false;
}

class GpuCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directory(proc_.File("4242"));
    testing::WriteFile(proc_.File("4242/comm"), "python3\n");  // 4243, 4244: no such process
    core::ResetOnce("gpu:unavailable");
  }
  GpuOptions Options(const char* library) {
    GpuOptions o;
    o.library = library;
    o.proc_root = proc_.path();
    return o;
  }
  TempDir proc_;
};

TEST_F(GpuCollectorTest, ModernLibraryGivesEverySeriesWithExactValues) {
  FakeNvml fake(FAKE_NVML_MODERN);
  GpuCollector collector(Options(FAKE_NVML_MODERN));
  core::SampleBatch batch;
  ASSERT_TRUE(collector.Collect(batch).ok());
  EXPECT_EQ(Render(batch), GoldenLines("fake_nvml_modern.txt"));

  // What the golden file pins down, spelled out: units converted, v2 memory used (excludes
  // reserved), the _v3 process list read with its 24-byte layout and summed by pid.
  auto v = ByKey(batch);
  EXPECT_EQ(v["echomon_gpus"], 2);
  EXPECT_EQ(v["echomon_gpu_temperature_celsius{" + kGpu0 + "}"], 61);
  EXPECT_DOUBLE_EQ(v["echomon_gpu_power_usage_watts{" + kGpu0 + "}"], 350.123);
  EXPECT_EQ(v["echomon_gpu_power_limit_watts{" + kGpu1 + "}"], 150);
  EXPECT_EQ(v["echomon_gpu_memory_used_bytes{" + kGpu0 + "}"], 79993765888.0);
  EXPECT_EQ(v["echomon_gpu_memory_reserved_bytes{" + kGpu0 + "}"], 536870912.0);
  EXPECT_EQ(v[R"(echomon_gpu_clock_hertz{clock="sm",)" + kGpu0 + "}"], 1980e6);
  EXPECT_EQ(v[R"(echomon_gpu_clock_max_hertz{clock="video",)" + kGpu0 + "}"], 1965e6);
  EXPECT_DOUBLE_EQ(v["echomon_gpu_energy_joules_total{" + kGpu0 + "}"], 123456.789);
  EXPECT_EQ(v[WithLabel("echomon_gpu_ecc_errors_total", 0, "type", "corrected")], 5);
  EXPECT_EQ(v["echomon_gpu_clock_event_reasons{" + kGpu0 + "}"], 4);
  EXPECT_EQ(v[WithLabel("echomon_gpu_clock_event_reason_active", 0, "reason", "sw_power_cap")], 1);
  EXPECT_EQ(v[WithLabel("echomon_gpu_clock_event_reason_active", 1, "reason", "gpu_idle")], 1);
  EXPECT_EQ(v[R"(echomon_gpu_pcie_throughput_bytes_per_second{direction="rx",)" + kGpu0 + "}"],
            2000.0 * 1024);
  EXPECT_EQ(v["echomon_gpu_fan_speed_percent{" + kGpu1 + "}"], 40);
  EXPECT_EQ(v["echomon_gpu_compute_processes{" + kGpu0 + "}"], 3);
  const std::string gpu0_no_uuid = R"(gpu="0",name="NVIDIA H100 80GB HBM3",)";
  EXPECT_EQ(v["echomon_gpu_process_memory_used_bytes{" + gpu0_no_uuid +
              R"(pid="4242",process="python3",uuid="GPU-00000000-1111-2222-3333-444444444444"})"],
            1073741824.0);
  EXPECT_EQ(v["echomon_gpu_process_memory_used_bytes{" + gpu0_no_uuid +
              R"(pid="4243",process="",uuid="GPU-00000000-1111-2222-3333-444444444444"})"],
            2147483648.0);
}

TEST_F(GpuCollectorTest, UnversionedSymbolsAndTheV1ProcessLayoutAreUsedWhenThatIsAllThereIs) {
  FakeNvml fake(FAKE_NVML_LEGACY);
  GpuCollector collector(Options(FAKE_NVML_LEGACY));
  core::SampleBatch batch;
  ASSERT_TRUE(collector.Collect(batch).ok());
  EXPECT_EQ(Render(batch), GoldenLines("fake_nvml_legacy.txt"));
  GpuInventory inv = collector.Inventory();
  EXPECT_EQ(inv.symbols["init"], "nvmlInit");
  EXPECT_EQ(inv.symbols["device_get_count"], "nvmlDeviceGetCount");
  EXPECT_EQ(inv.symbols["device_get_handle_by_index"], "nvmlDeviceGetHandleByIndex");
  EXPECT_EQ(inv.symbols["device_get_compute_running_processes"],
            "nvmlDeviceGetComputeRunningProcesses");
  EXPECT_EQ(inv.symbols["device_get_clock_event_reasons"],
            "nvmlDeviceGetCurrentClocksThrottleReasons");
  EXPECT_EQ(inv.symbols.count("device_get_memory_info_v2"), 0u);
  // v1 memory: used includes what v2 reports as reserved; no reserved series.
  auto v = ByKey(batch);
  EXPECT_EQ(v["echomon_gpu_memory_used_bytes{" + kGpu0 + "}"], 80530636800.0);
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_memory_reserved_bytes", "0"));
  EXPECT_EQ(v["echomon_gpu_performance_state{" + kGpu1 + "}"], 8);
}

TEST_F(GpuCollectorTest, NotSupportedNoPermissionAndMissingSymbolsLeaveTheMetricAbsent) {
  FakeNvml fake(FAKE_NVML_MODERN);
  LogCapture log;
  GpuCollector collector(Options(FAKE_NVML_MODERN));
  core::SampleBatch batch;
  ASSERT_TRUE(collector.Collect(batch).ok());
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_fan_speed_percent", "0"));  // Not Supported
  EXPECT_TRUE(HasMetric(batch, "echomon_gpu_fan_speed_percent", "1"));
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_ecc_errors_total", "1"));     // Not Supported
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_energy_joules_total", "1"));  // No Permission
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_performance_state", "0"));    // not exported
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_nvml_errors_total", "0"));    // none of these count
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_nvml_errors_total", "1"));
  EXPECT_EQ(log.Count("failed"), 0u) << log.text();

  GpuInventory inv = collector.Inventory();
  ASSERT_TRUE(inv.available);
  ASSERT_EQ(inv.devices.size(), 2u);
  EXPECT_EQ(inv.devices[0].absent,
            (std::map<std::string, std::string>{{"fan_speed", "Not Supported"},
                                                {"performance_state", "symbol missing"}}));
  EXPECT_EQ(inv.devices[1].absent,
            (std::map<std::string, std::string>{{"ecc.corrected", "Not Supported"},
                                                {"ecc.uncorrected", "Not Supported"},
                                                {"energy", "Insufficient Permissions"},
                                                {"performance_state", "symbol missing"}}));
  EXPECT_EQ(inv.driver_version, "580.00.01");
  EXPECT_EQ(inv.nvml_version, "13.580.00.01");
  EXPECT_EQ(inv.cuda_driver_version, 13000);
}

TEST_F(GpuCollectorTest, WithoutTheLibraryNothingIsEmittedAndItIsLoggedOnce) {
  TempDir dir;
  const std::string missing = dir.File("libnvidia-ml.so.1");
  LogCapture log;
  {
    GpuCollector collector(Options(missing.c_str()));
    EXPECT_FALSE(collector.Inventory().initialised);
    for (int i = 0; i < 3; ++i) {
      core::SampleBatch batch;
      EXPECT_TRUE(collector.Collect(batch).ok());
      EXPECT_TRUE(batch.empty());
    }
    GpuInventory inv = collector.Inventory();
    EXPECT_TRUE(inv.initialised);
    EXPECT_FALSE(inv.available);
    EXPECT_NE(inv.reason.find(missing), std::string::npos) << inv.reason;
    EXPECT_NE(inv.reason.find("No such file or directory"), std::string::npos) << inv.reason;
  }
  GpuCollector second(Options(missing.c_str()));  // e.g. after a reload: still once
  core::SampleBatch batch;
  EXPECT_TRUE(second.Collect(batch).ok());
  EXPECT_EQ(log.Count("no NVIDIA GPU / NVML not found: " + missing), 1u) << log.text();
}

TEST_F(GpuCollectorTest, ALibraryWithoutNvmlIsReportedAsSuch) {
  GpuCollector collector(Options("libm.so.6"));
  core::SampleBatch batch;
  EXPECT_TRUE(collector.Collect(batch).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(collector.Inventory().reason, "libm.so.6 lacks nvmlInit_v2/nvmlInit");
}

TEST_F(GpuCollectorTest, AnInitFailureIsTheReason) {
  FakeNvml fake(FAKE_NVML_MODERN);
  fake.Set("init_rc", 9);  // NVML_ERROR_DRIVER_NOT_LOADED
  GpuCollector collector(Options(FAKE_NVML_MODERN));
  core::SampleBatch batch;
  EXPECT_TRUE(collector.Collect(batch).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(collector.Inventory().reason, "nvmlInit failed: Driver Not Loaded");
}

TEST_F(GpuCollectorTest, InitAndHandlesOnceShutdownOnDestruction) {
  FakeNvml fake(FAKE_NVML_MODERN);
  {
    GpuCollector collector(Options(FAKE_NVML_MODERN));
    for (int i = 0; i < 3; ++i) {
      core::SampleBatch batch;
      ASSERT_TRUE(collector.Collect(batch).ok());
    }
    EXPECT_EQ(fake.Get("init_calls"), 1);
    EXPECT_EQ(fake.Get("handle_calls"), 2);  // one per GPU, not per tick
    EXPECT_EQ(fake.Get("shutdown_calls"), 0);
    EXPECT_EQ(fake.Get("initialised"), 1);
  }
  EXPECT_EQ(fake.Get("shutdown_calls"), 1);
  EXPECT_EQ(fake.Get("initialised"), 0);
}

TEST_F(GpuCollectorTest, ANameWithoutTerminatorIsCutAtTheBufferAndCleaned) {
  FakeNvml fake(FAKE_NVML_MODERN);
  fake.Set("garbage_name", 1);  // GPU 1 fills the whole 96-byte buffer, no NUL, bytes >= 0x80
  GpuCollector collector(Options(FAKE_NVML_MODERN));
  core::SampleBatch batch;
  ASSERT_TRUE(collector.Collect(batch).ok());
  std::string expected;
  for (int k = 0; k < 96; ++k) expected += k % 2 == 0 ? 'X' : '?';
  ASSERT_EQ(collector.Inventory().devices.at(1).name, expected);
  bool seen = false;
  for (const auto& s : batch) {
    if (s.name == "echomon_gpu_temperature_celsius" && *s.labels.Get("gpu") == "1") {
      EXPECT_EQ(*s.labels.Get("name"), expected);
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

TEST(CleanNvmlString, StopsAtNulOrBufferEndAndKeepsPrintableAscii) {
  const char with_nul[8] = {'A', ' ', 'B', '\0', 'Z', 'Z', 'Z', 'Z'};
  EXPECT_EQ(CleanNvmlString(with_nul, sizeof(with_nul)), "A B");
  const char no_nul[4] = {'a', 'b', 'c', 'd'};
  EXPECT_EQ(CleanNvmlString(no_nul, sizeof(no_nul)), "abcd");
  const char controls[6] = {' ', '\n', 'x', '\x7f', '\xff', ' '};
  EXPECT_EQ(CleanNvmlString(controls, sizeof(controls)), "?x??");
  EXPECT_EQ(CleanNvmlString("   ", 3), "");
  EXPECT_EQ(CleanNvmlString("", 0), "");
}

TEST_F(GpuCollectorTest, AProcessListLongerThanTheFirstBufferIsReadWhole) {
  FakeNvml fake(FAKE_NVML_MODERN);
  fake.Set("gpu0_processes", 40);
  GpuCollector collector(Options(FAKE_NVML_MODERN));
  core::SampleBatch batch;
  ASSERT_TRUE(collector.Collect(batch).ok());
  auto v = ByKey(batch);
  EXPECT_EQ(v["echomon_gpu_compute_processes{" + kGpu0 + "}"], 40);
  std::set<std::string> pids;
  for (const auto& s : batch) {
    if (s.name == "echomon_gpu_process_memory_used_bytes") {
      pids.insert(*s.labels.Get("pid"));
      EXPECT_EQ(s.value, (std::stoi(*s.labels.Get("pid")) - 5000 + 1) * 1000.0);
    }
  }
  EXPECT_EQ(pids.size(), 40u);
  EXPECT_EQ(pids.count("5039"), 1u);
}

TEST_F(GpuCollectorTest, ALostGpuIsCountedLoggedOnceAndRecovers) {
  FakeNvml fake(FAKE_NVML_MODERN);
  LogCapture log;
  GpuCollector collector(Options(FAKE_NVML_MODERN));
  core::SampleBatch first;
  ASSERT_TRUE(collector.Collect(first).ok());
  fake.Set("lost_gpu", 2);  // GPU 1 answers NVML_ERROR_GPU_IS_LOST from now on
  core::SampleBatch batch;
  for (int i = 0; i < 2; ++i) {
    batch.clear();
    ASSERT_TRUE(collector.Collect(batch).ok());
  }
  EXPECT_TRUE(HasMetric(batch, "echomon_gpu_temperature_celsius", "0"));
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_temperature_celsius", "1"));
  auto v = ByKey(batch);
  EXPECT_EQ(v[R"(echomon_gpu_nvml_errors_total{call="temperature",)" + kGpu1 + "}"], 2);
  EXPECT_EQ(log.Count("GPU 1: NVML temperature failed: GPU is lost"), 1u) << log.text();
  EXPECT_EQ(collector.Inventory().devices.at(1).absent.at("temperature"), "GPU is lost");

  fake.Set("lost_gpu", 0);
  batch.clear();
  ASSERT_TRUE(collector.Collect(batch).ok());
  EXPECT_TRUE(HasMetric(batch, "echomon_gpu_temperature_celsius", "1"));
  EXPECT_EQ(collector.Inventory().devices.at(1).absent.count("temperature"), 0u);
  // The error count stays (a counter); a later failure is logged again.
  EXPECT_EQ(ByKey(batch)[R"(echomon_gpu_nvml_errors_total{call="temperature",)" + kGpu1 + "}"], 2);
  fake.Set("lost_gpu", 2);
  batch.clear();
  ASSERT_TRUE(collector.Collect(batch).ok());
  EXPECT_EQ(log.Count("GPU 1: NVML temperature failed: GPU is lost"), 2u) << log.text();
}

TEST_F(GpuCollectorTest, PerProcessAndPcieCanBeTurnedOff) {
  FakeNvml fake(FAKE_NVML_MODERN);
  GpuOptions o = Options(FAKE_NVML_MODERN);
  o.per_process = false;
  o.pcie_throughput = false;
  GpuCollector collector(o);
  core::SampleBatch batch;
  ASSERT_TRUE(collector.Collect(batch).ok());
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_process_memory_used_bytes", "0"));
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_compute_processes", "0"));
  EXPECT_FALSE(HasMetric(batch, "echomon_gpu_pcie_throughput_bytes_per_second", "0"));
  EXPECT_EQ(fake.Get("process_calls"), 0);
  EXPECT_TRUE(HasMetric(batch, "echomon_gpu_utilization_percent", "0"));
}

TEST(GpuProbe, PrintsWhatTheCollectorReadsAndExitsTwoWithoutNvml) {
  const std::string probe = testing::BuiltBinary("src/collect/gpu/gpu_probe");
  std::string out, err;
  ASSERT_EQ(testing::RunCommand({probe, "--library", FAKE_NVML_LEGACY, "--runs", "2",
                                 "--interval-ms", "0", "--time-calls"},
                                &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("# run 2: "), std::string::npos) << out;
  EXPECT_NE(out.find("\nechomon_gpus 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# symbol init = nvmlInit\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# device 0 absent fan_speed: Not Supported"), std::string::npos) << out;
  EXPECT_NE(out.find("# call_us fan_speed: "), std::string::npos) << out;
  TempDir dir;
  EXPECT_EQ(testing::RunCommand({probe, "--library", dir.File("none.so")}, &out, &err), 2);
  EXPECT_NE(out.find("# available: false"), std::string::npos) << out;
}

TEST(GpuMetricDefs, WellFormedUniqueAndDocumented) {
  std::string doc =
      testing::ReadFile(std::string(ECHOMON_TEST_DATA_DIR) + "/../../docs/metrics.md");
  std::set<std::string_view> names;
  for (const MetricDef& def : kAllGpuMetrics) {
    EXPECT_TRUE(core::IsValidMetricName(def.name)) << def.name;
    EXPECT_TRUE(names.insert(def.name).second) << "duplicate " << def.name;
    EXPECT_TRUE(def.name.starts_with("echomon_gpu")) << def.name;
    EXPECT_EQ(def.name.ends_with("_total"), def.type == core::MetricType::kCounter) << def.name;
    EXPECT_NE(doc.find("`" + std::string(def.name) + "`"), std::string::npos)
        << def.name << " missing from docs/metrics.md";
  }
}

}  // namespace
}  // namespace echomon::collect::gpu
