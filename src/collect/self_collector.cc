// self: the agent's own CPU time, memory, open file descriptors and threads, from
// <proc_root>/self (the capture in tests).
#include <unistd.h>

#include <string>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"
#include "core/log.h"

namespace echomon::collect {
namespace {

class SelfCollector final : public Collector {
 public:
  explicit SelfCollector(const HostOptions& options)
      : stat_("self", options.proc_root + "/self/stat"),
        statm_("self", options.proc_root + "/self/statm"),
        fd_dir_(options.proc_root + "/self/fd"),
        seconds_per_tick_(1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK))),
        page_size_(static_cast<double>(::sysconf(_SC_PAGESIZE))) {}
  std::string_view name() const override { return "self"; }

  Status Collect(core::SampleBatch& out) override {
    Status first;
    std::string_view text;
    Status status = stat_.Read(&text);
    SelfStat stat;
    if (status.ok()) status = ParseSelfStat(text, &stat);
    if (status.ok()) {
      Emit(out, metrics::kSelfCpuSeconds, {},
           static_cast<double>(stat.utime_ticks + stat.stime_ticks) * seconds_per_tick_);
      Emit(out, metrics::kSelfThreads, {}, static_cast<double>(stat.threads));
    } else {
      KeepFirstError(&first, std::move(status));
    }

    status = statm_.Read(&text);
    SelfStatm statm;
    if (status.ok()) status = ParseSelfStatm(text, &statm);
    if (status.ok()) {
      Emit(out, metrics::kSelfResident, {}, static_cast<double>(statm.resident_pages) * page_size_);
      Emit(out, metrics::kSelfVirtual, {}, static_cast<double>(statm.size_pages) * page_size_);
    } else {
      KeepFirstError(&first, std::move(status));
    }

    // The directory stream counts itself: the figure includes the one descriptor opendir uses.
    int64_t fds = CountDirEntries(fd_dir_, /*numeric_only=*/false);
    if (fds >= 0) {
      if (fd_failing_) {
        fd_failing_ = false;
        core::ResetOnce("self:" + fd_dir_);
      }
      Emit(out, metrics::kSelfOpenFds, {}, static_cast<double>(fds));
    } else {
      fd_failing_ = true;
      core::WarnOnce("self:" + fd_dir_, "self: cannot list " + fd_dir_);
      KeepFirstError(&first, Status::IoError("cannot list " + fd_dir_));
    }
    return first;
  }

 private:
  ProcFile stat_, statm_;
  std::string fd_dir_;
  bool fd_failing_ = false;
  const double seconds_per_tick_;
  const double page_size_;
};

}  // namespace

std::unique_ptr<Collector> MakeSelfCollector(const HostOptions& options) {
  return std::make_unique<SelfCollector>(options);
}

std::vector<std::unique_ptr<Collector>> MakeHostCollectors(const HostOptions& options) {
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(MakeCpuCollector(options));
  collectors.push_back(MakeLoadCollector(options));
  collectors.push_back(MakePressureCollector(options));
  collectors.push_back(MakeMemoryCollector(options));
  collectors.push_back(MakeVmstatCollector(options));
  collectors.push_back(MakeFilesystemCollector(options));
  collectors.push_back(MakeDiskstatsCollector(options));
  collectors.push_back(MakeNetworkCollector(options));
  collectors.push_back(MakeProcessesCollector(options));
  collectors.push_back(MakeSelfCollector(options));
  return collectors;
}

}  // namespace echomon::collect
