// DashboardExtension: serves the live dashboard (docs/dashboard.md).
//
//   GET /                   the dashboard page (embedded web/src/index.html)
//   GET /assets/<file>      its script, stylesheet and uPlot, embedded at build time
//   GET /api/v1/dashboard   everything one poll of the page needs: every chart's series,
//                           already aggregated to the range's step (counters as rates),
//                           the thresholds of the rules on the charted metrics, the active
//                           alerts and silences, and a short status
//
// The page polls /api/v1/dashboard every second with ?since=<next_since of the previous
// answer>, so after the first answer only the newest bucket of each series is computed: a 24 h
// view of 1 s data costs as little per poll as a 5 min one.
//
// Thread-safety: the handlers only read the store (thread-safe) and call the alerting
// pipeline's JSON accessors (thread-safe); the extension holds no mutable state after Start().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/labels.h"
#include "echomon/version.h"
#include "monitor/alerting.h"
#include "monitor/extension.h"
#include "server/http_server.h"
#include "web/web_assets.h"

namespace echomon::monitor {
namespace {

using nlohmann::json;

// How one chart line (or set of lines) is selected from the store.
struct LineSpec {
  std::vector<std::string> metrics;   // the first of these names that has series is used
  std::string matchers;               // label matchers, e.g. cpu="total"
  std::string name;                   // legend text (prefix when split by labels)
  std::vector<std::string> split_by;  // one line per value of these labels; empty: summed
  bool rate = false;                  // a counter: per-second increase between buckets
  double scale = 1;                   // multiply values (e.g. seconds -> milliseconds)
  std::string divide_by;              // a metric with the same labels: plot value / that * scale
};

struct ChartSpec {
  std::string id;
  std::string title;
  std::string unit;   // percent, bytes, bytes/s, ms, tokens/s, requests, celsius, watts, score
  std::string group;  // host, gpu, engine, anomaly
  std::vector<LineSpec> lines;
  size_t max_lines = 8;  // the lines with the largest values are kept
};

std::vector<ChartSpec> Charts() {
  std::vector<ChartSpec> c;
  c.push_back(
      {"cpu",
       "CPU",
       "percent",
       "host",
       {{{"echomon_cpu_usage_percent"}, "cpu=\"total\"", "busy", {}},
        {{"echomon_cpu_utilization_percent"}, "cpu=\"total\",mode=\"iowait\"", "iowait", {}}}});
  c.push_back({"memory",
               "Memory",
               "percent",
               "host",
               {{{"echomon_memory_used_percent"}, "", "used", {}},
                {{"echomon_swap_used_percent"}, "", "swap", {}}}});
  c.push_back({"disk_usage",
               "Disk usage",
               "percent",
               "host",
               {{{"echomon_filesystem_usage_percent"}, "", "", {"mount"}}}});
  c.push_back({"disk_io",
               "Disk I/O",
               "bytes/s",
               "host",
               {{{"echomon_disk_read_bytes_total"}, "", "read", {}, true},
                {{"echomon_disk_written_bytes_total"}, "", "write", {}, true}}});
  c.push_back(
      {"network",
       "Network",
       "bytes/s",
       "host",
       {{{"echomon_network_receive_bytes_total"}, "interface!=\"lo\"", "receive", {}, true},
        {{"echomon_network_transmit_bytes_total"}, "interface!=\"lo\"", "transmit", {}, true}}});
  c.push_back({"gpu_util",
               "GPU utilisation",
               "percent",
               "gpu",
               {{{"echomon_gpu_utilization_percent"}, "", "GPU ", {"gpu"}}}});
  c.push_back({"gpu_memory",
               "GPU memory",
               "percent",
               "gpu",
               {{{"echomon_gpu_memory_used_bytes"},
                 "",
                 "GPU ",
                 {"gpu"},
                 false,
                 100,
                 "echomon_gpu_memory_total_bytes"}}});
  c.push_back({"gpu_temperature",
               "GPU temperature",
               "celsius",
               "gpu",
               {{{"echomon_gpu_temperature_celsius"}, "", "GPU ", {"gpu"}}}});
  c.push_back({"gpu_power",
               "GPU power",
               "watts",
               "gpu",
               {{{"echomon_gpu_power_usage_watts"}, "", "GPU ", {"gpu"}},
                {{"echomon_gpu_power_limit_watts"}, "", "limit GPU ", {"gpu"}}}});
  c.push_back({"tokens",
               "Token throughput",
               "tokens/s",
               "engine",
               {{{"echomon_engine_generation_tokens_per_second"}, "", "generation", {}},
                {{"echomon_engine_prompt_tokens_per_second"}, "", "prompt", {}}}});
  c.push_back({"latency",
               "Request latency",
               "ms",
               "engine",
               {{{"echomon_engine_request_latency_seconds"}, "", "", {"quantile"}, false, 1000}}});
  c.push_back(
      {"ttft",
       "Time to first token",
       "ms",
       "engine",
       {{{"echomon_engine_time_to_first_token_seconds"}, "", "", {"quantile"}, false, 1000}}});
  c.push_back({"kv_cache",
               "KV-cache usage",
               "percent",
               "engine",
               {{{"echomon_engine_kv_cache_usage_percent"}, "", "", {"engine", "model"}}}});
  c.push_back({"queue",
               "Queue depth",
               "requests",
               "engine",
               {{{"echomon_engine_requests_waiting"}, "", "waiting", {}},
                {{"echomon_engine_requests_running"}, "", "running", {}}}});
  ChartSpec anomaly{"anomaly",
                    "Anomaly scores",
                    "score",
                    "anomaly",
                    {{{"echomon_anomaly_score"}, "", "", {"*"}}}};
  anomaly.max_lines = 6;
  c.push_back(std::move(anomaly));
  return c;
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Steps the page may be given, in seconds: buckets line up with wall-clock minutes and hours.
int64_t PickStepMs(int64_t range_ms, int64_t interval_ms, int64_t max_points) {
  static const int64_t kSteps[] = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                   600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400};
  const int64_t want = std::max<int64_t>(interval_ms, (range_ms + max_points - 1) / max_points);
  for (int64_t s : kSteps) {
    if (s * 1000 >= want) return s * 1000;
  }
  return want;
}

std::string LegendPart(const std::string& label, const std::string& value) {
  if (label == "quantile") {
    char* end = nullptr;
    const double q = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && *end == '\0') {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "p%g", q * 100);
      return buf;
    }
  }
  return value;
}

std::string Legend(const LineSpec& spec, const core::Labels& labels) {
  std::string out = spec.name;
  if (spec.split_by.size() == 1 && spec.split_by[0] == "*") {
    // Every label: metric first (the anomaly scores' watched metric), then the rest.
    if (const std::string* m = labels.Get("metric")) {
      out += m->rfind("echomon_", 0) == 0 ? m->substr(8) : *m;
    }
    std::string rest;
    for (const auto& l : labels.items()) {
      if (l.name == "metric") continue;
      rest += (rest.empty() ? "" : ",") + l.name + "=" + l.value;
    }
    if (!rest.empty()) out += "{" + rest + "}";
    return out;
  }
  std::string parts;
  for (const auto& name : spec.split_by) {
    const std::string* v = labels.Get(name);
    if (!v) continue;
    parts += (parts.empty() ? "" : " ") + LegendPart(name, *v);
  }
  if (!parts.empty()) out += (out.empty() || out.back() == ' ' ? "" : " ") + parts;
  return out.empty() ? "value" : out;
}

class DashboardExtension : public Extension {
 public:
  std::string_view name() const override { return "dashboard"; }

  Status Start(const ExtensionContext& context) override {
    context_ = context;
    charts_ = Charts();
    for (auto& chart : charts_) {
      for (auto& line : chart.lines) {
        std::vector<core::LabelMatcher> m;
        std::string error;
        if (!core::ParseLabelMatchers(line.matchers, &m, &error)) {
          return Status::Internal("dashboard chart " + chart.id + ": " + error);
        }
        matchers_[&line] = std::move(m);
      }
    }
    // One version for the page's asset links: any change to any asset changes it.
    std::string all;
    for (const auto& a : web::Assets()) all += a.etag;
    asset_version_ = std::to_string(std::hash<std::string>{}(all) % 1000000007ULL);
    return Status::Ok();
  }

  std::vector<server::Route> Routes() override {
    std::vector<server::Route> routes;
    routes.push_back({"GET", "/", false, [this](const server::ApiRequest& r) { return Index(r); }});
    routes.push_back({"GET", "/assets/([A-Za-z0-9_.-]+)", false,
                      [this](const server::ApiRequest& r) { return AssetFile(r); }});
    routes.push_back({"GET", "/api/v1/dashboard", false,
                      [this](const server::ApiRequest& r) { return Dashboard(r); }});
    return routes;
  }

 private:
  static bool NotModified(const server::ApiRequest& req, std::string_view etag) {
    auto it = req.headers.find("if-none-match");
    return it != req.headers.end() && it->second.find(etag) != std::string::npos;
  }

  server::ApiResponse Index(const server::ApiRequest& req) {
    const web::Asset* page = web::FindAsset("index.html");
    if (!page) return server::ApiResponse::Error(500, "the dashboard page is not embedded");
    // Asset links carry ?v=<version> so they can be cached for good; the page itself is
    // revalidated (cheaply, by ETag) on every load.
    std::string body(page->body);
    const std::string marker = "__ASSET_VERSION__";
    for (size_t at = body.find(marker); at != std::string::npos; at = body.find(marker, at)) {
      body.replace(at, marker.size(), asset_version_);
    }
    const std::string etag = "\"" + asset_version_ + "\"";
    server::ApiResponse out;
    out.headers["ETag"] = etag;
    out.headers["Cache-Control"] = "no-cache";
    out.headers["X-Content-Type-Options"] = "nosniff";
    if (NotModified(req, etag)) {
      out.status = 304;
      out.content_type = "text/html; charset=utf-8";
      return out;
    }
    out.body = std::move(body);
    out.content_type = std::string(page->content_type);
    return out;
  }

  server::ApiResponse AssetFile(const server::ApiRequest& req) {
    const std::string path = "assets/" + (req.captures.empty() ? std::string() : req.captures[0]);
    const web::Asset* asset = web::FindAsset(path);
    if (!asset) return server::ApiResponse::Error(404, "no asset /" + path);
    server::ApiResponse out;
    out.content_type = std::string(asset->content_type);
    out.headers["ETag"] = std::string(asset->etag);
    out.headers["X-Content-Type-Options"] = "nosniff";
    auto v = req.params.find("v");
    out.headers["Cache-Control"] = v != req.params.end() && v->second == asset_version_
                                       ? "public, max-age=31536000, immutable"
                                       : "no-cache";
    if (NotModified(req, asset->etag)) {
      out.status = 304;
      return out;
    }
    out.body = std::string(asset->body);
    return out;
  }

  // One line's points (already scaled), keyed by legend.
  using Lines = std::map<std::string, std::map<int64_t, double>>;

  Status QueryLine(const LineSpec& spec, int64_t start, int64_t end, int64_t step,
                   Lines* out) const {
    const auto& matchers = matchers_.at(&spec);
    for (const auto& metric : spec.metrics) {
      auto series = context_.store->Select(metric, matchers);
      if (series.empty()) continue;
      for (const auto& s : series) {
        const std::string legend = Legend(spec, s.labels);
        auto& line = (*out)[legend];
        if (spec.rate) {
          // The last value of each bucket, from the bucket before start, differenced.
          auto points =
              context_.store->RangeStep(s.id, start - step, end, step, store::Aggregation::kLast);
          if (!points.ok()) return points.status();
          for (size_t i = 1; i < points->size(); ++i) {
            const auto& a = (*points)[i - 1];
            const auto& b = (*points)[i];
            if (b.t_ms <= start || b.t_ms <= a.t_ms) continue;
            // A counter that went down restarted: its value is the increase (like rate()).
            const double increase = b.v >= a.v ? b.v - a.v : b.v;
            line[b.t_ms] += increase / Seconds(b.t_ms - a.t_ms) * spec.scale;
          }
        } else if (!spec.divide_by.empty()) {
          // A ratio: the divisor series with exactly the same labels, bucket by bucket.
          std::vector<core::LabelMatcher> same;
          for (const auto& l : s.labels.items()) {
            same.push_back({l.name, core::LabelMatcher::Op::kEqual, l.value});
          }
          std::optional<store::SeriesId> divisor;
          for (const auto& d : context_.store->Select(spec.divide_by, same)) {
            if (d.labels == s.labels) divisor = d.id;
          }
          if (!divisor) continue;
          auto num = context_.store->RangeStep(s.id, start, end, step, store::Aggregation::kAvg);
          if (!num.ok()) return num.status();
          auto den =
              context_.store->RangeStep(*divisor, start, end, step, store::Aggregation::kAvg);
          if (!den.ok()) return den.status();
          std::map<int64_t, double> by_time;
          for (const auto& p : *den) by_time[p.t_ms] = p.v;
          for (const auto& p : *num) {
            auto it = by_time.find(p.t_ms);
            if (it != by_time.end() && it->second > 0) {
              line[p.t_ms] += p.v / it->second * spec.scale;
            }
          }
        } else {
          auto points = context_.store->RangeStep(s.id, start, end, step, store::Aggregation::kAvg);
          if (!points.ok()) return points.status();
          for (const auto& p : *points) line[p.t_ms] += p.v * spec.scale;
        }
      }
      break;
    }
    return Status::Ok();
  }

  json Thresholds(const json& rules, const ChartSpec& chart) const {
    json out = json::array();
    if (!rules.is_array()) return out;
    for (const auto& rule : rules) {
      if (rule.value("kind", "") != "threshold") continue;
      const std::string metric = rule.value("metric", "");
      for (const auto& line : chart.lines) {
        if (std::find(line.metrics.begin(), line.metrics.end(), metric) == line.metrics.end()) {
          continue;
        }
        const std::string labels = rule.value("labels", "");
        // A rule on a subset of the line's series (quantile="0.95") still applies; one on
        // different fixed labels (another cpu) does not.
        if (!labels.empty() && !line.matchers.empty() && labels != line.matchers) continue;
        for (const auto& level : rule.value("levels", json::array())) {
          if (!level.contains("threshold") || !level["threshold"].is_number()) continue;
          out.push_back({{"rule", rule.value("name", "")},
                         {"labels", labels},
                         {"severity", level.value("severity", "")},
                         {"value", level["threshold"].get<double>() * line.scale}});
        }
        break;
      }
    }
    return out;
  }

  server::ApiResponse Dashboard(const server::ApiRequest& req) {
    const int64_t now = context_.clock->NowMillis();
    int64_t range = 5 * 60 * 1000;
    if (auto it = req.params.find("range"); it != req.params.end()) {
      if (!core::ParseDurationMs(it->second, &range) || range < 60'000 ||
          range > 7LL * 24 * 3600 * 1000) {
        return server::ApiResponse::Error(
            400, "parameter 'range': expected a duration from 1m to 7d, such as 5m or 24h");
      }
    }
    int64_t max_points = 720;
    if (auto it = req.params.find("points"); it != req.params.end()) {
      char* end = nullptr;
      const long long n = std::strtoll(it->second.c_str(), &end, 10);
      if (end == it->second.c_str() || *end != '\0' || n < 10 || n > 2000) {
        return server::ApiResponse::Error(400, "parameter 'points': expected 10 to 2000");
      }
      max_points = n;
    }
    const int64_t step =
        PickStepMs(range, std::max<int64_t>(context_.config.interval_ms, 1000), max_points);
    // Buckets aligned to multiples of the step, so successive polls compute the same buckets.
    int64_t start = (now - range) / step * step;
    bool incremental = false;
    if (auto it = req.params.find("since"); it != req.params.end()) {
      int64_t since = 0;
      if (!server::ParseQueryTime(it->second, now, &since)) {
        return server::ApiResponse::Error(400, "parameter 'since': expected Unix seconds");
      }
      since = since / step * step;
      if (since > start) {
        start = std::min(since, now);
        incremental = true;
      }
    }
    const int64_t next_since = now / step * step;

    const json rules = context_.alerting ? context_.alerting->RulesJson() : json::array();
    json charts = json::array();
    bool gpu = false, engine = false;
    for (const auto& chart : charts_) {
      Lines lines;
      for (const auto& spec : chart.lines) {
        if (Status s = QueryLine(spec, start, now, step, &lines); !s.ok()) {
          return server::ApiResponse::Error(500, "chart " + chart.id + ": " + s.ToString());
        }
      }
      // Keep the lines with the largest values when there are too many.
      std::vector<std::pair<double, std::string>> order;
      for (const auto& [legend, points] : lines) {
        double top = -INFINITY;
        for (const auto& [t, v] : points) {
          if (std::isfinite(v)) top = std::max(top, v);
        }
        order.push_back({top, legend});
      }
      if (order.size() > chart.max_lines) {
        std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
          return a.first > b.first || (a.first == b.first && a.second < b.second);
        });
        order.resize(chart.max_lines);
        std::sort(order.begin(), order.end(),
                  [](const auto& a, const auto& b) { return a.second < b.second; });
      }
      json series = json::array();
      for (const auto& [top, legend] : order) {
        json points = json::array();
        for (const auto& [t, v] : lines[legend]) points.push_back({Seconds(t), Number(v)});
        series.push_back({{"name", legend}, {"points", std::move(points)}});
      }
      const bool has_series = !lines.empty();
      if (chart.group == "gpu" && has_series) gpu = true;
      if (chart.group == "engine" && has_series) engine = true;
      charts.push_back({{"id", chart.id},
                        {"title", chart.title},
                        {"unit", chart.unit},
                        {"group", chart.group},
                        {"series", std::move(series)},
                        {"thresholds", Thresholds(rules, chart)}});
    }
    // Series that exist but had no sample in the range (a stopped engine) still count.
    if (!engine) engine = !context_.store->Select("echomon_engine_up", {}).empty();
    if (!gpu) gpu = !context_.store->Select("echomon_gpu_info", {}).empty();

    json data = {{"now", Seconds(now)},
                 {"range", Seconds(range)},
                 {"step", Seconds(step)},
                 {"start", Seconds(start)},
                 {"end", Seconds(now)},
                 {"next_since", Seconds(next_since)},
                 {"incremental", incremental},
                 {"gpu", gpu},
                 {"engine", engine},
                 {"version", kVersion},
                 {"interval_seconds", Seconds(context_.config.interval_ms)},
                 {"charts", std::move(charts)}};
    if (context_.alerting) {
      data["alerts"] = context_.alerting->AlertsJson();
      data["silences"] = context_.alerting->SilencesJson(false);
    }
    return server::ApiResponse::Json(data);
  }

  ExtensionContext context_;
  std::vector<ChartSpec> charts_;
  std::map<const LineSpec*, std::vector<core::LabelMatcher>> matchers_;
  std::string asset_version_;
};

}  // namespace

std::unique_ptr<Extension> MakeDashboardExtension() {
  return std::make_unique<DashboardExtension>();
}

}  // namespace echomon::monitor
