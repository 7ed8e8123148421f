// ComponentRegistry: what custom components (DTESN, Echo-Self, embodied AI, anything else)
// reported, through the push API (POST /api/v1/push) or an exec collector, and whether each is
// still alive. The ComponentsCollector emits the registry's live series every tick, so pushed
// samples go through the normal store and rules path. Formats: docs/components.md.
//
// Ownership: shared (std::shared_ptr) by the push endpoint, the collector and the exec workers.
// Thread-safety: every method may be called from any thread (one internal mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/labels.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace echomon::collect::push {

struct PushLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_series_per_component = 10'000;
  size_t max_labels_per_series = 32;  // labels a pusher sends (the component label not counted)
  size_t max_components = 1000;
  int64_t staleness_ms = 5 * 60'000;  // a push component silent this long goes stale
};

// A decoded JSON push body:
//   {"component": "dtesn", "metrics": {"name": value, ...}, "labels": {...}, "timestamp": s}
struct JsonPush {
  std::string component;                                // empty when the body has none
  std::vector<std::pair<std::string, double>> metrics;  // in body order
  core::Labels labels;                                  // added to every metric
  std::optional<double> timestamp_s;                    // Unix seconds
};

// Parses and validates a JSON push body (bounded by limits.max_body_bytes, max_series_per_
// component metrics, max_labels_per_series labels). Values are JSON numbers or the strings
// "NaN", "+Inf", "Inf", "-Inf". Never throws; an error (kInvalidArgument, or kResourceExhausted
// for a limit) names the field and the reason, e.g. `metrics.depth: value must be a number`.
Result<JsonPush> ParsePushJson(std::string_view body, const PushLimits& limits);

// [a-zA-Z_:][a-zA-Z0-9_:]*, at most 200 bytes.
bool ValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, at most 100 bytes, not starting with "__".
bool ValidLabelName(std::string_view name);
// [a-zA-Z0-9_.:-]{1,64}.
bool ValidComponentName(std::string_view name);

enum class ComponentSource { kPush, kExec };
const char* ComponentSourceName(ComponentSource source);  // "push" / "exec"

// One series a component reported (its labels without the component label).
struct ComponentSeries {
  std::string name;
  core::Labels labels;
  double value = 0;
  core::MetricType type = core::MetricType::kGauge;
  std::string help;
};

struct ComponentStatus {
  std::string name;
  ComponentSource source = ComponentSource::kPush;
  bool healthy = false;      // live, and its last push / run succeeded
  bool stale = false;        // push: nothing accepted for longer than staleness
  int64_t last_seen_ms = 0;  // last accepted push / successful run; 0: never
  int64_t last_error_ms = 0;
  size_t series = 0;  // series held (emitted while live)
  uint64_t samples_total = 0;
  uint64_t errors_total = 0;
  std::string last_error;  // the most recent error; empty when none so far
};

class ComponentRegistry {
 public:
  // clock must outlive the registry; nullptr means SystemClock::Get().
  ComponentRegistry(Clock* clock, PushLimits limits);

  void SetLimits(const PushLimits& limits);
  PushLimits limits() const;

  // Accepts one push of series for component (valid name, series already validated). Series
  // whose names appear in the push replace every series of those names the component had;
  // others are kept. timestamp_ms (when the values were measured) sets last_seen; it must not
  // be more than 5 minutes in the future nor older than staleness. Fails with
  // kInvalidArgument / kResourceExhausted (nothing stored, the error counted) on a bad name,
  // a reserved label or metric name, too many labels, too many series or components.
  Status Push(const std::string& component, std::vector<ComponentSeries> series,
              std::optional<int64_t> timestamp_ms = std::nullopt);
  // Decodes a JSON body (ParsePushJson) and pushes it; the component comes from the body or,
  // when the body has none, from query_component (both given and different is an error).
  Result<size_t> PushJson(std::string_view body, const std::string& query_component);
  // Parses exposition text (OpenMetrics when content_type is application/openmetrics-text,
  // else Prometheus text 0.0.4) and pushes it. Errors name the line and column. Sample
  // timestamps are ignored; `_created` samples are dropped; histogram and summary parts keep
  // their type.
  Result<size_t> PushText(std::string_view body, std::string_view content_type,
                          const std::string& component);
  // Counts a rejected push for component when it names a known component, else in
  // rejected_without_component(); remembers message as its last error.
  void RecordPushError(const std::string& component, const std::string& message);

  // Exec components: Declare makes one visible (status) before its first run; a result
  // replaces all its series (success) or clears them and records the error (failure).
  void DeclareExec(const std::string& component);
  void SetExecResult(const std::string& component, Result<std::vector<ComponentSeries>> result);

  // Forgets a component and its series. Returns false when there was none.
  bool Remove(const std::string& component);
  // Names of the components of a source.
  std::vector<std::string> Names(ComponentSource source) const;

  // Appends every live component's series (labels + component="<name>") and the self-metrics
  // echomon_component_{up,last_seen_timestamp_seconds,series,samples_total,errors_total}
  // (labels component, source) and echomon_push_rejected_total.
  void Emit(core::SampleBatch& out);

  std::vector<ComponentStatus> Snapshot() const;
  nlohmann::json StatusJson() const;
  uint64_t rejected_without_component() const;

 private:
  struct Component {
    ComponentSource source = ComponentSource::kPush;
    std::map<std::string, ComponentSeries> series;  // by SeriesKey
    int64_t last_seen_ms = 0;
    int64_t last_error_ms = 0;
    bool last_ok = false;
    uint64_t samples_total = 0;
    uint64_t errors_total = 0;
    std::string last_error;
  };
  bool StaleLocked(const Component& c, int64_t now_ms) const;
  ComponentStatus StatusLocked(const std::string& name, const Component& c, int64_t now) const;
  std::string_view Intern(const std::string& text);

  Clock* clock_;
  mutable std::mutex mu_;
  PushLimits limits_;
  std::map<std::string, Component> components_;
  uint64_t rejected_without_component_ = 0;
  std::unordered_set<std::string> strings_;  // help texts handed out as string_views
  size_t string_bytes_ = 0;
};

}  // namespace echomon::collect::push
