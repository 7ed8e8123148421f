// load: load averages from /proc/loadavg.
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

class LoadCollector final : public Collector {
 public:
  explicit LoadCollector(const HostOptions& options)
      : file_("load", options.proc_root + "/loadavg") {}
  std::string_view name() const override { return "load"; }
  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text);
    if (!status.ok()) return status;
    LoadAvg load;
    status = ParseLoadAvg(text, &load);
    if (!status.ok()) return Status::ParseError(file_.path() + ": " + status.message());
    Emit(out, metrics::kLoad1, {}, load.load1);
    Emit(out, metrics::kLoad5, {}, load.load5);
    Emit(out, metrics::kLoad15, {}, load.load15);
    return Status::Ok();
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> MakeLoadCollector(const HostOptions& options) {
  return std::make_unique<LoadCollector>(options);
}

}  // namespace echomon::collect
