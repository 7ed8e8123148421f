// NvmlLibrary: libnvidia-ml loaded with dlopen, its entry points resolved once, NVML initialised.
//
// Each entry point is looked up by its newest versioned name first and falls back to older
// names (nvmlInit_v2 -> nvmlInit, nvmlDeviceGetHandleByIndex_v2 -> ..., process lists _v3 ->
// _v2 -> plain with the matching struct layout). Required: init, shutdown, device count and
// handle lookup. Every other entry point is optional: when the library lacks it, the metric it
// feeds is simply absent.
//
// Ownership: Open() returns the sole owner; the destructor calls nvmlShutdown() and dlclose().
// Thread-safety: NVML itself is thread-safe; this object is immutable after Open().
#pragma once

#include <map>
#include <memory>
#include <string>

#include "collect/gpu/nvml_api.h"
#include "echomon/status.h"

namespace echomon::collect::gpu {

// The resolved entry points; nullptr where the library has none of the names tried.
struct NvmlFunctions {
  nvml::InitFn init = nullptr;
  nvml::ShutdownFn shutdown = nullptr;
  nvml::ErrorStringFn error_string = nullptr;
  nvml::SystemGetStringFn system_get_driver_version = nullptr;
  nvml::SystemGetStringFn system_get_nvml_version = nullptr;
  nvml::SystemGetCudaDriverVersionFn system_get_cuda_driver_version = nullptr;
  nvml::DeviceGetCountFn device_get_count = nullptr;
  nvml::DeviceGetHandleByIndexFn device_get_handle_by_index = nullptr;
  nvml::DeviceGetStringFn device_get_name = nullptr;
  nvml::DeviceGetStringFn device_get_uuid = nullptr;
  nvml::DeviceGetUtilizationRatesFn device_get_utilization_rates = nullptr;
  nvml::DeviceGetMemoryInfoV2Fn device_get_memory_info_v2 = nullptr;
  nvml::DeviceGetMemoryInfoFn device_get_memory_info = nullptr;
  nvml::DeviceGetTemperatureFn device_get_temperature = nullptr;
  nvml::DeviceGetUintFn device_get_power_usage = nullptr;              // milliwatts
  nvml::DeviceGetUintFn device_get_enforced_power_limit = nullptr;     // milliwatts
  nvml::DeviceGetClockInfoFn device_get_clock_info = nullptr;          // MHz
  nvml::DeviceGetClockInfoFn device_get_max_clock_info = nullptr;      // MHz
  nvml::DeviceGetUllFn device_get_total_energy_consumption = nullptr;  // millijoules
  nvml::DeviceGetTotalEccErrorsFn device_get_total_ecc_errors = nullptr;
  nvml::DeviceGetUllFn device_get_clock_event_reasons = nullptr;         // or ...ThrottleReasons
  nvml::DeviceGetPcieThroughputFn device_get_pcie_throughput = nullptr;  // KB/s
  nvml::DeviceGetUintFn device_get_fan_speed = nullptr;                  // percent
  nvml::DeviceGetPerformanceStateFn device_get_performance_state = nullptr;
  // Exactly one of these two is set when a process list is available: the _v3 or _v2 entry
  // point (24-byte entries) or the plain one (16-byte entries).
  nvml::DeviceGetProcessesV2Fn device_get_compute_processes_v2 = nullptr;
  nvml::DeviceGetProcessesV1Fn device_get_compute_processes_v1 = nullptr;
};

class NvmlLibrary {
 public:
  // Loads path (a file name is searched the way dlopen searches), resolves the entry points and
  // calls nvmlInit. Fails with Unavailable naming the cause: dlerror()'s text when the library
  // cannot be loaded, the missing symbol, or nvmlInit's error string (e.g. "Driver Not
  // Loaded"). Nothing stays loaded on failure.
  static Result<std::unique_ptr<NvmlLibrary>> Open(const std::string& path);
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  const NvmlFunctions& fn() const { return fn_; }
  // NVML's text for code (nvmlErrorString), or "NVML error <code>" without it.
  std::string ErrorString(nvml::Return code) const;
  // Which symbol name served each entry point, e.g. {"init": "nvmlInit_v2", ...}; entry points
  // that were not found are absent.
  const std::map<std::string, std::string>& symbols() const { return symbols_; }
  const std::string& path() const { return path_; }

 private:
  NvmlLibrary() = default;
  void* handle_ = nullptr;
  bool initialised_ = false;
  std::string path_;
  NvmlFunctions fn_;
  std::map<std::string, std::string> symbols_;
};

}  // namespace echomon::collect::gpu
