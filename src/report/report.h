// Reports: one document that says how the host and the inference engine did over a window —
// the prototype's comprehensive status (system status, performance summary, dashboard data,
// component status) plus alert, incident and engine service-level summaries and charts.
// docs/reports.md describes the JSON format and the HTML rendering.
//
//   report::ReportInputs in;  in.store = store; in.status = status_json; ...
//   report::ReportOptions o;  o.now_ms = clock->NowMillis(); o.window_ms = 24h;
//   nlohmann::json doc = report::BuildReport(in, o);
//   std::string page = report::RenderHtml(doc);  // self-contained, printable, no JavaScript
//
// Every function here is pure apart from reading the store: it never fails; missing inputs
// become explicit "not available" entries in the document. Thread-safety: all functions may be
// called concurrently (the store is thread-safe; nothing else is shared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "store/series_store.h"

namespace echomon::report {

// What a report is built from. The JSON values are the agent's API bodies; a null value means
// "this part of the agent is not running" (e.g. incident response not enabled).
struct ReportInputs {
  const store::SeriesStore* store = nullptr;  // borrowed; required
  nlohmann::json status;                      // GET /api/v1/status body
  nlohmann::json active_alerts;               // GET /api/v1/alerts data
  nlohmann::json alert_history;               // GET /api/v1/alerts/history data (window start on)
  bool alert_history_truncated = false;       // the history hit its limit
  nlohmann::json components;                  // SourceRegistry "components.status", or null
  nlohmann::json incident_stats;              // SourceRegistry "incidents.stats", or null
  nlohmann::json incidents;                   // SourceRegistry "incidents.list", or null
};

struct ReportOptions {
  int64_t now_ms = 0;                      // the window ends here
  int64_t window_ms = 24LL * 3600 * 1000;  // and starts window_ms earlier
  double latency_p95_ms = 5000;            // engine SLO: p95 request latency at most this
  double min_tokens_per_second = 10;       // engine SLO: generation throughput at least this
  int chart_points = 300;                  // points per chart series (step aggregation)
  size_t top_rules = 5;                    // noisiest rules listed
};

// The whole report (docs/reports.md).
nlohmann::json BuildReport(const ReportInputs& inputs, const ReportOptions& options);

// Alert statistics over [start_ms, end_ms] from the transitions (oldest first) and the active
// alerts: alerts fired by highest severity, resolved, mean time to resolve (firing → resolved,
// for alerts that fired and resolved inside the window), the noisiest rules.
nlohmann::json SummarizeAlerts(const nlohmann::json& history, const nlohmann::json& active,
                               int64_t start_ms, int64_t end_ms, size_t top_rules);

// Engine service levels over [start_ms, end_ms] from the echomon_engine_* series: per engine
// and model, the share of intervals whose p95 request latency met latency_p95_ms and the share
// of busy intervals whose generation throughput met min_tokens_per_second.
// {"available": false, "message": "no engine data"} when no engine series has data.
nlohmann::json SummarizeEngine(const store::SeriesStore& store, int64_t start_ms, int64_t end_ms,
                               double latency_p95_ms, double min_tokens_per_second);

// The report as one self-contained HTML page: inline CSS (with print rules), inline SVG line
// charts, tables; no JavaScript, no external resources. Text from the report is escaped.
std::string RenderHtml(const nlohmann::json& report);

// One chart ({"title", "unit", "y_min"?, "y_max"?, "threshold"?, "series": [{"label",
// "points": [[t, v], ...]}]}) as an inline <svg> element with one <path> per series. Points
// more than gap_seconds apart are not joined.
std::string RenderSvgChart(const nlohmann::json& chart, int width = 760, int height = 240);

// "&", "<", ">", '"', "'" as entities.
std::string EscapeHtml(const std::string& text);

}  // namespace echomon::report
