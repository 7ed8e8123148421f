// The metrics the GPU collector emits, declared once (name, type, labels, NVML source, HELP).
// docs/metrics.md lists the same entries; gpu_test checks that every name here is documented.
// Every per-GPU series carries gpu (NVML index), uuid and name.
#pragma once

#include "collect/metric_defs.h"

namespace echomon::collect::gpu {

// X(identifier, name, type, labels, source, help)
#define ECHOMON_GPU_METRICS(X)                                                                     \
  X(kGpus, "echomon_gpus", kGauge, "", "nvmlDeviceGetCount",                                       \
    "NVIDIA GPUs NVML reports (absent without NVML).")                                             \
  X(kGpuInfo, "echomon_gpu_info", kGauge, "gpu,uuid,name,driver_version",                          \
    "nvmlDeviceGetName/UUID, nvmlSystemGetDriverVersion", "Always 1; identifies the GPU.")         \
  X(kGpuUtilization, "echomon_gpu_utilization_percent", kGauge, "gpu,uuid,name",                   \
    "nvmlDeviceGetUtilizationRates",                                                               \
    "Share of the last sample period (1/6 s to 1 s) in which a kernel ran on the GPU, 0-100.")     \
  X(kGpuMemoryUtilization, "echomon_gpu_memory_utilization_percent", kGauge, "gpu,uuid,name",      \
    "nvmlDeviceGetUtilizationRates",                                                               \
    "Share of the last sample period in which device memory was read or written, 0-100.")          \
  X(kGpuMemoryTotal, "echomon_gpu_memory_total_bytes", kGauge, "gpu,uuid,name",                    \
    "nvmlDeviceGetMemoryInfo_v2 (else nvmlDeviceGetMemoryInfo)", "Installed device memory.")       \
  X(kGpuMemoryUsed, "echomon_gpu_memory_used_bytes", kGauge, "gpu,uuid,name",                      \
    "nvmlDeviceGetMemoryInfo_v2 (else nvmlDeviceGetMemoryInfo)",                                   \
    "Device memory allocated (v1 API: includes driver-reserved memory).")                          \
  X(kGpuMemoryFree, "echomon_gpu_memory_free_bytes", kGauge, "gpu,uuid,name",                      \
    "nvmlDeviceGetMemoryInfo_v2 (else nvmlDeviceGetMemoryInfo)", "Device memory free.")            \
  X(kGpuMemoryReserved, "echomon_gpu_memory_reserved_bytes", kGauge, "gpu,uuid,name",              \
    "nvmlDeviceGetMemoryInfo_v2", "Device memory reserved by the driver and firmware.")            \
  X(kGpuTemperature, "echomon_gpu_temperature_celsius", kGauge, "gpu,uuid,name",                   \
    "nvmlDeviceGetTemperature(NVML_TEMPERATURE_GPU)", "GPU core temperature.")                     \
  X(kGpuPowerUsage, "echomon_gpu_power_usage_watts", kGauge, "gpu,uuid,name",                      \
    "nvmlDeviceGetPowerUsage", "Power drawn by the board (milliwatts / 1000).")                    \
  X(kGpuPowerLimit, "echomon_gpu_power_limit_watts", kGauge, "gpu,uuid,name",                      \
    "nvmlDeviceGetEnforcedPowerLimit", "Power limit the driver enforces.")                         \
  X(kGpuClock, "echomon_gpu_clock_hertz", kGauge, "gpu,uuid,name,clock", "nvmlDeviceGetClockInfo", \
    "Current clock; clock is graphics, sm, memory or video.")                                      \
  X(kGpuClockMax, "echomon_gpu_clock_max_hertz", kGauge, "gpu,uuid,name,clock",                    \
    "nvmlDeviceGetMaxClockInfo (read once at start)", "Maximum clock the GPU can run at.")         \
  X(kGpuEnergy, "echomon_gpu_energy_joules_total", kCounter, "gpu,uuid,name",                      \
    "nvmlDeviceGetTotalEnergyConsumption",                                                         \
    "Energy used since the driver was last loaded (millijoules / 1000).")                          \
  X(kGpuEccErrors, "echomon_gpu_ecc_errors_total", kCounter, "gpu,uuid,name,type",                 \
    "nvmlDeviceGetTotalEccErrors(NVML_VOLATILE_ECC)",                                              \
    "ECC errors since the driver was loaded; type is corrected or uncorrected.")                   \
  X(kGpuClockEventReasons, "echomon_gpu_clock_event_reasons", kGauge, "gpu,uuid,name",             \
    "nvmlDeviceGetCurrentClocksEventReasons (else ...ThrottleReasons)",                            \
    "Bitmask of the reasons the clocks are held below their maximum (NVML's bit values).")         \
  X(kGpuClockEventReason, "echomon_gpu_clock_event_reason_active", kGauge, "gpu,uuid,name,reason", \
    "nvmlDeviceGetCurrentClocksEventReasons (else ...ThrottleReasons)",                            \
    "1 while the reason holds the clocks down, else 0 (one series per known reason).")             \
  X(kGpuPcieThroughput, "echomon_gpu_pcie_throughput_bytes_per_second", kGauge,                    \
    "gpu,uuid,name,direction", "nvmlDeviceGetPcieThroughput",                                      \
    "PCIe traffic over the driver's last 20 ms sample (KB/s x 1024); direction is tx or rx.")      \
  X(kGpuFanSpeed, "echomon_gpu_fan_speed_percent", kGauge, "gpu,uuid,name",                        \
    "nvmlDeviceGetFanSpeed", "Intended fan speed, 0-100 (absent on passively cooled boards).")     \
  X(kGpuPerformanceState, "echomon_gpu_performance_state", kGauge, "gpu,uuid,name",                \
    "nvmlDeviceGetPerformanceState", "Performance state: 0 (P0, maximum) to 15 (P15, minimum).")   \
  X(kGpuProcesses, "echomon_gpu_compute_processes", kGauge, "gpu,uuid,name",                       \
    "nvmlDeviceGetComputeRunningProcesses_v3 (else _v2, plain)",                                   \
    "Processes with a compute context on the GPU.")                                                \
  X(kGpuProcessMemory, "echomon_gpu_process_memory_used_bytes", kGauge,                            \
    "gpu,uuid,name,pid,process", "nvmlDeviceGetComputeRunningProcesses_v3 (else _v2, plain)",      \
    "Device memory used by one process; process is /proc/<pid>/comm (empty when unreadable).")     \
  X(kGpuNvmlErrors, "echomon_gpu_nvml_errors_total", kCounter, "gpu,uuid,name,call",               \
    "every NVML call",                                                                             \
    "NVML calls that failed with an error other than Not Supported / No "                          \
    "Permission (those mean the metric is absent). Logged once per GPU and call.")

namespace metrics {
#define ECHOMON_DEFINE_GPU_METRIC(id, name, type, labels, source, help) \
  inline constexpr MetricDef id{name, core::MetricType::type, labels, source, help};
ECHOMON_GPU_METRICS(ECHOMON_DEFINE_GPU_METRIC)
#undef ECHOMON_DEFINE_GPU_METRIC
}  // namespace metrics

#define ECHOMON_GPU_METRIC_REF(id, name, type, labels, source, help) metrics::id,
inline constexpr MetricDef kAllGpuMetrics[] = {ECHOMON_GPU_METRICS(ECHOMON_GPU_METRIC_REF)};
#undef ECHOMON_GPU_METRIC_REF

}  // namespace echomon::collect::gpu
