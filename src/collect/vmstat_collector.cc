// vmstat: page fault, swap and OOM-kill counters from /proc/vmstat.
#include <string>
#include <utility>
#include <vector>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"

namespace echomon::collect {
namespace {

class VmstatCollector final : public Collector {
 public:
  explicit VmstatCollector(const HostOptions& options)
      : file_("vmstat", options.proc_root + "/vmstat") {}
  std::string_view name() const override { return "vmstat"; }

  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text);
    if (!status.ok()) return status;
    VmStat v;
    status = ParseVmStat(text, &v);
    if (!status.ok()) return Status::ParseError(file_.path() + ": " + status.message());
    auto d = [](uint64_t x) { return static_cast<double>(x); };
    if (v.has_pgfault) Emit(out, metrics::kPageFaults, {}, d(v.pgfault));
    if (v.has_pgmajfault) Emit(out, metrics::kMajorPageFaults, {}, d(v.pgmajfault));
    if (v.has_pswpin) Emit(out, metrics::kSwapIn, {}, d(v.pswpin));
    if (v.has_pswpout) Emit(out, metrics::kSwapOut, {}, d(v.pswpout));
    if (v.has_oom_kill) Emit(out, metrics::kOomKills, {}, d(v.oom_kill));
    return Status::Ok();
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> MakeVmstatCollector(const HostOptions& options) {
  return std::make_unique<VmstatCollector>(options);
}

}  // namespace echomon::collect
