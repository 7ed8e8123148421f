// Report assembly: reads the store and the agent's API bodies into the report document
// (docs/reports.md). HTML rendering is in html.cc.
#include "report/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/labels.h"
#include "echomon/version.h"

namespace echomon::report {
namespace {

using nlohmann::json;
using store::SeriesInfo;
using store::SeriesStore;

constexpr const char* kLatencyMetric = "echomon_engine_request_latency_seconds";
constexpr const char* kThroughputMetric = "echomon_engine_generation_tokens_per_second";
constexpr const char* kEngineUpMetric = "echomon_engine_up";
constexpr const char* kRunningMetric = "echomon_engine_requests_running";

// Type-safe reads of JSON that other components produced: a missing key or a value of another
// type gives the default instead of throwing.
const json& EmptyArray() {
  static const json kEmpty = json::array();
  return kEmpty;
}
const json& EmptyObject() {
  static const json kEmpty = json::object();
  return kEmpty;
}
const json* Field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
std::string Str(const json& j, const char* key, const std::string& dflt = "") {
  const json* f = Field(j, key);
  return f && f->is_string() ? f->get<std::string>() : dflt;
}
double Dbl(const json& j, const char* key, double dflt = 0) {
  const json* f = Field(j, key);
  return f && f->is_number() ? f->get<double>() : dflt;
}
uint64_t U64(const json& j, const char* key) {
  const double v = Dbl(j, key, 0);
  return v > 0 && v < 1.8e19 ? static_cast<uint64_t>(v) : 0;
}
bool Bool(const json& j, const char* key, bool dflt) {
  const json* f = Field(j, key);
  return f && f->is_boolean() ? f->get<bool>() : dflt;
}
const json& Arr(const json& j, const char* key) {
  const json* f = Field(j, key);
  return f && f->is_array() ? *f : EmptyArray();
}
const json& Obj(const json& j, const char* key) {
  const json* f = Field(j, key);
  return f && f->is_object() ? *f : EmptyObject();
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

int SeverityRank(const std::string& s) {
  if (s == "critical") return 2;
  if (s == "warning") return 1;
  if (s == "info") return 0;
  return -1;
}

const char* SeverityOfRank(int rank) {
  return rank >= 2 ? "critical" : rank == 1 ? "warning" : "info";
}

json SeverityCounts() { return {{"critical", 0}, {"warning", 0}, {"info", 0}}; }

std::string LabelOr(const core::Labels& labels, std::string_view name, const std::string& dflt) {
  const std::string* v = labels.Get(name);
  return v ? *v : dflt;
}

json LabelsJson(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels.items()) out[l.name] = l.value;
  return out;
}

std::vector<SeriesInfo> Select(const SeriesStore& store, std::string_view name,
                               std::vector<core::LabelMatcher> matchers = {}) {
  return store.Select(name, matchers);
}

std::vector<store::Point> Points(const SeriesStore& store, store::SeriesId id, int64_t start_ms,
                                 int64_t end_ms) {
  auto r = store.Range(id, start_ms, end_ms);
  if (!r.ok()) return {};
  return std::move(r).value();
}

// current/average/min/max/p95 of one series over the window; nullopt without finite samples.
std::optional<json> SeriesStats(const SeriesStore& store, const SeriesInfo& s, int64_t start_ms,
                                int64_t end_ms) {
  std::vector<double> values;
  double current = NAN;
  double current_t = 0;
  for (const auto& p : Points(store, s.id, start_ms, end_ms)) {
    if (!std::isfinite(p.v)) continue;
    values.push_back(p.v);
    current = p.v;
    current_t = Seconds(p.t_ms);
  }
  if (values.empty()) return std::nullopt;
  double sum = 0;
  for (double v : values) sum += v;
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  // Nearest-rank p95.
  const size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(sorted.size())));
  return json{{"name", s.name},
              {"labels", LabelsJson(s.labels)},
              {"current", current},
              {"current_at", current_t},
              {"average", sum / static_cast<double>(values.size())},
              {"min", sorted.front()},
              {"max", sorted.back()},
              {"p95", sorted[std::max<size_t>(rank, 1) - 1]},
              {"samples", values.size()}};
}

// The series the performance summary covers, in display order.
struct SummarySeries {
  const char* name;
  const char* label;  // nullptr: every series of the name
  const char* value;
};
constexpr SummarySeries kSummarySeries[] = {
    {"echomon_cpu_usage_percent", "cpu", "total"},
    {"echomon_memory_used_percent", nullptr, nullptr},
    {"echomon_swap_used_percent", nullptr, nullptr},
    {"echomon_load1", nullptr, nullptr},
    {"echomon_filesystem_usage_percent", nullptr, nullptr},
    {"echomon_self_resident_memory_bytes", nullptr, nullptr},
    {"echomon_gpu_utilization_percent", nullptr, nullptr},
    {"echomon_gpu_memory_used_bytes", nullptr, nullptr},
    {"echomon_gpu_power_usage_watts", nullptr, nullptr},
    {"echomon_gpu_temperature_celsius", nullptr, nullptr},
    {"echomon_engine_generation_tokens_per_second", nullptr, nullptr},
    {"echomon_engine_prompt_tokens_per_second", nullptr, nullptr},
    {"echomon_engine_request_latency_seconds", "quantile", "0.95"},
    {"echomon_engine_time_to_first_token_seconds", "quantile", "0.95"},
    {"echomon_engine_kv_cache_usage_percent", nullptr, nullptr},
    {"echomon_engine_requests_running", nullptr, nullptr},
    {"echomon_engine_requests_waiting", nullptr, nullptr},
};

json PerformanceSummary(const SeriesStore& store, int64_t start_ms, int64_t end_ms) {
  json metrics = json::array();
  for (const SummarySeries& k : kSummarySeries) {
    std::vector<core::LabelMatcher> m;
    if (k.label) m.push_back({k.label, core::LabelMatcher::Op::kEqual, k.value});
    for (const auto& s : Select(store, k.name, m)) {
      if (auto stats = SeriesStats(store, s, start_ms, end_ms)) metrics.push_back(*stats);
    }
  }
  return {{"metrics", std::move(metrics)}};
}

// The latest finite value of the first series named name (matching matchers) within the window.
std::optional<double> Latest(const SeriesStore& store, std::string_view name,
                             std::vector<core::LabelMatcher> matchers, int64_t start_ms) {
  for (const auto& s : Select(store, name, std::move(matchers))) {
    auto p = store.Latest(s.id);
    if (p && p->t_ms >= start_ms && std::isfinite(p->v)) return p->v;
  }
  return std::nullopt;
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

// ---- charts ----------------------------------------------------------------------------------

struct ChartSeriesSpec {
  std::string label;
  store::SeriesId id;
  double scale = 1;
};

json ChartSeries(const SeriesStore& store, const ChartSeriesSpec& spec, int64_t start_ms,
                 int64_t end_ms, int64_t step_ms) {
  json points = json::array();
  auto r = store.RangeStep(spec.id, start_ms, end_ms, step_ms, store::Aggregation::kAvg);
  if (r.ok()) {
    for (const auto& p : *r) {
      if (std::isfinite(p.v)) points.push_back(json::array({Seconds(p.t_ms), p.v * spec.scale}));
    }
  }
  return {{"label", spec.label}, {"points", std::move(points)}};
}

json Chart(const SeriesStore& store, const std::string& id, const std::string& title,
           const std::string& unit, const std::vector<ChartSeriesSpec>& specs, int64_t start_ms,
           int64_t end_ms, int64_t step_ms) {
  json series = json::array();
  for (const auto& spec : specs) {
    json s = ChartSeries(store, spec, start_ms, end_ms, step_ms);
    if (!s["points"].empty()) series.push_back(std::move(s));
  }
  return {{"id", id},
          {"title", title},
          {"unit", unit},
          {"start", Seconds(start_ms)},
          {"end", Seconds(end_ms)},
          {"step_seconds", Seconds(step_ms)},
          {"gap_seconds", Seconds(step_ms) * 2.5},
          {"series", std::move(series)}};
}

std::string EngineModel(const core::Labels& labels) {
  std::string engine = LabelOr(labels, "engine", "");
  std::string model = LabelOr(labels, "model", "");
  if (model.empty()) return engine;
  return engine.empty() ? model : engine + "/" + model;
}

json DashboardData(const SeriesStore& store, const ReportOptions& o, int64_t start_ms,
                   int64_t end_ms, int64_t interval_ms) {
  const int points = std::max(o.chart_points, 10);
  int64_t step = std::max<int64_t>(interval_ms, (end_ms - start_ms + points - 1) / points);
  step = std::max<int64_t>(1000, (step + 999) / 1000 * 1000);  // whole seconds
  auto specs = [&](std::string_view name, std::vector<core::LabelMatcher> m, auto label_of,
                   double scale = 1, size_t limit = 8) {
    std::vector<ChartSeriesSpec> out;
    for (const auto& s : Select(store, name, std::move(m))) {
      if (out.size() >= limit) break;
      out.push_back({label_of(s.labels), s.id, scale});
    }
    return out;
  };
  json charts = json::array();
  json cpu =
      Chart(store, "cpu", "CPU usage", "%",
            specs("echomon_cpu_usage_percent", {{"cpu", core::LabelMatcher::Op::kEqual, "total"}},
                  [](const core::Labels&) { return std::string("cpu"); }),
            start_ms, end_ms, step);
  cpu["y_min"] = 0;
  cpu["y_max"] = 100;
  charts.push_back(std::move(cpu));
  json memory = Chart(store, "memory", "Memory used", "%",
                      specs("echomon_memory_used_percent", {},
                            [](const core::Labels&) { return std::string("memory"); }),
                      start_ms, end_ms, step);
  memory["y_min"] = 0;
  memory["y_max"] = 100;
  charts.push_back(std::move(memory));
  json disk = Chart(store, "disk", "Disk usage by mount", "%",
                    specs("echomon_filesystem_usage_percent", {},
                          [](const core::Labels& l) { return LabelOr(l, "mount", "?"); }),
                    start_ms, end_ms, step);
  disk["y_min"] = 0;
  disk["y_max"] = 100;
  charts.push_back(std::move(disk));
  json gpu = Chart(store, "gpu", "GPU utilisation", "%",
                   specs("echomon_gpu_utilization_percent", {},
                         [](const core::Labels& l) { return "gpu " + LabelOr(l, "gpu", "?"); }),
                   start_ms, end_ms, step);
  if (!gpu["series"].empty()) {
    gpu["y_min"] = 0;
    gpu["y_max"] = 100;
    charts.push_back(std::move(gpu));
  }
  json tps = Chart(store, "engine_throughput", "Engine generation throughput", "tokens/s",
                   specs(kThroughputMetric, {}, EngineModel), start_ms, end_ms, step);
  tps["y_min"] = 0;
  tps["threshold"] = o.min_tokens_per_second;
  tps["threshold_label"] = "SLO minimum";
  charts.push_back(std::move(tps));
  std::vector<ChartSeriesSpec> latency;
  for (const char* q : {"0.5", "0.95", "0.99"}) {
    auto more = specs(
        kLatencyMetric, {{"quantile", core::LabelMatcher::Op::kEqual, q}},
        [q](const core::Labels& l) {
          const std::string pct = std::string(q) == "0.5"    ? "p50"
                                  : std::string(q) == "0.95" ? "p95"
                                                             : "p99";
          return pct + " " + EngineModel(l);
        },
        1000.0, 4);
    latency.insert(latency.end(), more.begin(), more.end());
  }
  json lat = Chart(store, "engine_latency", "Engine request latency", "ms", latency, start_ms,
                   end_ms, step);
  lat["y_min"] = 0;
  lat["threshold"] = o.latency_p95_ms;
  lat["threshold_label"] = "p95 SLO";
  charts.push_back(std::move(lat));
  return {{"step_seconds", Seconds(step)}, {"charts", std::move(charts)}};
}

bool IncidentsEnabled(const ReportInputs& in);

// ---- component status ------------------------------------------------------------------------

json Component(const std::string& name, const std::string& kind, const std::string& state,
               json healthy, const std::string& detail) {
  return {{"name", name},
          {"kind", kind},
          {"state", state},
          {"healthy", std::move(healthy)},
          {"detail", detail}};
}

std::string StringField(const json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return "";
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it == j.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number() || it->is_boolean()) return it->dump();
  }
  return "";
}

// One entry of the "components.status" source, whatever its exact shape.
json ExternalComponent(const std::string& fallback_name, const json& c) {
  std::string name = StringField(c, {"name", "component", "id"});
  if (name.empty()) name = fallback_name;
  json healthy;
  if (c.is_object() && c.contains("healthy") && c["healthy"].is_boolean()) healthy = c["healthy"];
  std::string state = StringField(c, {"state", "status", "health"});
  if (c.is_boolean()) healthy = c;
  if (state.empty())
    state = healthy.is_boolean() ? (healthy.get<bool>() ? "healthy" : "failing") : "unknown";
  if (healthy.is_null()) {
    static const std::set<std::string> kGood = {"ok", "up", "healthy", "active", "running"};
    static const std::set<std::string> kBad = {"down",  "failing",   "failed",  "error",
                                               "stale", "unhealthy", "critical"};
    if (kGood.count(state)) healthy = true;
    if (kBad.count(state)) healthy = false;
  }
  if (c.is_object() && Bool(c, "stale", false) == true) {
    state = "stale";
    healthy = false;
  }
  std::string detail = StringField(c, {"detail", "message", "reason"});
  if (detail.empty() && healthy == false) detail = StringField(c, {"last_error"});
  if (detail.empty() && c.is_object()) {
    for (const char* k : {"source", "series", "samples_total", "errors_total"}) {
      if (!c.contains(k)) continue;
      detail += (detail.empty() ? "" : ", ") + std::string(k) + " " +
                (c[k].is_string() ? c[k].get<std::string>() : c[k].dump());
    }
  }
  return Component(name, "component", state, std::move(healthy), detail);
}

json ComponentStatus(const ReportInputs& in, int64_t start_ms, int64_t now_ms,
                     int64_t interval_ms) {
  json out = json::array();
  for (const auto& c : Arr(in.status, "collectors")) {
    const bool ok = Bool(c, "healthy", true);
    std::string detail = ok ? std::to_string(U64(c, "runs")) + " runs, " +
                                  std::to_string(U64(c, "errors")) + " errors"
                            : Str(c, "last_error", "failing");
    out.push_back(
        Component(Str(c, "name", "?"), "collector", ok ? "healthy" : "failing", ok, detail));
  }
  // Engines: the latest echomon_engine_up per engine.
  const SeriesStore& store = *in.store;
  bool any_engine = false;
  for (const auto& s : Select(store, kEngineUpMetric)) {
    any_engine = true;
    const std::string name = "engine " + LabelOr(s.labels, "engine", "?");
    auto p = store.Latest(s.id);
    const int64_t fresh_after = now_ms - 3 * std::max<int64_t>(interval_ms, 1000);
    if (!p || p->t_ms < fresh_after) {
      out.push_back(Component(name, "engine", "down", false, "no recent scrape"));
    } else if (p->v >= 1) {
      out.push_back(Component(name, "engine", "up", true, "scraped and serving engine metrics"));
    } else {
      std::string why = "scrape failing";
      for (const auto& c : Arr(in.status, "collectors")) {
        if (Str(c, "name") == "engine:" + LabelOr(s.labels, "engine", "") &&
            !Str(c, "last_error").empty()) {
          why = c["last_error"].get<std::string>();
        }
      }
      out.push_back(Component(name, "engine", "down", false, why));
    }
  }
  if (!any_engine) {
    out.push_back(Component("engine", "engine", "not detected", nullptr,
                            "no engine scrape target configured or discovered"));
  }
  // GPUs: the GPU extension's status entry, else the GPU series.
  if (in.status.contains("gpus") && !in.status["gpus"].is_null()) {
    const json& g = in.status["gpus"];
    if (g.is_array()) {
      out.push_back(Component("gpu", "gpu", g.empty() ? "absent" : "available",
                              g.empty() ? json() : json(true),
                              std::to_string(g.size()) + " GPU" + (g.size() == 1 ? "" : "s")));
    } else if (g.is_object()) {
      bool available = Bool(g, "available", !Arr(g, "devices").empty());
      std::string detail = StringField(g, {"message", "detail", "error", "reason"});
      if (g.contains("devices") && g["devices"].is_array()) {
        const json& devices = g["devices"];
        std::string names;
        for (const auto& d : devices) {
          const std::string name = Str(d, "name");
          if (!name.empty() && names.find(name) == std::string::npos) {
            names += (names.empty() ? "" : ", ") + name;
          }
        }
        detail = std::to_string(devices.size()) + (devices.size() == 1 ? " GPU" : " GPUs") +
                 (names.empty() ? "" : " (" + names + ")");
        const std::string driver = Str(g, "driver_version");
        if (!driver.empty()) detail += ", driver " + driver;
      } else if (g.contains("count")) {
        detail = g["count"].dump() + " GPUs" + (detail.empty() ? "" : "; " + detail);
      }
      out.push_back(Component("gpu", "gpu", available ? "available" : "absent",
                              available ? json(true) : json(), detail));
    } else {
      out.push_back(Component("gpu", "gpu", g.dump(), nullptr, ""));
    }
  } else {
    std::set<std::string> gpus;
    for (const auto& s : store.Select({}, {})) {
      if (s.name.rfind("echomon_gpu_", 0) != 0) continue;
      auto p = store.Latest(s.id);
      if (p && p->t_ms >= start_ms) gpus.insert(LabelOr(s.labels, "gpu", "0"));
    }
    if (gpus.empty()) {
      out.push_back(
          Component("gpu", "gpu", "absent", nullptr, "no GPU metrics (no NVML on this host)"));
    } else {
      out.push_back(
          Component("gpu", "gpu", "available", true,
                    std::to_string(gpus.size()) + " GPU" + (gpus.size() == 1 ? "" : "s")));
    }
  }
  // Store and notifiers.
  const json st = Obj(in.status, "store");
  const uint64_t persist_errors = U64(st, "persist_errors");
  out.push_back(Component(
      "store", "store", persist_errors ? "degraded" : "healthy", persist_errors == 0,
      std::to_string(U64(st, "series")) + " series, " + std::to_string(U64(st, "samples")) +
          " samples in memory" +
          (persist_errors ? ", " + std::to_string(persist_errors) + " persist errors" : "")));
  for (const auto& n : Arr(in.status, "notifiers")) {
    const std::string err = Str(n, "last_error");
    const bool ok = err.empty() && U64(n, "dropped") == 0;
    out.push_back(Component("notifier " + Str(n, "name", "?"), "notifier",
                            ok ? "healthy" : "failing", ok,
                            err.empty() ? std::to_string(U64(n, "sent")) + " sent" : err));
  }
  // Components reporting their own metrics (push API, exec plugins...).
  const json& comps = in.components;
  if (comps.is_array()) {
    for (size_t i = 0; i < comps.size(); ++i) {
      out.push_back(ExternalComponent("component " + std::to_string(i), comps[i]));
    }
  } else if (comps.is_object()) {
    if (comps.contains("components") && comps["components"].is_array()) {
      for (const auto& c : comps["components"]) out.push_back(ExternalComponent("?", c));
    } else {
      for (const auto& [name, c] : comps.items()) out.push_back(ExternalComponent(name, c));
    }
  }
  const bool incidents = IncidentsEnabled(in);
  out.push_back(Component("incident response", "responder", incidents ? "enabled" : "not enabled",
                          incidents ? json(true) : json(),
                          incidents ? "" : "incident response not enabled"));
  return out;
}

// ---- system status -------------------------------------------------------------------------

json SystemStatus(const ReportInputs& in, const json& components, const json& alerts,
                  int64_t start_ms) {
  const json& s = in.status;
  const SeriesStore& store = *in.store;
  json problems = json::array();
  std::string overall = "ok";
  auto worsen = [&](const std::string& to) {
    if (to == "critical" || (to == "degraded" && overall == "ok")) overall = to;
  };
  const json active = Obj(alerts, "active");
  const int critical = static_cast<int>(Dbl(active, "critical_firing"));
  if (critical > 0) {
    worsen("critical");
    problems.push_back(std::to_string(critical) + " critical alert" + (critical == 1 ? "" : "s") +
                       " firing");
  }
  const int warning = static_cast<int>(Dbl(active, "warning_firing"));
  if (warning > 0) {
    worsen("degraded");
    problems.push_back(std::to_string(warning) + " warning alert" + (warning == 1 ? "" : "s") +
                       " firing");
  }
  for (const auto& c : components) {
    if (c["healthy"].is_boolean() && !c["healthy"].get<bool>()) {
      worsen("degraded");
      problems.push_back(
          c["name"].get<std::string>() + " " + c["state"].get<std::string>() +
          (c["detail"].get<std::string>().empty() ? "" : ": " + c["detail"].get<std::string>()));
    }
  }
  json host = json::object();
  auto put = [&](const char* key, std::string_view name, std::vector<core::LabelMatcher> m) {
    auto v = Latest(store, name, std::move(m), start_ms);
    host[key] = v ? json(*v) : json();
  };
  put("cpu_percent", "echomon_cpu_usage_percent",
      {{"cpu", core::LabelMatcher::Op::kEqual, "total"}});
  put("memory_percent", "echomon_memory_used_percent", {});
  put("swap_percent", "echomon_swap_used_percent", {});
  put("root_disk_percent", "echomon_filesystem_usage_percent",
      {{"mount", core::LabelMatcher::Op::kEqual, "/"}});
  put("load1", "echomon_load1", {});
  put("cpus", "echomon_cpus_online", {});
  return {{"overall", overall},
          {"problems", std::move(problems)},
          {"hostname", Hostname()},
          {"version", Str(s, "version", kVersion)},
          {"monitoring", Bool(s, "monitoring", false)},
          {"started_at", Dbl(s, "started_at")},
          {"uptime_seconds", Dbl(s, "uptime_seconds")},
          {"interval_ms", static_cast<int>(Dbl(s, "interval_ms"))},
          {"config", Str(s, "config")},
          {"data_dir", Str(s, "data_dir")},
          {"store", Obj(s, "store")},
          {"host", std::move(host)}};
}

// Whether the incidents extension answered and says it is enabled.
bool IncidentsEnabled(const ReportInputs& in) {
  if (in.incident_stats.is_null() && in.incidents.is_null()) return false;
  return !(in.incident_stats.is_object() && Bool(in.incident_stats, "enabled", true) == false);
}

double NumberOr(const json& j, const char* key, double dflt) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : dflt;
}

// The incidents of the window (opened in it, closed in it, or still open) with counts by
// outcome; the extension's all-time statistics as they are.
json Incidents(const ReportInputs& in, int64_t start_ms) {
  if (!IncidentsEnabled(in)) {
    return {{"enabled", false}, {"message", "incident response not enabled"}};
  }
  const double start = Seconds(start_ms);
  json recent = json::array();
  json counts = {{"opened", 0}, {"resolved", 0}, {"escalated", 0}, {"failed", 0}, {"active", 0}};
  std::vector<double> ttr;
  const json& list = in.incidents.is_object() && in.incidents.contains("incidents")
                         ? in.incidents["incidents"]
                         : in.incidents;
  if (list.is_array()) {
    for (const auto& i : list) {
      if (!i.is_object()) continue;
      const double opened = NumberOr(i, "opened_at", 0);
      const double closed = NumberOr(i, "closed_at", -1);
      const bool open = closed < 0;
      if (!open && closed < start && opened < start) continue;
      const std::string state = Str(i, "state");
      if (opened >= start) counts["opened"] = counts["opened"].get<int>() + 1;
      if (open) counts["active"] = counts["active"].get<int>() + 1;
      if (state == "resolved" || state == "failed" || state == "escalated") {
        counts[state] = counts[state].get<int>() + 1;
      }
      if (state == "resolved" && !open && opened >= start) ttr.push_back(closed - opened);
      if (recent.size() < 50) recent.push_back(i);
    }
  }
  json mttr;
  if (!ttr.empty()) {
    double sum = 0;
    for (double d : ttr) sum += d;
    mttr = sum / static_cast<double>(ttr.size());
  }
  counts["mean_time_to_resolve_seconds"] = mttr;
  return {{"enabled", true},
          {"window", std::move(counts)},
          {"stats", in.incident_stats.is_null() ? json::object() : in.incident_stats},
          {"recent", std::move(recent)}};
}

}  // namespace

// ---- alerts ------------------------------------------------------------------------------------

json SummarizeAlerts(const json& history, const json& active, int64_t start_ms, int64_t end_ms,
                     size_t top_rules) {
  struct Track {
    std::string rule;
    int64_t firing_ms = -1;  // current firing episode start; -1 when not known to be firing
    int rank = -1;           // highest severity while firing in the window
    bool fired = false;      // started firing inside the window
  };
  struct RuleStats {
    int fired = 0, resolved = 0, pending = 0;
    json by_severity = SeverityCounts();
    double firing_seconds = 0;
  };
  std::map<std::string, Track> tracks;
  std::map<std::string, RuleStats> rules;
  std::vector<double> ttr;
  size_t transitions = 0;
  json by_severity = SeverityCounts();
  if (history.is_array()) {
    for (const auto& t : history) {
      if (!t.is_object() || !t.contains("at") || !t["at"].is_number()) continue;
      const int64_t at = static_cast<int64_t>(std::llround(t["at"].get<double>() * 1000));
      if (at < start_ms || at > end_ms) continue;
      ++transitions;
      const std::string id = Str(t, "alert_id");
      const std::string to = Str(t, "to");
      const std::string from = Str(t, "from");
      Track& tr = tracks[id];
      tr.rule = Str(t, "rule");
      RuleStats& rs = rules[tr.rule];
      if (to == "pending") ++rs.pending;
      if (to == "firing") {
        if (from != "firing") {
          tr.firing_ms = at;
          tr.fired = true;
          ++rs.fired;
        }
        tr.rank = std::max(tr.rank, SeverityRank(Str(t, "severity")));
      }
      if (to == "resolved") {
        const int64_t began = tr.firing_ms >= 0 ? tr.firing_ms : start_ms;
        rs.firing_seconds += Seconds(at - began);
        if (tr.firing_ms >= 0) {
          ttr.push_back(Seconds(at - tr.firing_ms));
          ++rs.resolved;
        }
        tr.firing_ms = -1;
      }
    }
  }
  int fired = 0;
  for (const auto& [id, tr] : tracks) {
    if (!tr.fired || tr.rank < 0) continue;
    ++fired;
    const char* sev = SeverityOfRank(tr.rank);
    by_severity[sev] = by_severity[sev].get<int>() + 1;
    RuleStats& rs = rules[tr.rule];
    rs.by_severity[sev] = rs.by_severity[sev].get<int>() + 1;
  }
  // Active alerts: still firing at the end of the window.
  json active_counts = {{"firing", 0},          {"pending", 0},        {"silenced", 0},
                        {"critical_firing", 0}, {"warning_firing", 0}, {"info_firing", 0}};
  json active_list = json::array();
  if (active.is_array()) {
    for (const auto& a : active) {
      const std::string state = Str(a, "state");
      const bool silenced = Bool(a, "silenced", false);
      if (state == "firing" || state == "pending") {
        active_counts[state] = active_counts[state].get<int>() + 1;
      }
      if (silenced) active_counts["silenced"] = active_counts["silenced"].get<int>() + 1;
      const std::string sev = Str(a, "severity");
      if (state == "firing" && !silenced && SeverityRank(sev) >= 0) {
        const std::string key = sev + "_firing";
        active_counts[key] = active_counts[key].get<int>() + 1;
      }
      if (state == "firing" && a.contains("firing_since") && a["firing_since"].is_number()) {
        const int64_t since = std::max<int64_t>(
            start_ms, static_cast<int64_t>(std::llround(a["firing_since"].get<double>() * 1000)));
        if (since < end_ms) rules[Str(a, "rule")].firing_seconds += Seconds(end_ms - since);
      }
      if (active_list.size() < 100) {
        active_list.push_back({{"rule", Str(a, "rule")},
                               {"state", state},
                               {"severity", sev},
                               {"labels", Obj(a, "labels")},
                               {"value", a.contains("value") ? a["value"] : json()},
                               {"duration_seconds", Dbl(a, "duration_seconds")},
                               {"silenced", silenced},
                               {"summary", Str(a, "summary")}});
      }
    }
  }
  json mttr, max_ttr;
  if (!ttr.empty()) {
    double sum = 0;
    for (double d : ttr) sum += d;
    mttr = sum / static_cast<double>(ttr.size());
    max_ttr = *std::max_element(ttr.begin(), ttr.end());
  }
  std::vector<std::pair<std::string, RuleStats>> ranked(rules.begin(), rules.end());
  ranked.erase(std::remove_if(ranked.begin(), ranked.end(),
                              [](const auto& r) {
                                return r.second.fired == 0 && r.second.pending == 0 &&
                                       r.second.firing_seconds == 0;
                              }),
               ranked.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second.fired != b.second.fired) return a.second.fired > b.second.fired;
    if (a.second.pending != b.second.pending) return a.second.pending > b.second.pending;
    return a.second.firing_seconds > b.second.firing_seconds;
  });
  json top = json::array();
  for (const auto& [rule, rs] : ranked) {
    if (top.size() >= top_rules) break;
    top.push_back({{"rule", rule},
                   {"fired", rs.fired},
                   {"resolved", rs.resolved},
                   {"pending", rs.pending},
                   {"by_severity", rs.by_severity},
                   {"firing_seconds", rs.firing_seconds}});
  }
  return {{"transitions", transitions},
          {"fired", fired},
          {"by_severity", std::move(by_severity)},
          {"resolved", ttr.size()},
          {"mean_time_to_resolve_seconds", mttr},
          {"max_time_to_resolve_seconds", max_ttr},
          {"active", std::move(active_counts)},
          {"active_alerts", std::move(active_list)},
          {"top_rules", std::move(top)}};
}

// ---- engine service levels ---------------------------------------------------------------------

json SummarizeEngine(const SeriesStore& store, int64_t start_ms, int64_t end_ms,
                     double latency_p95_ms, double min_tokens_per_second) {
  struct Entry {
    std::string engine, model;
    json latency, throughput;
  };
  std::map<std::pair<std::string, std::string>, Entry> entries;
  auto entry = [&](const core::Labels& l) -> Entry& {
    std::pair<std::string, std::string> key{LabelOr(l, "engine", ""), LabelOr(l, "model", "")};
    Entry& e = entries[key];
    e.engine = key.first;
    e.model = key.second;
    return e;
  };
  bool any_data = false;
  // Latency: every interval with a p95 (intervals where no request finished have none).
  for (const auto& s :
       Select(store, kLatencyMetric, {{"quantile", core::LabelMatcher::Op::kEqual, "0.95"}})) {
    size_t n = 0, met = 0;
    double sum = 0, worst = -INFINITY;
    for (const auto& p : Points(store, s.id, start_ms, end_ms)) {
      if (!std::isfinite(p.v)) continue;
      const double ms = p.v * 1000.0;
      ++n;
      sum += ms;
      worst = std::max(worst, ms);
      if (ms <= latency_p95_ms) ++met;
    }
    if (n == 0) continue;
    any_data = true;
    entry(s.labels).latency = {{"intervals", n},
                               {"met", met},
                               {"share", static_cast<double>(met) / static_cast<double>(n)},
                               {"mean_ms", sum / static_cast<double>(n)},
                               {"worst_ms", worst}};
  }
  // Throughput: busy intervals only (requests running > 0 at the same tick, when known).
  std::map<std::pair<std::string, std::string>, std::map<int64_t, double>> running;
  for (const auto& s : Select(store, kRunningMetric)) {
    auto& m = running[{LabelOr(s.labels, "engine", ""), LabelOr(s.labels, "model", "")}];
    for (const auto& p : Points(store, s.id, start_ms, end_ms)) m[p.t_ms] = p.v;
  }
  for (const auto& s : Select(store, kThroughputMetric)) {
    const auto run_it =
        running.find({LabelOr(s.labels, "engine", ""), LabelOr(s.labels, "model", "")});
    size_t n = 0, met = 0, idle = 0;
    double sum = 0, lowest = INFINITY;
    for (const auto& p : Points(store, s.id, start_ms, end_ms)) {
      if (!std::isfinite(p.v)) continue;
      if (run_it != running.end()) {
        auto r = run_it->second.find(p.t_ms);
        if (r != run_it->second.end() && !(r->second > 0)) {
          ++idle;
          continue;
        }
      }
      ++n;
      sum += p.v;
      lowest = std::min(lowest, p.v);
      if (p.v >= min_tokens_per_second) ++met;
    }
    if (n == 0 && idle == 0) continue;
    any_data = true;
    entry(s.labels).throughput = {
        {"intervals", n},
        {"idle_intervals", idle},
        {"met", met},
        {"share", n ? json(static_cast<double>(met) / static_cast<double>(n)) : json()},
        {"mean", n ? json(sum / static_cast<double>(n)) : json()},
        {"min", n ? json(lowest) : json()}};
  }
  // Availability per engine.
  std::map<std::string, json> up;
  for (const auto& s : Select(store, kEngineUpMetric)) {
    size_t n = 0, good = 0;
    for (const auto& p : Points(store, s.id, start_ms, end_ms)) {
      ++n;
      if (p.v >= 1) ++good;
    }
    if (n == 0) continue;
    any_data = true;
    up[LabelOr(s.labels, "engine", "")] = {
        {"intervals", n},
        {"up", good},
        {"share", static_cast<double>(good) / static_cast<double>(n)}};
  }
  if (!any_data) return {{"available", false}, {"message", "no engine data"}};
  for (const auto& [engine, u] : up) {
    bool has_entry = false;
    for (const auto& [key, e] : entries) has_entry |= key.first == engine;
    if (!has_entry) entries[{engine, ""}] = Entry{engine, "", json(), json()};
  }
  json engines = json::array();
  for (const auto& [key, e] : entries) {
    auto u = up.find(e.engine);
    engines.push_back(
        {{"engine", e.engine},
         {"model", e.model},
         {"availability", u == up.end() ? json() : u->second},
         {"latency_p95",
          e.latency.is_null() ? json{{"intervals", 0}, {"share", nullptr}} : e.latency},
         {"throughput",
          e.throughput.is_null() ? json{{"intervals", 0}, {"share", nullptr}} : e.throughput}});
  }
  return {{"available", true},
          {"targets",
           {{"latency_p95_ms", latency_p95_ms}, {"min_tokens_per_second", min_tokens_per_second}}},
          {"engines", std::move(engines)}};
}

// ---- the report ----------------------------------------------------------------------------

json BuildReport(const ReportInputs& in, const ReportOptions& o) {
  const int64_t end_ms = o.now_ms;
  const int64_t start_ms = o.now_ms - std::max<int64_t>(o.window_ms, 1000);
  const int64_t interval_ms =
      std::max<int64_t>(static_cast<int64_t>(Dbl(in.status, "interval_ms", 1000)), 1);
  json alerts = SummarizeAlerts(in.alert_history, in.active_alerts, start_ms, end_ms, o.top_rules);
  alerts["history_truncated"] = in.alert_history_truncated;
  json components = ComponentStatus(in, start_ms, end_ms, interval_ms);
  json system = SystemStatus(in, components, alerts, start_ms);
  return {{"kind", "echomon-report"},
          {"format_version", 1},
          {"generated_at", Seconds(o.now_ms)},
          {"version", kVersion},
          {"window",
           {{"start", Seconds(start_ms)},
            {"end", Seconds(end_ms)},
            {"seconds", Seconds(end_ms - start_ms)}}},
          {"system_status", std::move(system)},
          {"performance_summary", PerformanceSummary(*in.store, start_ms, end_ms)},
          {"dashboard_data", DashboardData(*in.store, o, start_ms, end_ms, interval_ms)},
          {"component_status", std::move(components)},
          {"alerts", std::move(alerts)},
          {"incidents", Incidents(in, start_ms)},
          {"engine", SummarizeEngine(*in.store, start_ms, end_ms, o.latency_p95_ms,
                                     o.min_tokens_per_second)}};
}

}  // namespace echomon::report
