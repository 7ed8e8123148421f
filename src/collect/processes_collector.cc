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

// processes: process and thread counts, forks, context switches and interrupts, from /proc/stat,
// /proc/loadavg and the numeric entries of /proc.
class ProcessesCollector final : public Collector {
 public:
  explicit ProcessesCollector(const HostOptions& options)
      : proc_root_(options.proc_root),
        stat_("processes", options.proc_root + "/stat"),
        loadavg_("processes", options.proc_root + "/loadavg") {}
  std::string_view name() const override { return "processes"; }

  Status Collect(core::SampleBatch& out) override {
    Status first;
    std::string_view text;
    Status status = stat_.Read(&text);
    if (status.ok()) status = ParseProcStat(text, &stat_values_);
    if (status.ok()) {
      if (stat_values_.has_procs_running) {
        Emit(out, metrics::kProcsRunning, {}, static_cast<double>(stat_values_.procs_running));
      }
      if (stat_values_.has_procs_blocked) {
        Emit(out, metrics::kProcsBlocked, {}, static_cast<double>(stat_values_.procs_blocked));
      }
      if (stat_values_.has_processes) {
        Emit(out, metrics::kForks, {}, static_cast<double>(stat_values_.processes));
      }
      if (stat_values_.has_ctxt) {
        Emit(out, metrics::kContextSwitches, {}, static_cast<double>(stat_values_.ctxt));
      }
      if (stat_values_.has_intr) {
        Emit(out, metrics::kInterrupts, {}, static_cast<double>(stat_values_.intr));
      }
    } else {
      KeepFirstError(&first, std::move(status));
    }

    status = loadavg_.Read(&text);
    LoadAvg load;
    if (status.ok()) status = ParseLoadAvg(text, &load);
    if (status.ok()) {
      Emit(out, metrics::kThreads, {}, static_cast<double>(load.threads));
    } else {
      KeepFirstError(&first, std::move(status));
    }

    int64_t processes = CountDirEntries(proc_root_, /*numeric_only=*/true);
    if (processes >= 0) {
      Emit(out, metrics::kProcesses, {}, static_cast<double>(processes));
    } else {
      KeepFirstError(&first, Status::IoError("cannot list " + proc_root_));
    }
    return first;
  }

 private:
  std::string proc_root_;
  ProcFile stat_, loadavg_;
  ProcStat stat_values_;
};

}  // namespace

std::unique_ptr<Collector> MakeProcessesCollector(const HostOptions& options) {
  return std::make_unique<ProcessesCollector>(options);
}

}  // namespace echomon::collect
