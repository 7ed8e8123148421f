#include "collect/push/component_registry.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "collect/expfmt/parser.h"

namespace echomon::collect::push {
namespace {

using nlohmann::json;

constexpr int64_t kMaxFutureMs = 5 * 60'000;
constexpr size_t kMaxLabelValueBytes = 1024;
constexpr size_t kMaxHelpPoolBytes = 1 << 20;
constexpr int kMaxJsonDepth = 8;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Nesting depth of a JSON text, counted outside strings; stops counting past max.
int JsonDepth(std::string_view text, int max) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > max) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; users need the rest.
std::string JsonMessage(const std::exception& e) {
  std::string m = e.what();
  if (!m.empty() && m[0] == '[') {
    size_t end = m.find("] ");
    if (end != std::string::npos) m = m.substr(end + 2);
  }
  return m;
}

Status ReadValue(const std::string& name, const json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return Status::Ok();
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
      return Status::Ok();
    }
    if (s == "+Inf" || s == "Inf") {
      *out = std::numeric_limits<double>::infinity();
      return Status::Ok();
    }
    if (s == "-Inf") {
      *out = -std::numeric_limits<double>::infinity();
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("metrics." + name +
                                 ": value must be a number (or \"NaN\", \"+Inf\", \"-Inf\"), got " +
                                 std::string(v.type_name()));
}

bool IsCounterLike(expfmt::MetricType type) {
  return type == expfmt::MetricType::kCounter || type == expfmt::MetricType::kHistogram ||
         type == expfmt::MetricType::kSummary || type == expfmt::MetricType::kGaugeHistogram;
}

}  // namespace

bool ValidMetricName(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  if (!IsAlpha(name[0]) && name[0] != '_' && name[0] != ':') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == ':'; });
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.substr(0, 2) == "__") return false;
  if (!IsAlpha(name[0]) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; });
}

bool ValidComponentName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

const char* ComponentSourceName(ComponentSource source) {
  return source == ComponentSource::kExec ? "exec" : "push";
}

Result<JsonPush> ParsePushJson(std::string_view body, const PushLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return Status::ResourceExhausted("body of " + std::to_string(body.size()) +
                                     " bytes exceeds max_body (" +
                                     std::to_string(limits.max_body_bytes) + " bytes)");
  }
  if (JsonDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                   " levels");
  }
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const std::exception& e) {
    return Status::InvalidArgument("malformed JSON: " + JsonMessage(e));
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string("expected a JSON object, got ") + doc.type_name());
  }
  JsonPush push;
  for (const auto& [key, value] : doc.items()) {
    if (key == "component") {
      if (!value.is_string()) {
        return Status::InvalidArgument(std::string("component: expected a string, got ") +
                                       value.type_name());
      }
      push.component = value.get<std::string>();
      if (!ValidComponentName(push.component)) {
        return Status::InvalidArgument("component: '" + push.component +
                                       "' is not a valid name ([a-zA-Z0-9_.:-], 1 to 64 bytes)");
      }
    } else if (key == "metrics") {
      if (!value.is_object()) {
        return Status::InvalidArgument(std::string("metrics: expected an object of name: value, "
                                                   "got ") +
                                       value.type_name());
      }
      if (value.size() > limits.max_series_per_component) {
        return Status::ResourceExhausted("metrics: " + std::to_string(value.size()) +
                                         " metrics exceed max_series_per_component (" +
                                         std::to_string(limits.max_series_per_component) + ")");
      }
      for (const auto& [name, v] : value.items()) {
        if (!ValidMetricName(name)) {
          return Status::InvalidArgument("metrics: '" + name +
                                         "' is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
        }
        double d = 0;
        if (Status s = ReadValue(name, v, &d); !s.ok()) return s;
        push.metrics.emplace_back(name, d);
      }
    } else if (key == "labels") {
      if (!value.is_object()) {
        return Status::InvalidArgument(
            std::string("labels: expected an object of name: string, got ") + value.type_name());
      }
      if (value.size() > limits.max_labels_per_series) {
        return Status::ResourceExhausted("labels: " + std::to_string(value.size()) +
                                         " labels exceed max_labels_per_series (" +
                                         std::to_string(limits.max_labels_per_series) + ")");
      }
      for (const auto& [name, v] : value.items()) {
        if (!ValidLabelName(name)) {
          return Status::InvalidArgument("labels: '" + name +
                                         "' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, "
                                         "not starting with __)");
        }
        if (!v.is_string()) {
          return Status::InvalidArgument("labels." + name + ": expected a string, got " +
                                         std::string(v.type_name()));
        }
        const auto& text = v.get_ref<const std::string&>();
        if (text.size() > kMaxLabelValueBytes) {
          return Status::InvalidArgument("labels." + name + ": value longer than " +
                                         std::to_string(kMaxLabelValueBytes) + " bytes");
        }
        push.labels.Set(name, text);
      }
    } else if (key == "timestamp") {
      if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0) {
        return Status::InvalidArgument("timestamp: expected Unix seconds (a number >= 0)");
      }
      push.timestamp_s = value.get<double>();
    } else {
      return Status::InvalidArgument("unknown key '" + key +
                                     "' (expected component, metrics, labels, timestamp)");
    }
  }
  if (!doc.contains("metrics")) return Status::InvalidArgument("metrics: missing");
  return push;
}

ComponentRegistry::ComponentRegistry(Clock* clock, PushLimits limits)
    : clock_(clock != nullptr ? clock : SystemClock::Get()), limits_(limits) {}

void ComponentRegistry::SetLimits(const PushLimits& limits) {
  std::lock_guard<std::mutex> lock(mu_);
  limits_ = limits;
}

PushLimits ComponentRegistry::limits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return limits_;
}

Status ComponentRegistry::Push(const std::string& component, std::vector<ComponentSeries> series,
                               std::optional<int64_t> timestamp_ms) {
  const int64_t now = clock_->NowMillis();
  auto fail = [&](Status s) {
    RecordPushError(component, s.message());
    return s;
  };
  if (!ValidComponentName(component)) {
    return fail(Status::InvalidArgument(
        component.empty() ? "component name missing: give \"component\" in the JSON body or "
                            "?component=NAME"
                          : "component '" + component +
                                "' is not a valid name ([a-zA-Z0-9_.:-], 1 to 64 bytes)"));
  }
  PushLimits limits = this->limits();
  for (const auto& s : series) {
    if (!ValidMetricName(s.name)) {
      return fail(Status::InvalidArgument("'" + s.name + "' is not a valid metric name"));
    }
    if (s.name.rfind("echomon_", 0) == 0) {
      return fail(Status::InvalidArgument("metric '" + s.name +
                                          "': names starting with echomon_ are reserved for the "
                                          "agent's own metrics"));
    }
    if (s.labels.Get("component") != nullptr) {
      return fail(Status::InvalidArgument(
          "metric '" + s.name +
          "': label 'component' is reserved (echomon sets it to the component's name)"));
    }
    if (s.labels.size() > limits.max_labels_per_series) {
      return fail(Status::ResourceExhausted("metric '" + s.name +
                                            "': " + std::to_string(s.labels.size()) +
                                            " labels exceed max_labels_per_series (" +
                                            std::to_string(limits.max_labels_per_series) + ")"));
    }
  }
  if (timestamp_ms) {
    if (*timestamp_ms > now + kMaxFutureMs) {
      return fail(Status::InvalidArgument("timestamp: more than 5 minutes in the future"));
    }
    if (*timestamp_ms < now - limits.staleness_ms) {
      return fail(Status::InvalidArgument("timestamp: older than the staleness period (" +
                                          std::to_string(limits.staleness_ms / 1000) + " s)"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = components_.find(component);
  auto fail_locked = [&](Status st) {
    if (it != components_.end()) {
      ++it->second.errors_total;
      it->second.last_ok = false;
      it->second.last_error = st.message();
      it->second.last_error_ms = now;
    } else {
      ++rejected_without_component_;
    }
    return st;
  };
  if (it != components_.end() && it->second.source == ComponentSource::kExec) {
    return fail_locked(Status::InvalidArgument("component '" + component +
                                               "' is an exec component; it cannot be pushed to"));
  }
  if (it == components_.end() && components_.size() >= limits_.max_components) {
    return fail_locked(Status::ResourceExhausted("component '" + component +
                                                 "' would exceed max_components (" +
                                                 std::to_string(limits_.max_components) + ")"));
  }
  // The series after this push: pushed names replace all series of those names.
  std::map<std::string, ComponentSeries> next;
  std::unordered_set<std::string> pushed_names;
  for (const auto& s : series) pushed_names.insert(s.name);
  if (it != components_.end()) {
    for (const auto& [key, s] : it->second.series) {
      if (pushed_names.count(s.name) == 0) next.emplace(key, s);
    }
  }
  const size_t samples = series.size();
  for (auto& s : series) {
    std::string key = core::SeriesKey(s.name, s.labels);
    next[key] = std::move(s);
  }
  if (next.size() > limits_.max_series_per_component) {
    return fail_locked(Status::ResourceExhausted(
        "component '" + component + "' would hold " + std::to_string(next.size()) +
        " series, more than max_series_per_component (" +
        std::to_string(limits_.max_series_per_component) + ")"));
  }
  Component& c = components_[component];
  c.source = ComponentSource::kPush;
  c.series = std::move(next);
  c.last_seen_ms = timestamp_ms ? std::min(*timestamp_ms, now) : now;
  c.last_ok = true;
  c.samples_total += samples;
  return Status::Ok();
}

Result<size_t> ComponentRegistry::PushJson(std::string_view body,
                                           const std::string& query_component) {
  auto parsed = ParsePushJson(body, limits());
  if (!parsed.ok()) {
    RecordPushError(query_component, parsed.status().message());
    return parsed.status();
  }
  JsonPush& push = *parsed;
  std::string component = push.component.empty() ? query_component : push.component;
  if (!push.component.empty() && !query_component.empty() && push.component != query_component) {
    Status s = Status::InvalidArgument("component '" + push.component +
                                       "' in the body differs from ?component=" + query_component);
    RecordPushError(query_component, s.message());
    return s;
  }
  std::vector<ComponentSeries> series;
  series.reserve(push.metrics.size());
  for (auto& [name, value] : push.metrics) {
    ComponentSeries s;
    s.name = name;
    s.labels = push.labels;
    s.value = value;
    s.type = EndsWith(name, "_total") ? core::MetricType::kCounter : core::MetricType::kGauge;
    series.push_back(std::move(s));
  }
  std::optional<int64_t> ts;
  if (push.timestamp_s) {
    const double ms = *push.timestamp_s * 1000.0;
    ts = ms > 9.0e15 ? static_cast<int64_t>(9.0e15) : static_cast<int64_t>(ms);
  }
  const size_t n = series.size();
  if (Status s = Push(component, std::move(series), ts); !s.ok()) return s;
  return n;
}

Result<size_t> ComponentRegistry::PushText(std::string_view body, std::string_view content_type,
                                           const std::string& component) {
  const PushLimits limits = this->limits();
  if (!ValidComponentName(component)) {
    // Push() words the error; an empty series list gets that far without parsing.
    if (Status s = Push(component, {}); !s.ok()) return s;
  }
  expfmt::ParseLimits parse_limits;
  parse_limits.max_body_bytes = limits.max_body_bytes;
  parse_limits.max_samples = limits.max_series_per_component;
  parse_limits.max_labels_per_series = limits.max_labels_per_series;
  const expfmt::Format format = expfmt::FormatFromContentType(content_type);
  expfmt::ParseError error;
  auto families = expfmt::Parse(body, format, parse_limits, &error);
  if (!families.ok()) {
    std::string message = std::string(expfmt::FormatName(format)) + " " + error.ToString();
    if (error.resource_exhausted && error.message.find("max_samples") != std::string::npos) {
      message = "more than max_series_per_component (" +
                std::to_string(limits.max_series_per_component) + ") series (" +
                std::string(expfmt::FormatName(format)) + " line " + std::to_string(error.line) +
                ")";
    }
    RecordPushError(component, message);
    return Status(families.status().code(), message);
  }
  std::unordered_set<std::string> counter_like_bases;
  for (const auto& family : *families) {
    if (IsCounterLike(family.type)) {
      counter_like_bases.insert(EndsWith(family.name, "_total")
                                    ? family.name.substr(0, family.name.size() - 6)
                                    : family.name);
    }
  }
  std::vector<ComponentSeries> series;
  for (auto& family : *families) {
    const core::MetricType type = expfmt::StoredMetricType(family.type);
    for (auto& sample : family.samples) {
      if (EndsWith(sample.name, "_created")) {
        std::string base = sample.name.substr(0, sample.name.size() - 8);
        if (IsCounterLike(family.type) || counter_like_bases.count(base) > 0) continue;
      }
      series.push_back(
          ComponentSeries{sample.name, std::move(sample.labels), sample.value, type, family.help});
    }
  }
  const size_t n = series.size();
  if (Status s = Push(component, std::move(series)); !s.ok()) return s;
  return n;
}

void ComponentRegistry::RecordPushError(const std::string& component, const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = components_.find(component);
  if (it == components_.end()) {
    ++rejected_without_component_;
    return;
  }
  ++it->second.errors_total;
  it->second.last_ok = false;
  it->second.last_error = message;
  it->second.last_error_ms = clock_->NowMillis();
}

void ComponentRegistry::DeclareExec(const std::string& component) {
  std::lock_guard<std::mutex> lock(mu_);
  Component& c = components_[component];
  if (c.source != ComponentSource::kExec) {
    c = Component{};
    c.source = ComponentSource::kExec;
  }
}

void ComponentRegistry::SetExecResult(const std::string& component,
                                      Result<std::vector<ComponentSeries>> result) {
  std::lock_guard<std::mutex> lock(mu_);
  Component& c = components_[component];
  c.source = ComponentSource::kExec;
  c.series.clear();
  const int64_t now = clock_->NowMillis();
  if (!result.ok()) {
    ++c.errors_total;
    c.last_ok = false;
    c.last_error = result.status().message();
    c.last_error_ms = now;
    return;
  }
  for (auto& s : *result) {
    std::string key = core::SeriesKey(s.name, s.labels);
    c.series[key] = std::move(s);
  }
  c.samples_total += c.series.size();
  c.last_seen_ms = now;
  c.last_ok = true;
}

bool ComponentRegistry::Remove(const std::string& component) {
  std::lock_guard<std::mutex> lock(mu_);
  return components_.erase(component) > 0;
}

std::vector<std::string> ComponentRegistry::Names(ComponentSource source) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, c] : components_) {
    if (c.source == source) out.push_back(name);
  }
  return out;
}

bool ComponentRegistry::StaleLocked(const Component& c, int64_t now_ms) const {
  if (c.source != ComponentSource::kPush) return false;
  return c.last_seen_ms == 0 || now_ms - c.last_seen_ms > limits_.staleness_ms;
}

std::string_view ComponentRegistry::Intern(const std::string& text) {
  if (text.empty()) return {};
  auto it = strings_.find(text);
  if (it != strings_.end()) return *it;
  if (string_bytes_ + text.size() > kMaxHelpPoolBytes) return {};
  string_bytes_ += text.size();
  return *strings_.insert(text).first;
}

void ComponentRegistry::Emit(core::SampleBatch& out) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  for (const auto& [name, c] : components_) {
    const bool stale = StaleLocked(c, now);
    if (!stale) {
      for (const auto& [key, s] : c.series) {
        core::Labels labels = s.labels;
        labels.Set("component", name);
        out.push_back(core::Sample{s.name, std::move(labels), s.value, s.type, Intern(s.help)});
      }
    }
    const core::Labels self{{"component", name}, {"source", ComponentSourceName(c.source)}};
    const bool healthy = !stale && c.last_ok;
    out.push_back({"echomon_component_up", self, healthy ? 1.0 : 0.0, core::MetricType::kGauge,
                   "1 when the component reported recently and its last push or run succeeded."});
    if (c.last_seen_ms > 0) {
      out.push_back({"echomon_component_last_seen_timestamp_seconds", self,
                     static_cast<double>(c.last_seen_ms) / 1000.0, core::MetricType::kGauge,
                     "Unix time of the component's last accepted push or successful run."});
    }
    out.push_back({"echomon_component_series", self,
                   stale ? 0.0 : static_cast<double>(c.series.size()), core::MetricType::kGauge,
                   "Series of the component emitted this tick."});
    out.push_back({"echomon_component_samples_total", self, static_cast<double>(c.samples_total),
                   core::MetricType::kCounter, "Samples accepted from the component."});
    out.push_back({"echomon_component_errors_total", self, static_cast<double>(c.errors_total),
                   core::MetricType::kCounter, "Rejected pushes or failed runs of the component."});
  }
  out.push_back({"echomon_push_rejected_total",
                 {},
                 static_cast<double>(rejected_without_component_),
                 core::MetricType::kCounter,
                 "Pushes rejected before they named a known component."});
}

ComponentStatus ComponentRegistry::StatusLocked(const std::string& name, const Component& c,
                                                int64_t now) const {
  ComponentStatus s;
  s.name = name;
  s.source = c.source;
  s.stale = StaleLocked(c, now);
  s.healthy = !s.stale && c.last_ok;
  s.last_seen_ms = c.last_seen_ms;
  s.last_error_ms = c.last_error_ms;
  s.series = c.series.size();
  s.samples_total = c.samples_total;
  s.errors_total = c.errors_total;
  s.last_error = c.last_error;
  return s;
}

std::vector<ComponentStatus> ComponentRegistry::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  std::vector<ComponentStatus> out;
  for (const auto& [name, c] : components_) out.push_back(StatusLocked(name, c, now));
  return out;
}

nlohmann::json ComponentRegistry::StatusJson() const {
  json out = json::array();
  for (const auto& s : Snapshot()) {
    json j = {{"name", s.name},
              {"source", ComponentSourceName(s.source)},
              {"healthy", s.healthy},
              {"stale", s.stale},
              {"series", s.series},
              {"samples_total", s.samples_total},
              {"errors_total", s.errors_total},
              {"last_error", s.last_error}};
    j["last_seen"] =
        s.last_seen_ms > 0 ? json(static_cast<double>(s.last_seen_ms) / 1000.0) : json(nullptr);
    j["last_error_time"] =
        s.last_error_ms > 0 ? json(static_cast<double>(s.last_error_ms) / 1000.0) : json(nullptr);
    out.push_back(std::move(j));
  }
  return out;
}

uint64_t ComponentRegistry::rejected_without_component() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rejected_without_component_;
}

}  // namespace echomon::collect::push
