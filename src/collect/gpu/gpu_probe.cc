// gpu_probe: runs the GPU collector against the real NVML a few times and prints what it read:
// the inventory (driver, NVML version, devices, which entry points were found, which metrics
// are absent and why), then every sample of every run, sorted, with the run's duration.
//
//   gpu_probe [--library PATH] [--runs N] [--interval-ms MS] [--no-per-process] [--time-calls]
//
// --time-calls also times each NVML entry point on GPU 0 (mean of 5 calls, microseconds).
//
// Exit status: 0 when NVML was available, 2 when it was not, 1 on bad arguments.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "collect/gpu/gpu_collector.h"
#include "collect/gpu/nvml_library.h"

namespace {

using echomon::collect::gpu::GpuCollector;
using echomon::collect::gpu::GpuInventory;
using echomon::collect::gpu::GpuOptions;

void PrintInventory(const GpuInventory& inv) {
  std::printf("# library: %s\n", inv.library.c_str());
  std::printf("# available: %s\n", inv.available ? "true" : "false");
  if (!inv.available) std::printf("# reason: %s\n", inv.reason.c_str());
  std::printf("# driver_version: %s\n", inv.driver_version.c_str());
  std::printf("# nvml_version: %s\n", inv.nvml_version.c_str());
  std::printf("# cuda_driver_version: %d\n", inv.cuda_driver_version);
  for (const auto& [entry, symbol] : inv.symbols) {
    std::printf("# symbol %s = %s\n", entry.c_str(), symbol.c_str());
  }
  for (const auto& d : inv.devices) {
    std::printf("# device %u uuid=%s name=%s\n", d.index, d.uuid.c_str(), d.name.c_str());
    for (const auto& [metric, reason] : d.absent) {
      std::printf("# device %u absent %s: %s\n", d.index, metric.c_str(), reason.c_str());
    }
  }
}

// Times each entry point the collector uses on GPU 0: NVML's own cost per call.
void TimeCalls(const std::string& library) {
  namespace nvml = echomon::collect::gpu::nvml;
  auto opened = echomon::collect::gpu::NvmlLibrary::Open(library);
  if (!opened.ok()) return;
  const auto& f = (*opened)->fn();
  nvml::Device dev = nullptr;
  if (f.device_get_handle_by_index(0, &dev) != nvml::kSuccess) return;
  auto time = [](const char* what, auto call) {
    constexpr int kCalls = 5;
    int rc = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) rc = call();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count() /
                kCalls;
    std::printf("# call_us %s: %.1f (rc %d)\n", what, us, rc);
  };
  unsigned u = 0;
  unsigned long long ull = 0;
  int pstate = 0;
  nvml::Utilization util{};
  nvml::MemoryV2 mem{};
  mem.version = nvml::kMemoryV2Version;
  std::vector<nvml::ProcessInfoV2> procs(64);
  if (f.device_get_utilization_rates) {
    time("utilization", [&] { return f.device_get_utilization_rates(dev, &util); });
  }
  if (f.device_get_memory_info_v2) {
    time("memory_v2", [&] { return f.device_get_memory_info_v2(dev, &mem); });
  }
  if (f.device_get_temperature) {
    time("temperature", [&] { return f.device_get_temperature(dev, nvml::kTemperatureGpu, &u); });
  }
  if (f.device_get_power_usage)
    time("power_usage", [&] { return f.device_get_power_usage(dev, &u); });
  if (f.device_get_enforced_power_limit) {
    time("power_limit", [&] { return f.device_get_enforced_power_limit(dev, &u); });
  }
  if (f.device_get_clock_info) {
    time("clock.sm", [&] { return f.device_get_clock_info(dev, nvml::kClockSm, &u); });
  }
  if (f.device_get_max_clock_info) {
    time("clock_max.sm", [&] { return f.device_get_max_clock_info(dev, nvml::kClockSm, &u); });
  }
  if (f.device_get_total_energy_consumption) {
    time("energy", [&] { return f.device_get_total_energy_consumption(dev, &ull); });
  }
  if (f.device_get_total_ecc_errors) {
    time("ecc.corrected", [&] {
      return f.device_get_total_ecc_errors(dev, nvml::kMemoryErrorCorrected, nvml::kVolatileEcc,
                                           &ull);
    });
  }
  if (f.device_get_clock_event_reasons) {
    time("clock_event_reasons", [&] { return f.device_get_clock_event_reasons(dev, &ull); });
  }
  if (f.device_get_pcie_throughput) {
    time("pcie.tx", [&] { return f.device_get_pcie_throughput(dev, nvml::kPcieUtilTxBytes, &u); });
  }
  if (f.device_get_fan_speed) time("fan_speed", [&] { return f.device_get_fan_speed(dev, &u); });
  if (f.device_get_performance_state) {
    time("performance_state", [&] { return f.device_get_performance_state(dev, &pstate); });
  }
  if (f.device_get_compute_processes_v2) {
    time("processes", [&] {
      unsigned n = static_cast<unsigned>(procs.size());
      return f.device_get_compute_processes_v2(dev, &n, procs.data());
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  GpuOptions options;
  int runs = 3;
  int interval_ms = 1000;
  bool time_calls = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--library" && i + 1 < argc) {
      options.library = argv[++i];
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--interval-ms" && i + 1 < argc) {
      interval_ms = std::max(0, std::atoi(argv[++i]));
    } else if (arg == "--time-calls") {
      time_calls = true;
    } else if (arg == "--no-per-process") {
      options.per_process = false;
    } else {
      std::fprintf(stderr,
                   "usage: gpu_probe [--library PATH] [--runs N] [--interval-ms MS] "
                   "[--no-per-process] [--time-calls]\n");
      return 1;
    }
  }
  GpuCollector collector(options);
  auto t0 = std::chrono::steady_clock::now();
  collector.Init();
  double init_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("# init_ms: %.3f\n", init_ms);
  for (int run = 0; run < runs; ++run) {
    if (run > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    echomon::core::SampleBatch batch;
    auto start = std::chrono::steady_clock::now();
    echomon::Status status = collector.Collect(batch);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::vector<std::string> lines;
    for (const auto& s : batch) {
      char value[64];
      std::snprintf(value, sizeof(value), "%.17g", s.value);
      lines.push_back(s.name + s.labels.ToString() + " " + value);
    }
    std::sort(lines.begin(), lines.end());
    std::printf("# run %d: %zu samples in %.3f ms, status %s\n", run + 1, batch.size(), ms,
                status.ToString().c_str());
    for (const auto& line : lines) std::printf("%s\n", line.c_str());
  }
  GpuInventory inv = collector.Inventory();
  PrintInventory(inv);
  if (time_calls && inv.available) TimeCalls(options.library);
  return inv.available ? 0 : 2;
}
