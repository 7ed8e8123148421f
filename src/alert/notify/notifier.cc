#include "alert/notify/notifier.h"

#include <fmt/format.h>
#include <time.h>

#include <nlohmann/json.hpp>

namespace echomon::alert {
namespace {

// Shortest text that reads back as the same double ("97.5", not "97.500000").
std::string FormatValue(double v) { return fmt::format("{}", v); }

nlohmann::json LabelsJson(const core::Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& l : labels.items()) out[l.name] = l.value;
  return out;
}

nlohmann::json TimeOrNull(int64_t ms) {
  if (ms == 0) return nullptr;
  return FormatRfc3339(ms);
}

}  // namespace

const char* NotificationStatus(const Notification& n) {
  return n.kind == EventKind::kResolved ? "resolved" : "firing";
}

std::string FormatRfc3339(int64_t ms) {
  if (ms == 0) return "0001-01-01T00:00:00Z";
  int64_t secs = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string GeneratorUrl(const Notification& n) {
  if (n.external_url.empty()) return {};
  std::string base = n.external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/alerts/" + n.alert.id;
}

Notification MakeFiringNotification(const AlertRecord& alert, const std::string& external_url,
                                    const std::map<std::string, std::string>& annotations) {
  AlertEvent event{EventKind::kFiring, alert, alert.severity};
  return MakeNotification(event, alert.firing_since_ms, external_url, annotations);
}

Notification MakeNotification(const AlertEvent& event, int64_t now_ms,
                              const std::string& external_url,
                              const std::map<std::string, std::string>& rule_annotations) {
  Notification n;
  n.kind = event.kind;
  n.alert = event.alert;
  n.previous_severity = event.previous_severity;
  n.external_url = external_url;
  switch (event.kind) {
    case EventKind::kFiring:
      n.at_ms = event.alert.firing_since_ms != 0 ? event.alert.firing_since_ms : now_ms;
      break;
    case EventKind::kResolved:
      n.at_ms = event.alert.resolved_at_ms != 0 ? event.alert.resolved_at_ms : now_ms;
      break;
    case EventKind::kSeverityChanged:
      n.at_ms = now_ms;
      break;
  }
  const AlertRecord& a = event.alert;
  n.annotations["summary"] = a.summary.empty() ? a.rule : a.summary;
  n.annotations["value"] = FormatValue(a.value);
  n.annotations["threshold"] = FormatValue(a.threshold);
  std::string where = a.labels.empty() ? "" : " " + a.labels.ToString();
  n.annotations["description"] =
      event.kind == EventKind::kResolved
          ? fmt::format("{}{} resolved (value {}, threshold {})", a.rule, where,
                        FormatValue(a.value), FormatValue(a.threshold))
          : fmt::format("{}{} is {} (value {}, threshold {})", a.rule, where,
                        SeverityName(a.severity), FormatValue(a.value), FormatValue(a.threshold));
  for (const auto& [k, v] : rule_annotations) n.annotations[k] = v;
  return n;
}

std::string NotificationJson(const Notification& n, bool pretty) {
  const AlertRecord& a = n.alert;
  nlohmann::json alert = {
      {"id", a.id},
      {"fingerprint", a.fingerprint},
      {"rule", a.rule},
      {"labels", LabelsJson(a.labels)},
      {"state", AlertStateName(a.state)},
      {"severity", SeverityName(a.severity)},
      {"value", a.value},
      {"threshold", a.threshold},
      {"summary", a.summary},
      {"active_since", TimeOrNull(a.active_since_ms)},
      {"firing_since", TimeOrNull(a.firing_since_ms)},
      {"resolved_at", TimeOrNull(a.resolved_at_ms)},
  };
  if (n.kind == EventKind::kSeverityChanged) {
    alert["previous_severity"] = SeverityName(n.previous_severity);
  }
  nlohmann::json doc = {
      {"version", 1},
      {"event", EventKindName(n.kind)},
      {"status", NotificationStatus(n)},
      {"at", FormatRfc3339(n.at_ms)},
      {"at_ms", n.at_ms},
      {"alert", std::move(alert)},
      {"annotations", n.annotations},
      {"generator_url", GeneratorUrl(n)},
  };
  // Non-finite values (NaN) have no JSON form; nlohmann writes them as null.
  return doc.dump(pretty ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace echomon::alert
