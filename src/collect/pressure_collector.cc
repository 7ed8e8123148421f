// pressure: pressure stall information from /proc/pressure.
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

// pressure: /proc/pressure/{cpu,memory,io,irq}. A kernel without PSI (no directory, or PSI
// disabled at boot: EOPNOTSUPP) is not an error; the collector emits nothing for it.
class PressureCollector final : public Collector {
 public:
  explicit PressureCollector(const HostOptions& options) {
    for (std::string_view resource : kResources) {
      Resource& r = resources_.emplace_back(Resource{
          ProcFile("pressure", options.proc_root + "/pressure/" + std::string(resource)), {}});
      for (int k = 0; k < 2; ++k) {
        std::string kind = k == 0 ? "some" : "full";
        r.labels[k].total = core::Labels{{"resource", std::string(resource)}, {"kind", kind}};
        for (int w = 0; w < 3; ++w) {
          r.labels[k].window[w] = core::Labels{{"resource", std::string(resource)},
                                               {"kind", kind},
                                               {"window", std::string(kWindows[w])}};
        }
      }
    }
  }
  std::string_view name() const override { return "pressure"; }

  Status Collect(core::SampleBatch& out) override {
    Status first;
    for (Resource& r : resources_) {
      std::string_view text;
      Status status = r.file.Read(&text, /*optional=*/true);
      if (status.code() == StatusCode::kNotFound || status.code() == StatusCode::kUnavailable) {
        continue;
      }
      if (!status.ok()) {
        KeepFirstError(&first, std::move(status));
        continue;
      }
      Pressure pressure;
      status = ParsePressure(text, &pressure);
      if (!status.ok()) {
        KeepFirstError(&first, Status::ParseError(r.file.path() + ": " + status.message()));
        continue;
      }
      EmitLine(out, pressure.some, r.labels[0]);
      EmitLine(out, pressure.full, r.labels[1]);
    }
    return first;
  }

 private:
  static constexpr std::array<std::string_view, 4> kResources = {"cpu", "memory", "io", "irq"};
  static constexpr std::array<std::string_view, 3> kWindows = {"10s", "60s", "300s"};
  struct KindLabels {
    core::Labels total;
    std::array<core::Labels, 3> window;
  };
  struct Resource {
    ProcFile file;
    std::array<KindLabels, 2> labels;
  };

  static void EmitLine(core::SampleBatch& out, const PressureLine& line, const KindLabels& l) {
    if (!line.present) return;
    Emit(out, metrics::kPressureStall, l.window[0], line.avg10);
    Emit(out, metrics::kPressureStall, l.window[1], line.avg60);
    Emit(out, metrics::kPressureStall, l.window[2], line.avg300);
    Emit(out, metrics::kPressureStallSeconds, l.total, static_cast<double>(line.total_us) / 1e6);
  }

  std::vector<Resource> resources_;
};

}  // namespace

std::unique_ptr<Collector> MakePressureCollector(const HostOptions& options) {
  return std::make_unique<PressureCollector>(options);
}

}  // namespace echomon::collect
