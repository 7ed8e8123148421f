// cpu: /proc/stat CPU times as counters, and per-mode utilisation from the delta between the
// previous tick and this one. The first tick has no delta and emits no utilisation.
#include <unistd.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"

namespace echomon::collect {
namespace {

struct CpuLabels {
  core::Labels cpu;                                    // {cpu="0"}
  std::array<core::Labels, kCpuAccountedModes> modes;  // {cpu="0",mode="user"}, ...
  void Build(const std::string& cpu_name) {
    cpu = core::Labels{{"cpu", cpu_name}};
    for (int m = 0; m < kCpuAccountedModes; ++m) {
      modes[m] = core::Labels{{"cpu", cpu_name}, {"mode", std::string(kCpuModeNames[m])}};
    }
  }
};

class CpuCollector final : public Collector {
 public:
  explicit CpuCollector(const HostOptions& options)
      : per_core_(options.per_core),
        file_("cpu", options.proc_root + "/stat"),
        seconds_per_tick_(1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK))) {
    total_labels_.Build("total");
  }

  std::string_view name() const override { return "cpu"; }

  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text);
    if (!status.ok()) return status;
    status = ParseProcStat(text, &current_);
    if (!status.ok()) return Status::ParseError(file_.path() + ": " + status.message());

    Emit(out, metrics::kCpuCount, {}, current_.online_cpus);
    EmitCpu(out, current_.total, have_previous_ ? &previous_.total : nullptr, total_labels_);
    if (per_core_) {
      if (core_labels_.size() < current_.cpus.size()) {
        for (size_t i = core_labels_.size(); i < current_.cpus.size(); ++i) {
          core_labels_.emplace_back().Build(std::to_string(i));
        }
      }
      for (size_t i = 0; i < current_.cpus.size(); ++i) {
        const CpuTimes& cpu = current_.cpus[i];
        if (!cpu.present) continue;
        const CpuTimes* before = nullptr;
        if (have_previous_ && i < previous_.cpus.size() && previous_.cpus[i].present) {
          before = &previous_.cpus[i];
        }
        EmitCpu(out, cpu, before, core_labels_[i]);
      }
    }
    std::swap(previous_, current_);
    have_previous_ = true;
    return Status::Ok();
  }

 private:
  void EmitCpu(core::SampleBatch& out, const CpuTimes& now, const CpuTimes* before,
               const CpuLabels& labels) const {
    for (int m = 0; m < kCpuAccountedModes; ++m) {
      Emit(out, metrics::kCpuSeconds, labels.modes[m],
           static_cast<double>(now.ticks[m]) * seconds_per_tick_);
    }
    if (before == nullptr) return;
    // Some counters (iowait notably) can step backwards on some kernels: clamp to 0.
    std::array<uint64_t, kCpuAccountedModes> delta;
    uint64_t total = 0;
    for (int m = 0; m < kCpuAccountedModes; ++m) {
      delta[m] = now.ticks[m] >= before->ticks[m] ? now.ticks[m] - before->ticks[m] : 0;
      total += delta[m];
    }
    if (total == 0) return;  // no time passed for this CPU: no meaningful split
    // delta * 100 / total (not delta * (100 / total)): exact 100 when one mode took all the time.
    const double total_ticks = static_cast<double>(total);
    for (int m = 0; m < kCpuAccountedModes; ++m) {
      Emit(out, metrics::kCpuUtilization, labels.modes[m],
           static_cast<double>(delta[m]) * 100.0 / total_ticks);
    }
    uint64_t busy = total - delta[kCpuIdle] - delta[kCpuIowait];
    Emit(out, metrics::kCpuUsage, labels.cpu, static_cast<double>(busy) * 100.0 / total_ticks);
  }

  const bool per_core_;
  ProcFile file_;
  const double seconds_per_tick_;
  ProcStat current_, previous_;
  bool have_previous_ = false;
  CpuLabels total_labels_;
  std::vector<CpuLabels> core_labels_;
};

}  // namespace

std::unique_ptr<Collector> MakeCpuCollector(const HostOptions& options) {
  return std::make_unique<CpuCollector>(options);
}

}  // namespace echomon::collect
