// HTML rendering of a report: one self-contained page with inline CSS and inline SVG charts,
// readable on screen and on paper (docs/reports.md).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "report/report.h"

namespace echomon::report {
namespace {

using nlohmann::json;

constexpr const char* kPalette[] = {"#2563eb", "#dc2626", "#16a34a", "#d97706",
                                    "#7c3aed", "#0891b2", "#db2777", "#4b5563"};

std::string Printf(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

double Num(const json& j, double dflt = NAN) { return j.is_number() ? j.get<double>() : dflt; }

std::string Str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return j.dump();
}

std::string FormatTime(double unix_seconds, bool with_seconds = true) {
  if (!(unix_seconds > 0)) return "—";
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buf[64];
  strftime(buf, sizeof(buf), with_seconds ? "%Y-%m-%d %H:%M:%S UTC" : "%Y-%m-%d %H:%M UTC",
           &tm_utc);
  return buf;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds)) return "—";
  if (seconds < 1) return Printf("%.2f s", seconds);
  if (seconds < 120) return Printf("%.0f s", seconds);
  const long long s = std::llround(seconds);
  if (s < 7200) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  if (s < 172800) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "—";
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e9 || a < 1e-3)) return Printf("%.3g", v);
  if (a >= 100) return Printf("%.0f", v);
  if (a >= 10) return Printf("%.1f", v);
  return Printf("%.2f", v);
}

std::string FormatCount(double v) {
  return std::isfinite(v) ? std::to_string(std::llround(v)) : "—";
}

std::string FormatBytes(double v) {
  if (!std::isfinite(v)) return "—";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return Printf(u == 0 ? "%.0f" : "%.1f", v) + " " + units[u];
}

std::string FormatShare(const json& share) {
  if (!share.is_number()) return "—";
  return Printf("%.1f%%", share.get<double>() * 100);
}

// Axis labels: short, no trailing zeros.
std::string FormatAxis(double v) {
  const double a = std::fabs(v);
  if (a >= 1e9) return Printf("%gG", v / 1e9);
  if (a >= 1e6) return Printf("%gM", v / 1e6);
  if (a >= 1e4) return Printf("%gk", v / 1e3);
  return Printf("%g", std::round(v * 1000) / 1000);
}

double NiceStep(double range, int ticks) {
  if (!(range > 0)) return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

// How a performance-summary value of the metric is shown: its unit and a value formatter.
struct MetricDisplay {
  std::string title;
  std::string (*format)(double);
};

std::string Percent(double v) { return std::isfinite(v) ? Printf("%.1f %%", v) : "—"; }
std::string Millis(double seconds) {
  return std::isfinite(seconds) ? FormatNumber(seconds * 1000) + " ms" : "—";
}
std::string PerSecond(double v) { return std::isfinite(v) ? FormatNumber(v) + " /s" : "—"; }
std::string Celsius(double v) { return std::isfinite(v) ? Printf("%.0f °C", v) : "—"; }
std::string Plain(double v) { return FormatNumber(v); }

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

MetricDisplay DisplayOf(const std::string& name) {
  if (EndsWith(name, "_percent")) return {name, Percent};
  if (EndsWith(name, "_bytes")) return {name, FormatBytes};
  if (EndsWith(name, "_seconds")) return {name, Millis};
  if (EndsWith(name, "_per_second")) return {name, PerSecond};
  if (EndsWith(name, "_celsius")) return {name, Celsius};
  return {name, Plain};
}

std::string LabelText(const json& labels) {
  std::string out;
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    if (!out.empty()) out += ", ";
    out += k + "=" + Str(v);
  }
  return out;
}

std::string StateClass(const std::string& state, const json& healthy) {
  if (state == "critical") return "bad";
  if (healthy.is_boolean()) return healthy.get<bool>() ? "good" : "bad";
  if (state == "ok" || state == "healthy" || state == "up") return "good";
  if (state == "degraded" || state == "warning") return "warn";
  return "muted";
}

std::string ShareClass(const json& share) {
  if (!share.is_number()) return "muted";
  const double s = share.get<double>();
  return s >= 0.99 ? "good" : s >= 0.9 ? "warn" : "bad";
}

class Html {
 public:
  Html& Raw(const std::string& s) {
    out_ += s;
    return *this;
  }
  Html& Text(const std::string& s) {
    out_ += EscapeHtml(s);
    return *this;
  }
  // <tag attrs>escaped text</tag>
  Html& Element(const std::string& tag, const std::string& text, const std::string& attrs = "") {
    out_ +=
        "<" + tag + (attrs.empty() ? "" : " " + attrs) + ">" + EscapeHtml(text) + "</" + tag + ">";
    return *this;
  }
  Html& Badge(const std::string& text, const std::string& cls) {
    return Element("span", text, "class=\"badge " + cls + "\"");
  }
  void KeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
    out_ += "<table class=\"kv\"><tbody>\n";
    for (const auto& [k, v] : rows) {
      out_ += "<tr>";
      Element("th", k, "scope=\"row\"");
      Element("td", v);
      out_ += "</tr>\n";
    }
    out_ += "</tbody></table>\n";
  }
  void TableHead(const std::vector<std::string>& headers, const std::string& cls = "") {
    out_ += "<table" + (cls.empty() ? std::string() : " class=\"" + cls + "\"") + "><thead><tr>";
    for (const auto& h : headers) Element("th", h, "scope=\"col\"");
    out_ += "</tr></thead><tbody>\n";
  }
  void TableEnd() { out_ += "</tbody></table>\n"; }
  void Row(const std::vector<std::string>& cells) {
    out_ += "<tr>";
    for (const auto& c : cells) Element("td", c);
    out_ += "</tr>\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

constexpr const char* kCss = R"css(
:root { --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #ffffff; --panel: #f9fafb;
  --good: #15803d; --warn: #b45309; --bad: #b91c1c; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; max-width: 1100px; padding: 24px; font-size: 14px;
  line-height: 1.4; }
header { border-bottom: 2px solid var(--fg); margin-bottom: 16px; padding-bottom: 8px; }
h1 { font-size: 24px; margin: 0 0 4px 0; }
h2 { font-size: 18px; margin: 24px 0 8px 0; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px 0; }
p { margin: 6px 0; }
.meta { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: bold;
  font-size: 12px; border: 1px solid currentColor; }
.good { color: var(--good); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px 0; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { background: var(--panel); border-bottom: 1px solid #d1d5db; }
table.kv th { width: 32%; font-weight: normal; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px;
  background: var(--panel); }
.card .value { font-size: 22px; font-weight: bold; }
.card .label { color: var(--muted); font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px;
  width: calc(50% - 6px); background: var(--bg); }
@media (max-width: 900px) { figure { width: 100%; } }
figcaption { font-weight: bold; margin-bottom: 4px; }
svg { display: block; width: 100%; height: auto; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; }
svg .axis { fill: #4b5563; font-size: 13px; }
svg .threshold { stroke: #b91c1c; stroke-width: 1.2; stroke-dasharray: 6 4; }
svg .threshold-label { fill: #b91c1c; font-size: 13px; }
svg .series { fill: none; stroke-width: 1.6; stroke-linejoin: round; stroke-linecap: round; }
svg .empty { fill: #6b7280; font-size: 14px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 4px; }
.swatch { display: inline-block; width: 14px; height: 3px; vertical-align: middle;
  margin-right: 4px; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px;
  border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  figure, table, .cards { break-inside: avoid; }
  figure { border-color: #9ca3af; width: 100%; }
  thead { display: table-header-group; }
}
)css";

}  // namespace

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderSvgChart(const json& chart, int width, int height) {
  const double left = 58, right = width - 14.0, top = 12, bottom = height - 30.0;
  const double t0 = Num(chart.value("start", json()), 0);
  double t1 = Num(chart.value("end", json()), 0);
  if (!(t1 > t0)) t1 = t0 + 1;
  const double gap = Num(chart.value("gap_seconds", json()), INFINITY);
  const json series = chart.value("series", json::array());
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series) {
    for (const auto& p : s.value("points", json::array())) {
      if (!p.is_array() || p.size() < 2 || !p[1].is_number()) continue;
      lo = std::min(lo, p[1].get<double>());
      hi = std::max(hi, p[1].get<double>());
    }
  }
  const bool empty = !(lo <= hi);
  const double threshold = Num(chart.value("threshold", json()));
  if (chart.contains("y_min") && chart["y_min"].is_number())
    lo = std::min(lo, chart["y_min"].get<double>());
  if (chart.contains("y_max") && chart["y_max"].is_number())
    hi = std::max(hi, chart["y_max"].get<double>());
  if (std::isfinite(threshold)) {
    lo = std::min(lo, threshold);
    hi = std::max(hi, threshold * 1.1);
  }
  if (!std::isfinite(lo)) lo = 0;
  if (!std::isfinite(hi)) hi = 1;
  if (hi <= lo) hi = lo + 1;
  const double step = NiceStep(hi - lo, 4);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  auto x_of = [&](double t) { return left + (t - t0) / (t1 - t0) * (right - left); };
  auto y_of = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };
  auto fixed = [](double v) { return Printf("%.1f", v); };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + std::to_string(height) + "\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) +
                    "\" role=\"img\">";
  svg += "<title>" + EscapeHtml(chart.value("title", std::string("chart"))) + "</title>";
  // Horizontal grid and y labels.
  for (double v = lo; v <= hi + step / 2; v += step) {
    const std::string y = fixed(y_of(v));
    svg += "<line class=\"grid\" x1=\"" + fixed(left) + "\" y1=\"" + y + "\" x2=\"" + fixed(right) +
           "\" y2=\"" + y + "\" />";
    svg += "<text class=\"axis\" x=\"" + fixed(left - 6) + "\" y=\"" + fixed(y_of(v) + 4) +
           "\" text-anchor=\"end\">" + EscapeHtml(FormatAxis(v)) + "</text>";
  }
  // Time labels.
  const bool long_window = t1 - t0 > 2 * 86400, short_window = t1 - t0 < 600;
  for (int i = 0; i <= 5; ++i) {
    const double t = t0 + (t1 - t0) * i / 5.0;
    time_t tt = static_cast<time_t>(t);
    struct tm tm_utc;
    gmtime_r(&tt, &tm_utc);
    char buf[32];
    strftime(buf, sizeof(buf),
             long_window    ? "%m-%d %H:%M"
             : short_window ? "%H:%M:%S"
                            : "%H:%M",
             &tm_utc);
    const char* anchor = i == 0 ? "start" : i == 5 ? "end" : "middle";
    svg += "<line class=\"grid\" x1=\"" + fixed(x_of(t)) + "\" y1=\"" + fixed(bottom) + "\" x2=\"" +
           fixed(x_of(t)) + "\" y2=\"" + fixed(bottom + 4) + "\" />";
    svg += "<text class=\"axis\" x=\"" + fixed(x_of(t)) + "\" y=\"" + fixed(bottom + 17) +
           "\" text-anchor=\"" + anchor + "\">" + buf + "</text>";
  }
  svg += "<line class=\"grid\" x1=\"" + fixed(left) + "\" y1=\"" + fixed(bottom) + "\" x2=\"" +
         fixed(right) + "\" y2=\"" + fixed(bottom) + "\" style=\"stroke:#9ca3af\" />";
  if (empty) {
    svg += "<text class=\"empty\" x=\"" + fixed((left + right) / 2) + "\" y=\"" +
           fixed((top + bottom) / 2) + "\" text-anchor=\"middle\">no data in this window</text>";
  }
  size_t index = 0;
  for (const auto& s : series) {
    std::string d;
    double prev_t = -INFINITY;
    bool open = false;
    for (const auto& p : s.value("points", json::array())) {
      if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number()) continue;
      const double t = p[0].get<double>(), v = p[1].get<double>();
      const bool join = open && t - prev_t <= gap;
      d += (join ? " L" : (d.empty() ? "M" : " M")) + fixed(x_of(t)) + " " + fixed(y_of(v));
      if (!join) d += " l0.8 0";  // a point that starts a run stays visible on its own
      prev_t = t;
      open = true;
    }
    if (d.empty()) continue;
    const char* color = kPalette[index++ % (sizeof(kPalette) / sizeof(kPalette[0]))];
    svg += "<path class=\"series\" stroke=\"" + std::string(color) + "\" d=\"" + d + "\"><title>" +
           EscapeHtml(s.value("label", std::string())) + "</title></path>";
  }
  if (std::isfinite(threshold)) {
    const std::string y = fixed(y_of(threshold));
    svg += "<line class=\"threshold\" x1=\"" + fixed(left) + "\" y1=\"" + y + "\" x2=\"" +
           fixed(right) + "\" y2=\"" + y + "\" />";
    svg += "<text class=\"threshold-label\" x=\"" + fixed(right - 4) + "\" y=\"" +
           fixed(y_of(threshold) - 4) + "\" text-anchor=\"end\">" +
           EscapeHtml(chart.value("threshold_label", std::string("threshold")) + " " +
                      FormatAxis(threshold) + " " + chart.value("unit", std::string())) +
           "</text>";
  }
  svg += "</svg>";
  return svg;
}

std::string RenderHtml(const json& report) {
  Html h;
  const json sys = report.value("system_status", json::object());
  const json window = report.value("window", json::object());
  const std::string host = sys.value("hostname", std::string());
  h.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
      .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
      .Raw("<title>")
      .Text("echomon report" + (host.empty() ? "" : " — " + host) + " — " +
            FormatTime(Num(report.value("generated_at", json()), 0), false))
      .Raw("</title>\n<style>")
      .Raw(kCss)
      .Raw("</style>\n</head>\n<body>\n");

  // Header.
  const std::string overall = sys.value("overall", std::string("unknown"));
  h.Raw("<header>\n<h1>");
  h.Text("echomon report" + (host.empty() ? "" : ": " + host));
  h.Raw("</h1>\n<p class=\"meta\">");
  h.Text("Window " + FormatTime(Num(window.value("start", json()), 0)) + " → " +
         FormatTime(Num(window.value("end", json()), 0)) + " (" +
         FormatDuration(Num(window.value("seconds", json()), 0)) + "). Generated by echomon " +
         report.value("version", std::string()) + ".");
  h.Raw("</p>\n<p>Overall: ");
  h.Badge(overall, StateClass(overall, json()));
  h.Raw("</p>\n");
  const json problems = sys.value("problems", json::array());
  if (!problems.empty()) {
    h.Raw("<ul class=\"problems\">\n");
    for (const auto& p : problems) h.Element("li", Str(p)).Raw("\n");
    h.Raw("</ul>\n");
  }
  h.Raw("</header>\n<main>\n");

  // System status.
  h.Raw("<section id=\"system\">\n<h2>System status</h2>\n");
  const json hs = sys.value("host", json::object());
  const json store = sys.value("store", json::object());
  h.KeyValues({
      {"Monitoring", sys.value("monitoring", false) ? "yes" : "no"},
      {"Agent started", FormatTime(Num(sys.value("started_at", json()), 0))},
      {"Uptime", FormatDuration(Num(sys.value("uptime_seconds", json()), 0))},
      {"Collection interval", std::to_string(sys.value("interval_ms", 0)) + " ms"},
      {"Configuration", sys.value("config", std::string())},
      {"CPU usage (latest)", Percent(Num(hs.value("cpu_percent", json())))},
      {"Memory used (latest)", Percent(Num(hs.value("memory_percent", json())))},
      {"Root filesystem used (latest)", Percent(Num(hs.value("root_disk_percent", json())))},
      {"Load (1 min)", FormatNumber(Num(hs.value("load1", json())))},
      {"Store", FormatCount(Num(store.value("series", json()), 0)) + " series, " +
                    FormatBytes(Num(store.value("memory_bytes", json()), 0)) + " in memory"},
  });
  h.Raw("</section>\n");

  // Components.
  h.Raw("<section id=\"components\">\n<h2>Component status</h2>\n");
  h.TableHead({"Component", "Kind", "State", "Detail"});
  for (const auto& c : report.value("component_status", json::array())) {
    const std::string state = c.value("state", std::string());
    h.Raw("<tr>")
        .Element("td", c.value("name", std::string()))
        .Element("td", c.value("kind", std::string()));
    h.Raw("<td>").Badge(state, StateClass(state, c.value("healthy", json()))).Raw("</td>");
    h.Element("td", c.value("detail", std::string())).Raw("</tr>\n");
  }
  h.TableEnd();
  h.Raw("</section>\n");

  // Charts.
  const json dash = report.value("dashboard_data", json::object());
  h.Raw("<section id=\"charts\">\n<h2>Charts</h2>\n<p class=\"meta\">");
  h.Text("Averages over " + FormatDuration(Num(dash.value("step_seconds", json()), 0)) +
         " steps; gaps where no data was collected. Times in UTC.");
  h.Raw("</p>\n<div class=\"charts\">\n");
  for (const auto& chart : dash.value("charts", json::array())) {
    h.Raw("<figure id=\"chart-" + EscapeHtml(chart.value("id", std::string())) +
          "\">\n<figcaption>");
    h.Text(chart.value("title", std::string()) + " (" + chart.value("unit", std::string()) + ")");
    h.Raw("</figcaption>\n").Raw(RenderSvgChart(chart)).Raw("\n<div class=\"legend\">");
    size_t index = 0;
    for (const auto& s : chart.value("series", json::array())) {
      const char* color = kPalette[index++ % (sizeof(kPalette) / sizeof(kPalette[0]))];
      h.Raw("<span><span class=\"swatch\" style=\"background:" + std::string(color) + "\"></span>");
      h.Text(s.value("label", std::string())).Raw("</span>");
    }
    h.Raw("</div>\n</figure>\n");
  }
  h.Raw("</div>\n</section>\n");

  // Performance summary.
  h.Raw("<section id=\"performance\">\n<h2>Performance summary</h2>\n");
  const json metrics =
      report.value("performance_summary", json::object()).value("metrics", json::array());
  if (metrics.empty()) {
    h.Element("p", "No samples in this window.", "class=\"muted\"");
  } else {
    h.TableHead({"Metric", "Labels", "Latest", "Average", "Min", "Max", "p95", "Samples"});
    for (const auto& m : metrics) {
      const MetricDisplay d = DisplayOf(m.value("name", std::string()));
      h.Row({d.title, LabelText(m.value("labels", json::object())), d.format(Num(m["current"])),
             d.format(Num(m["average"])), d.format(Num(m["min"])), d.format(Num(m["max"])),
             d.format(Num(m["p95"])), FormatCount(Num(m["samples"]))});
    }
    h.TableEnd();
  }
  h.Raw("</section>\n");

  // Alerts.
  const json alerts = report.value("alerts", json::object());
  const json sev = alerts.value("by_severity", json::object());
  h.Raw("<section id=\"alerts\">\n<h2>Alerts</h2>\n<div class=\"cards\">\n");
  auto card = [&](const std::string& value, const std::string& label, const std::string& cls) {
    h.Raw("<div class=\"card\"><div class=\"value " + cls + "\">").Text(value);
    h.Raw("</div><div class=\"label\">").Text(label).Raw("</div></div>\n");
  };
  card(std::to_string(alerts.value("fired", 0)), "alerts fired", "");
  card(std::to_string(sev.value("critical", 0)), "critical", sev.value("critical", 0) ? "bad" : "");
  card(std::to_string(sev.value("warning", 0)), "warning", sev.value("warning", 0) ? "warn" : "");
  card(std::to_string(sev.value("info", 0)), "info", "");
  card(std::to_string(alerts.value("resolved", 0)), "resolved", "");
  card(FormatDuration(Num(alerts.value("mean_time_to_resolve_seconds", json()))),
       "mean time to resolve", "");
  h.Raw("</div>\n");
  if (alerts.value("history_truncated", false)) {
    h.Element("p",
              "The alert history of this window was longer than the report reads; counts are "
              "lower bounds.",
              "class=\"warn\"");
  }
  h.Raw("<h3>Noisiest rules</h3>\n");
  const json top = alerts.value("top_rules", json::array());
  if (top.empty()) {
    h.Element("p", "No alert fired in this window.", "class=\"muted\"");
  } else {
    h.TableHead({"Rule", "Fired", "Critical", "Warning", "Info", "Went pending", "Resolved",
                 "Time firing"});
    for (const auto& r : top) {
      const json rs = r.value("by_severity", json::object());
      h.Row({r.value("rule", std::string()), std::to_string(r.value("fired", 0)),
             std::to_string(rs.value("critical", 0)), std::to_string(rs.value("warning", 0)),
             std::to_string(rs.value("info", 0)), std::to_string(r.value("pending", 0)),
             std::to_string(r.value("resolved", 0)),
             FormatDuration(Num(r.value("firing_seconds", json()), 0))});
    }
    h.TableEnd();
  }
  h.Raw("<h3>Active now</h3>\n");
  const json active = alerts.value("active_alerts", json::array());
  if (active.empty()) {
    h.Element("p", "No active alerts.", "class=\"good\"");
  } else {
    h.TableHead({"Rule", "State", "Severity", "Value", "For", "Labels", "Summary"});
    for (const auto& a : active) {
      const std::string severity = a.value("severity", std::string());
      h.Raw("<tr>").Element("td", a.value("rule", std::string()));
      h.Element("td", a.value("state", std::string()) +
                          (a.value("silenced", false) ? " (silenced)" : ""));
      h.Raw("<td>").Badge(severity, severity == "critical"  ? "bad"
                                    : severity == "warning" ? "warn"
                                                            : "muted");
      h.Raw("</td>").Element("td", FormatNumber(Num(a.value("value", json()))));
      h.Element("td", FormatDuration(Num(a.value("duration_seconds", json()), 0)));
      h.Element("td", LabelText(a.value("labels", json::object())));
      h.Element("td", a.value("summary", std::string())).Raw("</tr>\n");
    }
    h.TableEnd();
  }
  h.Raw("</section>\n");

  // Incidents.
  const json inc = report.value("incidents", json::object());
  h.Raw("<section id=\"incidents\">\n<h2>Incidents</h2>\n");
  if (!inc.value("enabled", false)) {
    h.Element("p", inc.value("message", std::string("incident response not enabled")),
              "class=\"muted\"");
  } else {
    const json w = inc.value("window", json::object());
    h.Raw("<div class=\"cards\">\n");
    card(std::to_string(w.value("opened", 0)), "incidents opened", "");
    card(std::to_string(w.value("resolved", 0)), "resolved", "");
    card(std::to_string(w.value("escalated", 0)), "escalated",
         w.value("escalated", 0) ? "warn" : "");
    card(std::to_string(w.value("failed", 0)), "failed", w.value("failed", 0) ? "bad" : "");
    card(std::to_string(w.value("active", 0)), "open now", "");
    card(FormatDuration(Num(w.value("mean_time_to_resolve_seconds", json()))),
         "mean time to resolve", "");
    h.Raw("</div>\n<h3>Response statistics (all time)</h3>\n");
    std::vector<std::pair<std::string, std::string>> rows;
    const json stats = inc.value("stats", json::object());
    for (const auto& [k, v] : stats.items()) {
      if (v.is_object() || v.is_array()) continue;  // per-playbook breakdowns: in the JSON
      std::string text = Str(v);
      if (v.is_number_float()) {
        text = k.find("rate") != std::string::npos && v.get<double>() <= 1
                   ? Printf("%.1f%%", v.get<double>() * 100)
               : k.find("seconds") != std::string::npos ? FormatDuration(v.get<double>())
                                                        : FormatNumber(v.get<double>());
      }
      rows.emplace_back(k, text);
    }
    if (rows.empty()) {
      h.Element("p", "No incident statistics.", "class=\"muted\"");
    } else {
      h.KeyValues(rows);
    }
    h.Raw("<h3>Incidents of this window</h3>\n");
    const json recent = inc.value("recent", json::array());
    if (recent.empty()) {
      h.Element("p", "No incidents in this window.", "class=\"good\"");
    } else {
      // Columns: the first keys of the preferred list that the incidents have.
      static const char* kPreferred[] = {
          "id",        "state",       "status",           "priority",    "alertname",
          "rule",      "severity",    "playbook",         "opened_at",   "created_at",
          "closed_at", "resolved_at", "duration_seconds", "acknowledged"};
      std::vector<std::string> columns;
      for (const char* k : kPreferred) {
        for (const auto& i : recent) {
          if (i.is_object() && i.contains(k)) {
            columns.push_back(k);
            break;
          }
        }
      }
      h.TableHead(columns);
      for (const auto& i : recent) {
        std::vector<std::string> cells;
        for (const auto& c : columns) {
          const json v = i.is_object() ? i.value(c, json()) : json();
          cells.push_back(EndsWith(c, "_at") && v.is_number() ? FormatTime(v.get<double>())
                          : EndsWith(c, "_seconds") && v.is_number()
                              ? FormatDuration(v.get<double>())
                              : Str(v));
        }
        h.Row(cells);
      }
      h.TableEnd();
    }
  }
  h.Raw("</section>\n");

  // Engine service levels.
  const json engine = report.value("engine", json::object());
  h.Raw("<section id=\"engine\">\n<h2>Engine service levels</h2>\n");
  if (!engine.value("available", false)) {
    h.Element("p", engine.value("message", std::string("no engine data")), "class=\"muted\"");
  } else {
    const json targets = engine.value("targets", json::object());
    h.Element("p",
              "Targets: p95 request latency at most " +
                  FormatNumber(Num(targets.value("latency_p95_ms", json()))) +
                  " ms; generation throughput at least " +
                  FormatNumber(Num(targets.value("min_tokens_per_second", json()))) +
                  " tokens/s while requests are running. Shares count collection intervals.",
              "class=\"meta\"");
    h.TableHead({"Engine / model", "Up", "Latency met", "Intervals", "Mean p95", "Worst p95",
                 "Throughput met", "Busy intervals", "Mean tokens/s", "Min tokens/s"});
    for (const auto& e : engine.value("engines", json::array())) {
      const json up = e.value("availability", json());
      const json lat = e.value("latency_p95", json::object());
      const json tps = e.value("throughput", json::object());
      std::string name = e.value("engine", std::string());
      if (!e.value("model", std::string()).empty()) name += " / " + e["model"].get<std::string>();
      h.Raw("<tr>").Element("td", name);
      const json up_share = up.is_object() ? up.value("share", json()) : json();
      h.Raw("<td>").Badge(FormatShare(up_share), ShareClass(up_share)).Raw("</td>");
      h.Raw("<td>")
          .Badge(FormatShare(lat.value("share", json())), ShareClass(lat.value("share", json())))
          .Raw("</td>");
      h.Element("td", std::to_string(lat.value("met", 0)) + " / " +
                          std::to_string(lat.value("intervals", 0)));
      h.Element("td", FormatNumber(Num(lat.value("mean_ms", json()))) + " ms");
      h.Element("td", FormatNumber(Num(lat.value("worst_ms", json()))) + " ms");
      h.Raw("<td>")
          .Badge(FormatShare(tps.value("share", json())), ShareClass(tps.value("share", json())))
          .Raw("</td>");
      h.Element("td", std::to_string(tps.value("met", 0)) + " / " +
                          std::to_string(tps.value("intervals", 0)));
      h.Element("td", FormatNumber(Num(tps.value("mean", json()))));
      h.Element("td", FormatNumber(Num(tps.value("min", json()))));
      h.Raw("</tr>\n");
    }
    h.TableEnd();
  }
  h.Raw("</section>\n</main>\n<footer>\n");
  h.Text("echomon " + report.value("version", std::string()) + " · report format " +
         std::to_string(report.value("format_version", 0)) + " · generated " +
         FormatTime(Num(report.value("generated_at", json()), 0)) +
         " · the same data is available as JSON from /api/v1/report?format=json");
  h.Raw("\n</footer>\n</body>\n</html>\n");
  return h.Take();
}

}  // namespace echomon::report
