// echomon query NAME: each matching series' latest value, min/avg/max over a window and a small
// text sparkline, from a running agent's /api/v1/query (docs/cli.md).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/sparkline.h"
#include "core/config.h"

namespace echomon::cli {
namespace {

constexpr int kSparkWidth = 40;

double Value(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "+Inf") return INFINITY;
    if (s == "-Inf") return -INFINITY;
  }
  return NAN;
}

// 4 significant digits; large values with an SI suffix (196.7M) so columns stay short.
std::string Format(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  const double a = std::fabs(v);
  if (std::isfinite(v) && a >= 1e4) {
    const char* suffix = a >= 1e15 ? "P" : a >= 1e12 ? "T" : a >= 1e9 ? "G" : a >= 1e6 ? "M" : "k";
    const double scale = a >= 1e15   ? 1e15
                         : a >= 1e12 ? 1e12
                         : a >= 1e9  ? 1e9
                         : a >= 1e6  ? 1e6
                                     : 1e3;
    std::snprintf(buf, sizeof(buf), "%.4g%s", v / scale, suffix);
  } else {
    std::snprintf(buf, sizeof(buf), "%.4g", v);
  }
  return buf;
}

struct QueryOptions {
  std::string url, config, token, metric, labels, since = "1h", step, agg;
  bool as_json = false;
};

// Points of every series keyed by their labels' JSON text.
using SeriesPoints = std::map<std::string, std::vector<std::pair<double, double>>>;

std::optional<SeriesPoints> Range(const std::string& base, const QueryOptions& o,
                                  const std::string& step, const std::string& agg,
                                  std::map<std::string, json>* labels) {
  std::string path = "/api/v1/query?metric=" + UrlEncode(o.metric) + "&start=-" +
                     UrlEncode(o.since) + "&step=" + UrlEncode(step) + "&agg=" + agg;
  if (!o.labels.empty()) path += "&labels=" + UrlEncode(o.labels);
  auto body = CallApi(base, "GET", path, o.token);
  if (!body) return std::nullopt;
  SeriesPoints out;
  const json data = (*body)["data"];
  for (const auto& s : data.value("series", json::array())) {
    const json l = s.value("labels", json::object());
    (*labels)[l.dump()] = l;
    auto& points = out[l.dump()];
    for (const auto& p : s.value("points", json::array())) {
      if (p.is_array() && p.size() == 2) points.emplace_back(Value(p[0]), Value(p[1]));
    }
  }
  return out;
}

}  // namespace

// A row of kSparkWidth cells over [start, end]: each cell is the mean of the step averages
// stamped inside it, drawn as one of ▁▂▃▄▅▆▇█ between the lowest and highest cell; a blank cell
// had no data. Degenerate input (step <= 0, end <= start, non-finite bounds or values, a range
// wider than a double can hold) never reaches an int cast: it falls back to one cell / a flat bar.
std::string Sparkline(const std::vector<std::pair<double, double>>& points, double start,
                      double end, double step) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  // x in [0, hi], NaN as 0: the only way doubles become indices here.
  auto index = [](double x, int hi) {
    if (!(x > 0)) return 0;
    if (x >= static_cast<double>(hi)) return hi;
    return static_cast<int>(x);
  };
  const double span = end - start;
  const bool spans = std::isfinite(span) && span > 0;
  const bool steps = std::isfinite(step) && step > 0;
  const int cells = spans && steps ? std::max(1, index(std::ceil(span / step), kSparkWidth)) : 1;
  std::vector<double> sum(cells, 0);
  std::vector<int> count(cells, 0);
  for (const auto& [t, v] : points) {
    if (!std::isfinite(v) || !std::isfinite(t)) continue;
    int i = 0;
    if (spans) {
      // Points are stamped at their bucket's end; place them at the bucket's middle.
      const double mid = std::max(start, steps ? t - step / 2 : t);
      i = index((mid - start) / span * cells, cells - 1);
    }
    sum[i] += v;
    ++count[i];
  }
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < cells; ++i) {
    if (count[i] == 0) continue;
    sum[i] /= count[i];
    lo = std::min(lo, sum[i]);
    hi = std::max(hi, sum[i]);
  }
  // Halves, so that hi - lo cannot overflow for finite extremes (-1e308 .. 1e308).
  const double half_range = hi / 2 - lo / 2;
  std::string out;
  for (int i = 0; i < cells; ++i) {
    if (count[i] == 0) {
      out += " ";
    } else if (!std::isfinite(sum[i]) || !std::isfinite(half_range) ||
               half_range <= 0.5e-12 * std::max(1.0, std::fabs(hi))) {
      out += kBars[3];  // flat (or a cell whose mean overflowed)
    } else {
      out += kBars[index((sum[i] / 2 - lo / 2) / half_range * 7.0 + 0.5, 7)];
    }
  }
  return out;
}

namespace {

int Query(const QueryOptions& o) {
  int64_t since_ms = 0, step_ms = 0;
  std::string since = o.since;
  if (!since.empty() && since[0] == '-') since.erase(0, 1);
  if (!core::ParseDurationMs(since, &since_ms) || since_ms <= 0) {
    std::cerr << "echomon query: --since: expected a positive duration such as 1h, got '" << o.since
              << "'\n";
    return kExitUsage;
  }
  if (!o.step.empty() && (!core::ParseDurationMs(o.step, &step_ms) || step_ms <= 0)) {
    std::cerr << "echomon query: --step: expected a positive duration such as 1m, got '" << o.step
              << "'\n";
    return kExitUsage;
  }
  if (step_ms == 0) step_ms = std::max<int64_t>(1000, (since_ms / 60 + 999) / 1000 * 1000);
  QueryOptions q = o;
  q.since = since;
  const std::string step = o.step.empty() ? std::to_string(step_ms / 1000) + "s" : o.step;
  const std::string base = AgentAddress(o.url, o.config);

  std::string instant = "/api/v1/query?metric=" + UrlEncode(o.metric);
  if (!o.labels.empty()) instant += "&labels=" + UrlEncode(o.labels);
  auto latest_body = CallApi(base, "GET", instant, o.token);
  if (!latest_body) return kExitUnreachable;
  std::map<std::string, json> labels;
  std::map<std::string, std::pair<double, double>> latest;
  for (const auto& s : (*latest_body)["data"].value("series", json::array())) {
    const json l = s.value("labels", json::object());
    labels[l.dump()] = l;
    const json v = s.value("value", json::array());
    if (v.is_array() && v.size() == 2) latest[l.dump()] = {Value(v[0]), Value(v[1])};
  }
  auto avg = Range(base, q, step, "avg", &labels);
  if (!avg) return kExitUnreachable;
  auto min = Range(base, q, step, "min", &labels);
  if (!min) return kExitUnreachable;
  auto max = Range(base, q, step, "max", &labels);
  if (!max) return kExitUnreachable;

  const double now = static_cast<double>(std::time(nullptr));
  double end = now;
  for (const auto& [k, l] : latest) end = std::max(end, l.first);
  const double start = end - static_cast<double>(since_ms) / 1000.0;
  const double step_s = static_cast<double>(step_ms) / 1000.0;

  json out_series = json::array();
  Table table({"LABELS", "LATEST", "MIN", "AVG", "MAX", "TREND"},
              {false, true, true, true, true, false});
  for (const auto& [key, l] : labels) {
    auto stat = [](const SeriesPoints& sp, const std::string& k, auto fold, double init) {
      auto it = sp.find(k);
      double acc = init;
      bool any = false;
      if (it != sp.end()) {
        for (const auto& [t, v] : it->second) {
          if (std::isnan(v)) continue;
          acc = fold(acc, v);
          any = true;
        }
      }
      return any ? acc : NAN;
    };
    const double lo = stat(
        *min, key, [](double a, double b) { return std::min(a, b); }, INFINITY);
    const double hi = stat(
        *max, key, [](double a, double b) { return std::max(a, b); }, -INFINITY);
    const auto& avg_points = (*avg)[key];
    double sum = 0;
    int n = 0;
    for (const auto& [t, v] : avg_points) {
      if (std::isnan(v)) continue;
      sum += v;
      ++n;
    }
    const double mean = n ? sum / n : NAN;
    const auto lt = latest.find(key);
    const double last = lt == latest.end() ? NAN : lt->second.second;
    const std::string spark = Sparkline(avg_points, start, end, step_s);
    json points = json::array();
    for (const auto& [t, v] : avg_points) {
      points.push_back(json::array({t, std::isfinite(v) ? json(v) : json(nullptr)}));
    }
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    out_series.push_back(
        {{"labels", l},
         {"latest",
          lt == latest.end() ? json(nullptr) : json{{"t", lt->second.first}, {"value", num(last)}}},
         {"min", num(lo)},
         {"avg", num(mean)},
         {"max", num(hi)},
         {"sparkline", spark},
         {"points", std::move(points)}});
    table.Add({{LabelText(l).empty() ? "{}" : LabelText(l)},
               {Format(last), Color::kBold},
               {Format(lo)},
               {Format(mean)},
               {Format(hi)},
               {spark, Color::kBlue}});
  }
  if (o.as_json) {
    std::cout << json{{"metric", o.metric},     {"labels", o.labels},
                      {"start", start},         {"end", end},
                      {"step_seconds", step_s}, {"series", std::move(out_series)}}
                     .dump(2)
              << "\n";
    return labels.empty() ? kExitProblem : kExitOk;
  }
  if (labels.empty()) {
    std::cerr << "echomon query: no series named " << o.metric
              << (o.labels.empty() ? "" : " matching " + o.labels) << "\n";
    return kExitProblem;
  }
  const bool color = UseColor(STDOUT_FILENO);
  std::printf("%s  last %s, step %s (%zu series)\n", Paint(o.metric, Color::kBold, color).c_str(),
              since.c_str(), Ago(step_s).c_str(), labels.size());
  table.Print(stdout, color);
  return kExitOk;
}

}  // namespace

void RegisterQueryCommands(CLI::App& app, CommandRegistry& registry) {
  auto o = std::make_shared<QueryOptions>();
  auto* query = app.add_subcommand(
      "query", "Latest value, min/avg/max and a sparkline of a metric's series over a window");
  query->add_option("NAME", o->metric, "Metric name, e.g. echomon_cpu_usage_percent")->required();
  query->add_option("--labels", o->labels, "Label matchers, e.g. 'cpu=\"total\"'");
  query->add_option("--since", o->since, "Window (default 1h)");
  query->add_option("--step", o->step, "Aggregation step (default: window / 60, at least 1s)");
  query->add_option("--url", o->url, "Agent URL");
  query->add_option("-c,--config", o->config, "Configuration file naming the listen address");
  query->add_option("--token", o->token, "API token (default: $ECHOMON_TOKEN or <data_dir>/token)");
  query->add_flag("--json", o->as_json, "Print JSON");
  registry.Add(query, [o] {
    QueryOptions resolved = *o;
    resolved.token = ApiToken(o->token, o->config);
    return Query(resolved);
  });
}

}  // namespace echomon::cli
