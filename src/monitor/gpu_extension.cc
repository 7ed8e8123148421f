// GpuExtension: runs the NVML GPU collector (collect/gpu) as one of the agent's collectors and
// reports the GPUs in /api/v1/status under "gpus" (docs/gpu.md).
//
// Thread-safety: Start/Stop/Reload on the Monitor's thread; AddStatus from HTTP threads. The
// inventory reader is swapped under mu_.
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "collect/gpu/gpu_collector.h"
#include "monitor/extension.h"

namespace echomon::monitor {
namespace {

using nlohmann::json;

bool SameGpuConfig(const core::GpuConfig& a, const core::GpuConfig& b) {
  return a.enabled == b.enabled && a.library == b.library && a.per_process == b.per_process &&
         a.pcie_throughput == b.pcie_throughput;
}

json InventoryJson(const collect::gpu::GpuInventory& inv) {
  if (!inv.available) {
    return {{"available", false}, {"reason", inv.reason}, {"library", inv.library}};
  }
  json devices = json::array();
  for (const auto& d : inv.devices) {
    devices.push_back(
        {{"index", d.index}, {"uuid", d.uuid}, {"name", d.name}, {"absent_metrics", d.absent}});
  }
  return {{"available", true},
          {"library", inv.library},
          {"driver_version", inv.driver_version},
          {"nvml_version", inv.nvml_version},
          {"cuda_driver_version", inv.cuda_driver_version},
          {"count", inv.devices.size()},
          {"devices", std::move(devices)}};
}

class GpuExtension final : public Extension {
 public:
  std::string_view name() const override { return "gpu"; }

  Status Start(const ExtensionContext& context) override {
    runner_ = context.runner;
    proc_root_ = context.config.host.proc_root;
    Apply(context.config.gpu);
    return Status::Ok();
  }

  void Stop() override {
    if (runner_ != nullptr && running_) runner_->Remove("gpu");
    running_ = false;
  }

  Status Reload(const core::Config& config) override {
    if (!SameGpuConfig(config.gpu, config_) || config.host.proc_root != proc_root_) {
      proc_root_ = config.host.proc_root;
      Apply(config.gpu);
    }
    return Status::Ok();
  }

  void AddStatus(json& status) override {
    std::function<collect::gpu::GpuInventory()> reader;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reader = reader_;
    }
    if (!reader) {
      status["gpus"] = {{"available", false},
                        {"reason", "disabled in the configuration (gpu.enabled)"}};
      return;
    }
    status["gpus"] = InventoryJson(reader());
  }

 private:
  // (Re)creates the collector for config: NVML is loaded and the devices looked up here, so a
  // host without NVML is reported from the start. Replacing the collector in the runner
  // releases the old one (and its NVML reference) once it is idle.
  void Apply(const core::GpuConfig& config) {
    config_ = config;
    if (!config.enabled) {
      if (running_) runner_->Remove("gpu");
      running_ = false;
      std::lock_guard<std::mutex> lock(mu_);
      reader_ = nullptr;
      return;
    }
    collect::gpu::GpuOptions options;
    options.library = config.library;
    options.per_process = config.per_process;
    options.pcie_throughput = config.pcie_throughput;
    options.proc_root = proc_root_;  // process names (host.proc_root, e.g. /host/proc)
    auto collector = std::make_unique<collect::gpu::GpuCollector>(std::move(options));
    collector->Init();
    {
      std::lock_guard<std::mutex> lock(mu_);
      reader_ = collector->InventoryReader();
    }
    runner_->Add(std::move(collector));
    running_ = true;
  }

  collect::CollectorRunner* runner_ = nullptr;
  core::GpuConfig config_;
  std::string proc_root_;
  bool running_ = false;
  std::mutex mu_;
  std::function<collect::gpu::GpuInventory()> reader_;  // null while disabled
};

}  // namespace

std::unique_ptr<Extension> MakeGpuExtension() { return std::make_unique<GpuExtension>(); }

}  // namespace echomon::monitor
