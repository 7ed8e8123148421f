// GpuCollector: per-GPU metrics from NVML (docs/gpu.md, docs/metrics.md).
//
// NVML is loaded with dlopen from GpuOptions::library the first time Init() (or Collect()) runs;
// device handles, names and UUIDs are looked up then, once. A host without the library (or
// whose driver is not loaded) is normal: the collector emits nothing, logs
// "no NVIDIA GPU / NVML not found: <reason>" once per process, and its inventory says
// available=false with the reason. A metric whose NVML call answers Not Supported or No
// Permission is absent (and listed in the device's `absent` map); any other error also leaves
// it absent, is counted in echomon_gpu_nvml_errors_total and logged once per GPU and call.
//
// Ownership: the collector owns the loaded library; destroying it calls nvmlShutdown.
// Thread-safety: Init/Collect are called from one thread at a time (the runner's contract);
// the function returned by InventoryReader() may be called from any thread, also after the
// collector is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collect/collector.h"

namespace echomon::collect::gpu {

struct GpuOptions {
  std::string library = "libnvidia-ml.so.1";  // file name (dlopen search) or path
  bool per_process = true;                    // per-process GPU memory series
  // PCIe tx/rx throughput. Each of the two NVML calls blocks for its 20 ms sample (21 ms per
  // call measured on an H200, most of a tick's ~55 ms per GPU); off saves that.
  bool pcie_throughput = true;
  std::string proc_root = "/proc";  // where process names are read
};

struct GpuDeviceInfo {
  unsigned index = 0;
  std::string uuid;
  std::string name;
  // Metrics NVML would not give for this device -> why ("Not Supported", "Insufficient
  // Permissions", "symbol missing", ...). Filled as collection runs.
  std::map<std::string, std::string> absent;
};

struct GpuInventory {
  bool initialised = false;  // Init() has run
  bool available = false;    // NVML loaded and initialised
  std::string reason;        // why not available
  std::string library;       // the configured library
  std::string driver_version;
  std::string nvml_version;
  int cuda_driver_version = 0;                 // e.g. 13000; 0 when unknown
  std::map<std::string, std::string> symbols;  // entry point -> symbol name used
  std::vector<GpuDeviceInfo> devices;
};

class GpuCollector final : public Collector {
 public:
  explicit GpuCollector(GpuOptions options);
  ~GpuCollector() override;

  std::string_view name() const override { return "gpu"; }
  // Loads NVML and looks the devices up, once; later calls do nothing. Never fails: a missing
  // library or driver is recorded in the inventory (available=false, reason).
  void Init();
  // Calls Init() if needed, then appends every GPU's samples. Returns Ok whatever NVML answers
  // per metric (see the class comment); emits nothing when NVML is unavailable.
  Status Collect(core::SampleBatch& out) override;

  GpuInventory Inventory() const;
  std::function<GpuInventory()> InventoryReader() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Cleans a string NVML wrote into a buffer of `size` bytes: stops at the first NUL or at the
// end of the buffer when there is none, replaces bytes outside printable ASCII with '?' and
// trims surrounding spaces.
std::string CleanNvmlString(const char* buffer, size_t size);

}  // namespace echomon::collect::gpu
