#include "server/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/labels.h"

namespace echomon::server {

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void RenderExposition(const store::SeriesStore& store, int64_t min_t_ms, std::string* out) {
  std::vector<store::SeriesInfo> series = store.Select({}, {});
  std::sort(series.begin(), series.end(),
            [](const store::SeriesInfo& a, const store::SeriesInfo& b) {
              if (a.name != b.name) return a.name < b.name;
              return a.labels < b.labels;
            });
  const std::string* family = nullptr;
  for (const auto& s : series) {
    auto latest = store.Latest(s.id);
    if (!latest || latest->t_ms < min_t_ms) continue;
    if (family == nullptr || *family != s.name) {
      family = &s.name;
      if (!s.help.empty())
        fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n", s.name,
                       core::EscapeHelp(s.help));
      fmt::format_to(std::back_inserter(*out), "# TYPE {} {}\n", s.name,
                     core::MetricTypeName(s.type));
    }
    *out += s.name;
    *out += s.labels.ToString();
    *out += ' ';
    *out += FormatSampleValue(latest->v);
    *out += '\n';
  }
}

}  // namespace echomon::server
