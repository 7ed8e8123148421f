#include "collect/gpu/nvml_library.h"

#include <dlfcn.h>

#include <initializer_list>
#include <string_view>

namespace echomon::collect::gpu {
namespace {

// Resolves the first of names the library exports into *fn; records which one in symbols.
template <typename Fn>
bool Resolve(void* handle, std::string_view key, std::initializer_list<const char*> names, Fn* fn,
             std::map<std::string, std::string>* symbols) {
  for (const char* name : names) {
    if (void* p = dlsym(handle, name)) {
      *fn = reinterpret_cast<Fn>(p);
      (*symbols)[std::string(key)] = name;
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::Open(const std::string& path) {
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary());
  lib->path_ = path;
  dlerror();  // clear
  lib->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle_ == nullptr) {
    const char* err = dlerror();
    return Status::Unavailable(err != nullptr ? err : "dlopen(" + path + ") failed");
  }
  void* h = lib->handle_;
  NvmlFunctions& f = lib->fn_;
  auto* s = &lib->symbols_;
  struct Required {
    const char* what;
    bool found;
  };
  const Required required[] = {
      {"nvmlInit_v2/nvmlInit", Resolve(h, "init", {"nvmlInit_v2", "nvmlInit"}, &f.init, s)},
      {"nvmlShutdown", Resolve(h, "shutdown", {"nvmlShutdown"}, &f.shutdown, s)},
      {"nvmlDeviceGetCount_v2/nvmlDeviceGetCount",
       Resolve(h, "device_get_count", {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"},
               &f.device_get_count, s)},
      {"nvmlDeviceGetHandleByIndex_v2/nvmlDeviceGetHandleByIndex",
       Resolve(h, "device_get_handle_by_index",
               {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"},
               &f.device_get_handle_by_index, s)},
  };
  for (const Required& r : required) {
    if (!r.found) return Status::Unavailable(path + " lacks " + r.what);
  }
  Resolve(h, "error_string", {"nvmlErrorString"}, &f.error_string, s);
  Resolve(h, "system_get_driver_version", {"nvmlSystemGetDriverVersion"},
          &f.system_get_driver_version, s);
  Resolve(h, "system_get_nvml_version", {"nvmlSystemGetNVMLVersion"}, &f.system_get_nvml_version,
          s);
  Resolve(h, "system_get_cuda_driver_version",
          {"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"},
          &f.system_get_cuda_driver_version, s);
  Resolve(h, "device_get_name", {"nvmlDeviceGetName"}, &f.device_get_name, s);
  Resolve(h, "device_get_uuid", {"nvmlDeviceGetUUID"}, &f.device_get_uuid, s);
  Resolve(h, "device_get_utilization_rates", {"nvmlDeviceGetUtilizationRates"},
          &f.device_get_utilization_rates, s);
  Resolve(h, "device_get_memory_info_v2", {"nvmlDeviceGetMemoryInfo_v2"},
          &f.device_get_memory_info_v2, s);
  Resolve(h, "device_get_memory_info", {"nvmlDeviceGetMemoryInfo"}, &f.device_get_memory_info, s);
  Resolve(h, "device_get_temperature", {"nvmlDeviceGetTemperature"}, &f.device_get_temperature, s);
  Resolve(h, "device_get_power_usage", {"nvmlDeviceGetPowerUsage"}, &f.device_get_power_usage, s);
  Resolve(h, "device_get_enforced_power_limit", {"nvmlDeviceGetEnforcedPowerLimit"},
          &f.device_get_enforced_power_limit, s);
  Resolve(h, "device_get_clock_info", {"nvmlDeviceGetClockInfo"}, &f.device_get_clock_info, s);
  Resolve(h, "device_get_max_clock_info", {"nvmlDeviceGetMaxClockInfo"},
          &f.device_get_max_clock_info, s);
  Resolve(h, "device_get_total_energy_consumption", {"nvmlDeviceGetTotalEnergyConsumption"},
          &f.device_get_total_energy_consumption, s);
  Resolve(h, "device_get_total_ecc_errors", {"nvmlDeviceGetTotalEccErrors"},
          &f.device_get_total_ecc_errors, s);
  Resolve(h, "device_get_clock_event_reasons",
          {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"},
          &f.device_get_clock_event_reasons, s);
  Resolve(h, "device_get_pcie_throughput", {"nvmlDeviceGetPcieThroughput"},
          &f.device_get_pcie_throughput, s);
  Resolve(h, "device_get_fan_speed", {"nvmlDeviceGetFanSpeed"}, &f.device_get_fan_speed, s);
  Resolve(h, "device_get_performance_state", {"nvmlDeviceGetPerformanceState"},
          &f.device_get_performance_state, s);
  if (!Resolve(
          h, "device_get_compute_running_processes",
          {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"},
          &f.device_get_compute_processes_v2, s)) {
    Resolve(h, "device_get_compute_running_processes", {"nvmlDeviceGetComputeRunningProcesses"},
            &f.device_get_compute_processes_v1, s);
  }

  nvml::Return rc = f.init();
  if (rc != nvml::kSuccess) {
    return Status::Unavailable("nvmlInit failed: " + lib->ErrorString(rc));
  }
  lib->initialised_ = true;
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (initialised_ && fn_.shutdown != nullptr) fn_.shutdown();
  if (handle_ != nullptr) dlclose(handle_);
}

std::string NvmlLibrary::ErrorString(nvml::Return code) const {
  if (fn_.error_string != nullptr) {
    if (const char* text = fn_.error_string(code)) return text;
  }
  return "NVML error " + std::to_string(code);
}

}  // namespace echomon::collect::gpu
