// GpuCollector: one pass over every GPU per tick, each metric from one NVML call.
#include "collect/gpu/gpu_collector.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collect/gpu/gpu_metric_defs.h"
#include "collect/gpu/nvml_api.h"
#include "collect/gpu/nvml_library.h"
#include "core/log.h"

namespace echomon::collect::gpu {
namespace {

constexpr std::array<std::pair<const char*, int>, 4> kClocks = {{
    {"graphics", nvml::kClockGraphics},
    {"sm", nvml::kClockSm},
    {"memory", nvml::kClockMem},
    {"video", nvml::kClockVideo},
}};

constexpr std::array<std::pair<const char*, unsigned long long>, 9> kReasons = {{
    {"gpu_idle", nvml::kReasonGpuIdle},
    {"applications_clocks_setting", nvml::kReasonApplicationsClocksSetting},
    {"sw_power_cap", nvml::kReasonSwPowerCap},
    {"hw_slowdown", nvml::kReasonHwSlowdown},
    {"sync_boost", nvml::kReasonSyncBoost},
    {"sw_thermal_slowdown", nvml::kReasonSwThermalSlowdown},
    {"hw_thermal_slowdown", nvml::kReasonHwThermalSlowdown},
    {"hw_power_brake_slowdown", nvml::kReasonHwPowerBrakeSlowdown},
    {"display_clock_setting", nvml::kReasonDisplayClockSetting},
}};

constexpr std::array<std::pair<const char*, int>, 2> kEccTypes = {{
    {"corrected", nvml::kMemoryErrorCorrected},
    {"uncorrected", nvml::kMemoryErrorUncorrected},
}};

constexpr std::array<std::pair<const char*, int>, 2> kPcieDirections = {{
    {"tx", nvml::kPcieUtilTxBytes},
    {"rx", nvml::kPcieUtilRxBytes},
}};

constexpr int kPstateUnknown = 32;  // NVML_PSTATE_UNKNOWN
constexpr size_t kMaxProcesses = 4096;

core::Labels With(const core::Labels& base, const char* key, std::string value) {
  core::Labels labels = base;
  labels.Set(key, std::move(value));
  return labels;
}

double D(unsigned long long v) { return static_cast<double>(v); }

// Reads /proc/<pid>/comm (bounded, retrying EINTR); "" when the process is gone or hidden.
std::string ProcessName(const std::string& proc_root, unsigned pid) {
  std::string path = proc_root + "/" + std::to_string(pid) + "/comm";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return "";
  size_t len = static_cast<size_t>(n);
  if (len > 0 && buf[len - 1] == '\n') --len;
  return CleanNvmlString(buf, len);
}

struct DeviceState {
  unsigned index = 0;
  nvml::Device handle = nullptr;
  std::string uuid;
  std::string name;
  core::Labels base;  // gpu, uuid, name
  core::Labels info;  // base + driver_version
  std::array<core::Labels, kClocks.size()> clock_labels;
  std::array<core::Labels, kReasons.size()> reason_labels;
  std::array<core::Labels, kEccTypes.size()> ecc_labels;
  std::array<core::Labels, kPcieDirections.size()> pcie_labels;
  // Maximum clocks never change: read once at Init (1.5 ms per call on an H200). -1: absent.
  std::array<double, kClocks.size()> max_clock_mhz{-1, -1, -1, -1};
  std::map<std::string, uint64_t> errors;            // call -> failures
  std::map<std::string, core::Labels> error_labels;  // call -> base + call
  std::map<std::string, std::string> absent;         // metric -> reason
};

struct SharedInventory {
  std::mutex mu;
  GpuInventory inventory;
};

}  // namespace

std::string CleanNvmlString(const char* buffer, size_t size) {
  size_t len = 0;
  while (len < size && buffer[len] != '\0') ++len;
  std::string out;
  out.reserve(len);
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(buffer[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  size_t last = out.find_last_not_of(' ');
  return out.substr(first, last - first + 1);
}

struct GpuCollector::Impl {
  GpuOptions options;
  bool init_done = false;
  std::unique_ptr<NvmlLibrary> lib;
  std::vector<DeviceState> devices;
  std::shared_ptr<SharedInventory> shared = std::make_shared<SharedInventory>();
  std::vector<nvml::ProcessInfoV2> procs_v2;
  std::vector<nvml::ProcessInfoV1> procs_v1;
  bool absent_changed = false;

  // Records the outcome of one NVML call for metric on d. True when the value may be used.
  bool Check(DeviceState& d, const std::string& metric, nvml::Return rc) {
    if (rc == nvml::kSuccess) {
      auto it = d.absent.find(metric);
      if (it != d.absent.end()) {
        d.absent.erase(it);
        absent_changed = true;
        core::ResetOnce(OnceKey(d, metric));
      }
      return true;
    }
    std::string reason = lib->ErrorString(rc);
    if (rc != nvml::kErrorNotSupported && rc != nvml::kErrorNoPermission) {
      ++d.errors[metric];
      if (!d.error_labels.count(metric)) d.error_labels[metric] = With(d.base, "call", metric);
      core::WarnOnce(OnceKey(d, metric),
                     "GPU " + std::to_string(d.index) + ": NVML " + metric + " failed: " + reason);
    }
    MarkAbsent(d, metric, reason);
    return false;
  }

  void MarkAbsent(DeviceState& d, const std::string& metric, const std::string& reason) {
    auto [it, inserted] = d.absent.try_emplace(metric, reason);
    if (inserted || it->second != reason) {
      it->second = reason;
      absent_changed = true;
    }
  }

  static std::string OnceKey(const DeviceState& d, const std::string& metric) {
    return "gpu:" + std::to_string(d.index) + ":" + metric;
  }

  void Init() {
    if (init_done) return;
    init_done = true;
    GpuInventory inv;
    inv.initialised = true;
    inv.library = options.library;
    Result<std::unique_ptr<NvmlLibrary>> opened = NvmlLibrary::Open(options.library);
    if (!opened.ok()) {
      inv.reason = opened.status().message();
      core::WarnOnce("gpu:unavailable", "no NVIDIA GPU / NVML not found: " + inv.reason);
      Publish(std::move(inv));
      return;
    }
    lib = std::move(opened).value();
    const NvmlFunctions& f = lib->fn();
    inv.symbols = lib->symbols();
    char buf[nvml::kSystemVersionBufferSize];
    if (f.system_get_driver_version != nullptr &&
        f.system_get_driver_version(buf, sizeof(buf)) == nvml::kSuccess) {
      inv.driver_version = CleanNvmlString(buf, sizeof(buf));
    }
    if (f.system_get_nvml_version != nullptr &&
        f.system_get_nvml_version(buf, sizeof(buf)) == nvml::kSuccess) {
      inv.nvml_version = CleanNvmlString(buf, sizeof(buf));
    }
    if (f.system_get_cuda_driver_version != nullptr) {
      int v = 0;
      if (f.system_get_cuda_driver_version(&v) == nvml::kSuccess) inv.cuda_driver_version = v;
    }
    unsigned count = 0;
    nvml::Return rc = f.device_get_count(&count);
    if (rc != nvml::kSuccess) {
      inv.reason = "nvmlDeviceGetCount failed: " + lib->ErrorString(rc);
      core::WarnOnce("gpu:unavailable", "no NVIDIA GPU / NVML not found: " + inv.reason);
      lib.reset();
      inv.symbols.clear();
      Publish(std::move(inv));
      return;
    }
    for (unsigned i = 0; i < count; ++i) {
      DeviceState d;
      d.index = i;
      rc = f.device_get_handle_by_index(i, &d.handle);
      if (rc != nvml::kSuccess) {
        // A GPU NVML cannot open (lost, no permission) is skipped, not fatal for the others.
        core::WarnOnce("gpu:" + std::to_string(i) + ":handle",
                       "GPU " + std::to_string(i) + ": nvmlDeviceGetHandleByIndex failed: " +
                           lib->ErrorString(rc) + "; skipped");
        continue;
      }
      char text[nvml::kDeviceNameBufferSize];
      static_assert(nvml::kDeviceNameBufferSize >= nvml::kDeviceUuidBufferSize);
      if (f.device_get_name != nullptr &&
          f.device_get_name(d.handle, text, nvml::kDeviceNameBufferSize) == nvml::kSuccess) {
        d.name = CleanNvmlString(text, nvml::kDeviceNameBufferSize);
      }
      if (f.device_get_uuid != nullptr &&
          f.device_get_uuid(d.handle, text, nvml::kDeviceUuidBufferSize) == nvml::kSuccess) {
        d.uuid = CleanNvmlString(text, nvml::kDeviceUuidBufferSize);
      }
      d.base = core::Labels{{"gpu", std::to_string(i)}, {"uuid", d.uuid}, {"name", d.name}};
      d.info = With(d.base, "driver_version", inv.driver_version);
      for (size_t k = 0; k < kClocks.size(); ++k) {
        d.clock_labels[k] = With(d.base, "clock", kClocks[k].first);
      }
      for (size_t k = 0; k < kReasons.size(); ++k) {
        d.reason_labels[k] = With(d.base, "reason", kReasons[k].first);
      }
      for (size_t k = 0; k < kEccTypes.size(); ++k) {
        d.ecc_labels[k] = With(d.base, "type", kEccTypes[k].first);
      }
      for (size_t k = 0; k < kPcieDirections.size(); ++k) {
        d.pcie_labels[k] = With(d.base, "direction", kPcieDirections[k].first);
      }
      MarkMissingSymbols(d);
      if (f.device_get_max_clock_info != nullptr) {
        for (size_t k = 0; k < kClocks.size(); ++k) {
          unsigned mhz = 0;
          if (Check(d, std::string("clock_max.") + kClocks[k].first,
                    f.device_get_max_clock_info(d.handle, kClocks[k].second, &mhz))) {
            d.max_clock_mhz[k] = mhz;
          }
        }
      }
      inv.devices.push_back(GpuDeviceInfo{d.index, d.uuid, d.name, d.absent});
      devices.push_back(std::move(d));
    }
    inv.available = true;
    spdlog::info("GPU collector: NVML {} (driver {}), {} GPU(s) from {}", inv.nvml_version,
                 inv.driver_version, devices.size(), options.library);
    absent_changed = false;
    Publish(std::move(inv));
  }

  // Metrics whose entry point the library lacks are absent from the start.
  void MarkMissingSymbols(DeviceState& d) {
    const NvmlFunctions& f = lib->fn();
    const std::string missing = "symbol missing";
    if (f.device_get_utilization_rates == nullptr) MarkAbsent(d, "utilization", missing);
    if (f.device_get_memory_info_v2 == nullptr && f.device_get_memory_info == nullptr) {
      MarkAbsent(d, "memory", missing);
    }
    if (f.device_get_memory_info_v2 == nullptr) MarkAbsent(d, "memory_reserved", missing);
    if (f.device_get_temperature == nullptr) MarkAbsent(d, "temperature", missing);
    if (f.device_get_power_usage == nullptr) MarkAbsent(d, "power_usage", missing);
    if (f.device_get_enforced_power_limit == nullptr) MarkAbsent(d, "power_limit", missing);
    if (f.device_get_clock_info == nullptr) MarkAbsent(d, "clock", missing);
    if (f.device_get_max_clock_info == nullptr) MarkAbsent(d, "clock_max", missing);
    if (f.device_get_total_energy_consumption == nullptr) MarkAbsent(d, "energy", missing);
    if (f.device_get_total_ecc_errors == nullptr) MarkAbsent(d, "ecc", missing);
    if (f.device_get_clock_event_reasons == nullptr) {
      MarkAbsent(d, "clock_event_reasons", missing);
    }
    if (options.pcie_throughput && f.device_get_pcie_throughput == nullptr) {
      MarkAbsent(d, "pcie", missing);
    }
    if (f.device_get_fan_speed == nullptr) MarkAbsent(d, "fan_speed", missing);
    if (f.device_get_performance_state == nullptr) MarkAbsent(d, "performance_state", missing);
    if (options.per_process && f.device_get_compute_processes_v2 == nullptr &&
        f.device_get_compute_processes_v1 == nullptr) {
      MarkAbsent(d, "processes", missing);
    }
  }

  void Publish(GpuInventory inv) {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->inventory = std::move(inv);
  }

  void PublishAbsent() {
    std::lock_guard<std::mutex> lock(shared->mu);
    std::vector<GpuDeviceInfo>& out = shared->inventory.devices;
    for (size_t i = 0; i < devices.size() && i < out.size(); ++i) out[i].absent = devices[i].absent;
  }

  void CollectDevice(DeviceState& d, core::SampleBatch& out) {
    const NvmlFunctions& f = lib->fn();
    Emit(out, metrics::kGpuInfo, d.info, 1);
    if (f.device_get_utilization_rates != nullptr) {
      nvml::Utilization u{};
      if (Check(d, "utilization", f.device_get_utilization_rates(d.handle, &u))) {
        Emit(out, metrics::kGpuUtilization, d.base, u.gpu);
        Emit(out, metrics::kGpuMemoryUtilization, d.base, u.memory);
      }
    }
    CollectMemory(d, out);
    if (f.device_get_temperature != nullptr) {
      unsigned t = 0;
      if (Check(d, "temperature", f.device_get_temperature(d.handle, nvml::kTemperatureGpu, &t))) {
        Emit(out, metrics::kGpuTemperature, d.base, t);
      }
    }
    if (f.device_get_power_usage != nullptr) {
      unsigned mw = 0;
      if (Check(d, "power_usage", f.device_get_power_usage(d.handle, &mw))) {
        Emit(out, metrics::kGpuPowerUsage, d.base, mw / 1000.0);
      }
    }
    if (f.device_get_enforced_power_limit != nullptr) {
      unsigned mw = 0;
      if (Check(d, "power_limit", f.device_get_enforced_power_limit(d.handle, &mw))) {
        Emit(out, metrics::kGpuPowerLimit, d.base, mw / 1000.0);
      }
    }
    for (size_t k = 0; k < kClocks.size(); ++k) {
      const std::string suffix = std::string(".") + kClocks[k].first;
      unsigned mhz = 0;
      if (f.device_get_clock_info != nullptr &&
          Check(d, "clock" + suffix, f.device_get_clock_info(d.handle, kClocks[k].second, &mhz))) {
        Emit(out, metrics::kGpuClock, d.clock_labels[k], mhz * 1e6);
      }
      if (d.max_clock_mhz[k] >= 0) {
        Emit(out, metrics::kGpuClockMax, d.clock_labels[k], d.max_clock_mhz[k] * 1e6);
      }
    }
    if (f.device_get_total_energy_consumption != nullptr) {
      unsigned long long mj = 0;
      if (Check(d, "energy", f.device_get_total_energy_consumption(d.handle, &mj))) {
        Emit(out, metrics::kGpuEnergy, d.base, D(mj) / 1000.0);
      }
    }
    if (f.device_get_total_ecc_errors != nullptr) {
      for (size_t k = 0; k < kEccTypes.size(); ++k) {
        unsigned long long n = 0;
        if (Check(d, std::string("ecc.") + kEccTypes[k].first,
                  f.device_get_total_ecc_errors(d.handle, kEccTypes[k].second, nvml::kVolatileEcc,
                                                &n))) {
          Emit(out, metrics::kGpuEccErrors, d.ecc_labels[k], D(n));
        }
      }
    }
    if (f.device_get_clock_event_reasons != nullptr) {
      unsigned long long mask = 0;
      if (Check(d, "clock_event_reasons", f.device_get_clock_event_reasons(d.handle, &mask))) {
        Emit(out, metrics::kGpuClockEventReasons, d.base, D(mask));
        for (size_t k = 0; k < kReasons.size(); ++k) {
          Emit(out, metrics::kGpuClockEventReason, d.reason_labels[k],
               (mask & kReasons[k].second) != 0 ? 1 : 0);
        }
      }
    }
    if (options.pcie_throughput && f.device_get_pcie_throughput != nullptr) {
      for (size_t k = 0; k < kPcieDirections.size(); ++k) {
        unsigned kb = 0;
        if (Check(d, std::string("pcie.") + kPcieDirections[k].first,
                  f.device_get_pcie_throughput(d.handle, kPcieDirections[k].second, &kb))) {
          Emit(out, metrics::kGpuPcieThroughput, d.pcie_labels[k], kb * 1024.0);
        }
      }
    }
    if (f.device_get_fan_speed != nullptr) {
      unsigned pct = 0;
      if (Check(d, "fan_speed", f.device_get_fan_speed(d.handle, &pct))) {
        Emit(out, metrics::kGpuFanSpeed, d.base, pct);
      }
    }
    if (f.device_get_performance_state != nullptr) {
      int p = kPstateUnknown;
      if (Check(d, "performance_state", f.device_get_performance_state(d.handle, &p))) {
        if (p >= 0 && p < kPstateUnknown) {
          Emit(out, metrics::kGpuPerformanceState, d.base, p);
        } else {
          MarkAbsent(d, "performance_state", "Unknown");
        }
      }
    }
    if (options.per_process) CollectProcesses(d, out);
    for (const auto& [call, n] : d.errors) {
      Emit(out, metrics::kGpuNvmlErrors, d.error_labels[call], D(n));
    }
  }

  void CollectMemory(DeviceState& d, core::SampleBatch& out) {
    const NvmlFunctions& f = lib->fn();
    if (f.device_get_memory_info_v2 != nullptr) {
      nvml::MemoryV2 m{};
      m.version = nvml::kMemoryV2Version;
      nvml::Return rc = f.device_get_memory_info_v2(d.handle, &m);
      if (rc == nvml::kSuccess || f.device_get_memory_info == nullptr) {
        if (Check(d, "memory", rc)) {
          Check(d, "memory_reserved", rc);
          Emit(out, metrics::kGpuMemoryTotal, d.base, D(m.total));
          Emit(out, metrics::kGpuMemoryUsed, d.base, D(m.used));
          Emit(out, metrics::kGpuMemoryFree, d.base, D(m.free));
          Emit(out, metrics::kGpuMemoryReserved, d.base, D(m.reserved));
        }
        return;
      }
      // The v2 call failed: the v1 call below may still answer (older drivers).
      MarkAbsent(d, "memory_reserved", lib->ErrorString(rc));
    }
    if (f.device_get_memory_info != nullptr) {
      nvml::Memory m{};
      if (Check(d, "memory", f.device_get_memory_info(d.handle, &m))) {
        Emit(out, metrics::kGpuMemoryTotal, d.base, D(m.total));
        Emit(out, metrics::kGpuMemoryUsed, d.base, D(m.used));
        Emit(out, metrics::kGpuMemoryFree, d.base, D(m.free));
      }
    }
  }

  // Calls the process-list entry point with a growing buffer. Returns the final NVML status;
  // *count is the number of valid entries on success.
  template <typename Info, typename Fn>
  nvml::Return ListProcesses(Fn fn, nvml::Device handle, std::vector<Info>* buf, unsigned* count) {
    if (buf->empty()) buf->resize(32);
    nvml::Return rc = nvml::kErrorUnknown;
    for (int attempt = 0; attempt < 4; ++attempt) {
      *count = static_cast<unsigned>(buf->size());
      rc = fn(handle, count, buf->data());
      if (rc != nvml::kErrorInsufficientSize) break;
      // Processes may start between calls: leave room for a few more.
      size_t want = std::min<size_t>(static_cast<size_t>(*count) + 16, kMaxProcesses);
      if (want <= buf->size()) break;
      buf->resize(want);
    }
    if (rc == nvml::kSuccess && *count > buf->size()) *count = static_cast<unsigned>(buf->size());
    return rc;
  }

  void CollectProcesses(DeviceState& d, core::SampleBatch& out) {
    const NvmlFunctions& f = lib->fn();
    // pid -> memory (summed: with MIG one process can appear once per instance); ~0 unknown.
    std::map<unsigned, unsigned long long> used;
    unsigned count = 0;
    nvml::Return rc;
    if (f.device_get_compute_processes_v2 != nullptr) {
      rc = ListProcesses(f.device_get_compute_processes_v2, d.handle, &procs_v2, &count);
      if (!Check(d, "processes", rc)) return;
      for (unsigned i = 0; i < count; ++i) Add(&used, procs_v2[i].pid, procs_v2[i].usedGpuMemory);
    } else if (f.device_get_compute_processes_v1 != nullptr) {
      rc = ListProcesses(f.device_get_compute_processes_v1, d.handle, &procs_v1, &count);
      if (!Check(d, "processes", rc)) return;
      for (unsigned i = 0; i < count; ++i) Add(&used, procs_v1[i].pid, procs_v1[i].usedGpuMemory);
    } else {
      return;
    }
    Emit(out, metrics::kGpuProcesses, d.base, static_cast<double>(used.size()));
    for (const auto& [pid, bytes] : used) {
      if (bytes == nvml::kValueNotAvailableUll) continue;
      core::Labels labels = With(d.base, "pid", std::to_string(pid));
      labels.Set("process", ProcessName(options.proc_root, pid));
      Emit(out, metrics::kGpuProcessMemory, std::move(labels), D(bytes));
    }
  }

  static void Add(std::map<unsigned, unsigned long long>* used, unsigned pid,
                  unsigned long long bytes) {
    auto [it, inserted] = used->try_emplace(pid, bytes);
    if (inserted) return;
    if (it->second == nvml::kValueNotAvailableUll || bytes == nvml::kValueNotAvailableUll) {
      it->second = nvml::kValueNotAvailableUll;
    } else {
      it->second += bytes;
    }
  }
};

GpuCollector::GpuCollector(GpuOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->shared->inventory.library = impl_->options.library;
  impl_->shared->inventory.reason = "not initialised yet";
}

GpuCollector::~GpuCollector() = default;

void GpuCollector::Init() { impl_->Init(); }

Status GpuCollector::Collect(core::SampleBatch& out) {
  impl_->Init();
  if (impl_->lib == nullptr) return Status::Ok();
  Emit(out, metrics::kGpus, {}, static_cast<double>(impl_->devices.size()));
  for (DeviceState& d : impl_->devices) impl_->CollectDevice(d, out);
  if (impl_->absent_changed) {
    impl_->absent_changed = false;
    impl_->PublishAbsent();
  }
  return Status::Ok();
}

GpuInventory GpuCollector::Inventory() const {
  std::lock_guard<std::mutex> lock(impl_->shared->mu);
  return impl_->shared->inventory;
}

std::function<GpuInventory()> GpuCollector::InventoryReader() const {
  std::shared_ptr<SharedInventory> shared = impl_->shared;
  return [shared] {
    std::lock_guard<std::mutex> lock(shared->mu);
    return shared->inventory;
  };
}

}  // namespace echomon::collect::gpu
