// memory: memory and swap figures from /proc/meminfo.
#include <algorithm>
#include <string>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"

namespace echomon::collect {
namespace {

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) * 100.0 / static_cast<double>(whole);
}

class MemoryCollector final : public Collector {
 public:
  explicit MemoryCollector(const HostOptions& options)
      : file_("memory", options.proc_root + "/meminfo") {}
  std::string_view name() const override { return "memory"; }

  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text);
    if (!status.ok()) return status;
    MemInfo m;
    status = ParseMemInfo(text, &m);
    if (!status.ok()) return Status::ParseError(file_.path() + ": " + status.message());
    // Kernels before 3.14 have no MemAvailable: estimate it the way free(1) used to.
    uint64_t available =
        m.has_available ? m.available : std::min(m.total, m.free + m.buffers + m.cached);
    uint64_t used = m.total > available ? m.total - available : 0;
    uint64_t swap_used = m.swap_total > m.swap_free ? m.swap_total - m.swap_free : 0;
    auto d = [](uint64_t v) { return static_cast<double>(v); };
    Emit(out, metrics::kMemoryTotal, {}, d(m.total));
    if (m.has_free) Emit(out, metrics::kMemoryFree, {}, d(m.free));
    Emit(out, metrics::kMemoryAvailable, {}, d(available));
    Emit(out, metrics::kMemoryBuffers, {}, d(m.buffers));
    Emit(out, metrics::kMemoryCached, {}, d(m.cached));
    if (m.has_shmem) Emit(out, metrics::kMemoryShared, {}, d(m.shmem));
    Emit(out, metrics::kMemoryUsed, {}, d(used));
    Emit(out, metrics::kMemoryUsedPercent, {}, Percent(used, m.total));
    Emit(out, metrics::kSwapTotal, {}, d(m.swap_total));
    Emit(out, metrics::kSwapFree, {}, d(m.swap_free));
    Emit(out, metrics::kSwapUsed, {}, d(swap_used));
    Emit(out, metrics::kSwapUsedPercent, {}, Percent(swap_used, m.swap_total));
    return Status::Ok();
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> MakeMemoryCollector(const HostOptions& options) {
  return std::make_unique<MemoryCollector>(options);
}

}  // namespace echomon::collect
