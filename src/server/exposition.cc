#include "server/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <tuple>
#include <vector>

namespace echomon::server {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Position of a series inside its histogram / summary group: buckets or quantiles first (in
// increasing bound), then _sum, then _count.
struct Placement {
  std::string family;
  core::Labels group;  // labels without le / quantile
  int part = 0;        // 0 bucket or quantile (or a plain series), 1 _sum, 2 _count
  double bound = 0;    // le or quantile
};

double ParseBound(const std::string* text) {
  if (text == nullptr) return 0;
  if (*text == "+Inf") return INFINITY;
  if (*text == "-Inf") return -INFINITY;
  char* end = nullptr;
  double v = std::strtod(text->c_str(), &end);
  return std::isnan(v) ? INFINITY : v;
}

Placement Place(const store::SeriesInfo& s) {
  Placement p;
  p.family = FamilyName(s.name, s.type, s.labels);
  p.group = s.labels;
  if (s.type == core::MetricType::kHistogram) {
    if (EndsWith(s.name, "_bucket")) {
      p.bound = ParseBound(s.labels.Get("le"));
      p.group.Erase("le");
    } else if (EndsWith(s.name, "_sum")) {
      p.part = 1;
    } else if (EndsWith(s.name, "_count")) {
      p.part = 2;
    }
  } else if (s.type == core::MetricType::kSummary) {
    if (s.labels.Get("quantile") != nullptr) {
      p.bound = ParseBound(s.labels.Get("quantile"));
      p.group.Erase("quantile");
    } else if (EndsWith(s.name, "_sum")) {
      p.part = 1;
    } else if (EndsWith(s.name, "_count")) {
      p.part = 2;
    }
  }
  return p;
}

}  // namespace

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string FamilyName(std::string_view name, core::MetricType type, const core::Labels& labels) {
  auto strip = [&](std::string_view suffix) {
    return std::string(name.substr(0, name.size() - suffix.size()));
  };
  if (type == core::MetricType::kHistogram) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (EndsWith(name, suffix)) return strip(suffix);
    }
  } else if (type == core::MetricType::kSummary && labels.Get("quantile") == nullptr) {
    for (std::string_view suffix : {"_sum", "_count"}) {
      if (EndsWith(name, suffix)) return strip(suffix);
    }
  }
  return std::string(name);
}

void RenderExposition(const store::SeriesStore& store, int64_t min_t_ms, std::string* out) {
  struct Row {
    const store::SeriesInfo* info;
    Placement place;
    double value;
  };
  std::vector<store::SeriesInfo> series = store.Select({}, {});
  std::vector<Row> rows;
  rows.reserve(series.size());
  for (const auto& s : series) {
    auto latest = store.Latest(s.id);
    if (!latest || latest->t_ms < min_t_ms) continue;
    rows.push_back(Row{&s, Place(s), latest->v});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.place.family, a.place.group, a.place.part, a.place.bound, a.info->name,
                    a.info->labels) < std::tie(b.place.family, b.place.group, b.place.part,
                                               b.place.bound, b.info->name, b.info->labels);
  });
  for (size_t i = 0; i < rows.size();) {
    const std::string& family = rows[i].place.family;
    size_t end = i;
    const std::string* help = nullptr;
    core::MetricType type = rows[i].info->type;
    bool mixed = false;
    while (end < rows.size() && rows[end].place.family == family) {
      if (help == nullptr && !rows[end].info->help.empty()) help = &rows[end].info->help;
      mixed = mixed || rows[end].info->type != type;
      ++end;
    }
    if (help != nullptr) {
      fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n", family, core::EscapeHelp(*help));
    }
    fmt::format_to(std::back_inserter(*out), "# TYPE {} {}\n", family,
                   mixed ? "untyped" : core::MetricTypeName(type));
    for (; i < end; ++i) {
      *out += rows[i].info->name;
      *out += rows[i].info->labels.ToString();
      *out += ' ';
      *out += FormatSampleValue(rows[i].value);
      *out += '\n';
    }
  }
}

}  // namespace echomon::server
