// Rule kinds and their evaluation over the series store.
//
// A rule selects series (metric name + label matchers), reduces each series to a value
// (threshold: an aggregation over a window; trend: a least-squares slope or the prototype's
// degradation measure; forecast: the value predicted `ahead` by linear regression; baseline:
// the deviation from a learned per-series baseline), and compares that value with per-severity
// thresholds. The result, per series, is whether the condition holds and at which severity;
// the alert lifecycle (for, keep_firing_for, notifications) is the alerting component's job.
//
// Windows are left-open, (now - window, now], as in Prometheus 3, so the numerics match
// PromQL's *_over_time, rate and predict_linear over the same samples.
//
// Comparisons are strict: "above 85" holds for 85.0001, not for 85. Hysteresis: a level that
// holds keeps holding until the value crosses its `clear` threshold (default: the threshold).
//
// Thread-safety: RuleEvaluator is not thread-safe; the agent calls it from its tick thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "echomon/alert.h"
#include "echomon/status.h"
#include "store/series_store.h"

namespace echomon::analyze {

enum class RuleKind { kThreshold, kTrend, kDegradation, kForecast, kBaseline, kAnomaly };
const char* RuleKindName(RuleKind kind);

enum class Comparison { kAbove, kBelow };

enum class WindowAggregation { kLast, kAvg, kMin, kMax, kRate, kQuantile };
// "last", "avg", "min", "max", "rate", "quantile".
bool ParseWindowAggregation(std::string_view text, WindowAggregation* out);

struct SeverityLevel {
  Severity severity = Severity::kWarning;
  double threshold = 0;
  std::optional<double> clear;  // hysteresis: stop holding only past this value
};

struct RuleSpec {
  std::string name;
  RuleKind kind = RuleKind::kThreshold;
  std::string metric;
  std::vector<core::LabelMatcher> matchers;
  Comparison comparison = Comparison::kAbove;
  std::vector<SeverityLevel> levels;  // any order; the most severe level that holds wins

  // threshold: aggregation over window (window 0 with kLast: the latest sample).
  WindowAggregation aggregation = WindowAggregation::kLast;
  double quantile = 0.95;
  int64_t window_ms = 0;

  // trend: the slope in units per second over window_ms is compared with the levels.
  // degradation (prototype semantics): over the last `samples` samples, the fitted decline
  // (slope x time span, positive when falling) divided by |the fitted value at the window
  // start| is compared with the levels (e.g. 0.15 = a 15 % decline).
  int samples = 10;

  // forecast: the value predicted `ahead_ms` after now by a least-squares line over window_ms
  // (Prometheus predict_linear); compared with the levels (the limit).
  int64_t ahead_ms = 4 * 3600 * 1000;

  // baseline: per-series EWMA mean/variance with time constant window_ms; after warmup
  // samples, the value compared with the levels is the deviation in robust standard
  // deviations ((x - mean) / stddev), signed; comparison kAbove alerts on rises, kBelow on
  // falls (use negative thresholds).
  int warmup = 60;

  // anomaly: the value is the latest anomaly score (0..1) the agent stores for the watched
  // series `metric` (series echomon_anomaly_score{metric="<metric>", ...}); the alert carries
  // the score, the watched value and the baseline it was compared with.

  // Passed through to the alert.
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::string summary;  // "{value}" and "{threshold}" and "{labels}" are substituted
  std::map<std::string, std::string> annotations;

  // Checks the spec; the message names the rule and the problem.
  Status Validate() const;
};

// The outcome of one rule for one series.
struct SeriesResult {
  core::Labels labels;
  double value = 0;                     // the reduced value compared with the thresholds
  std::optional<Severity> severity;     // set when the condition holds
  double threshold = 0;                 // threshold of the holding (or nearest) level
  double sample = 0;                    // the latest raw sample of the series
  std::map<std::string, double> extra;  // e.g. forecast: seconds_to_limit; baseline: mean
  std::string summary;
};

enum class RuleHealth { kOk, kNoData, kError };
const char* RuleHealthName(RuleHealth health);

struct RuleResult {
  RuleHealth health = RuleHealth::kOk;
  std::string error;
  int64_t evaluated_at_ms = 0;
  int64_t duration_us = 0;
  std::vector<SeriesResult> series;
};

// predict_linear: least-squares fit of points, evaluated at at_ms + ahead_ms (times in ms,
// slope per second as Prometheus computes it, intercept at at_ms). Needs >= 2 points.
std::optional<double> PredictLinear(const std::vector<store::Point>& points, int64_t at_ms,
                                    double ahead_seconds);
// Least-squares slope in units per second. Needs >= 2 points with distinct times.
std::optional<double> SlopePerSecond(const std::vector<store::Point>& points);

class RuleEvaluator {
 public:
  explicit RuleEvaluator(const store::SeriesStore* store);
  ~RuleEvaluator();

  // Replaces the rule set. Per-series state (hysteresis, baselines) of rules that keep their
  // name and kind is kept. Fails, naming the rule, when a spec is invalid; nothing changes then.
  Status SetRules(std::vector<RuleSpec> rules);
  const std::vector<RuleSpec>& rules() const;

  // Evaluates every rule at now_ms. Results are in the order of rules().
  std::vector<RuleResult> Evaluate(int64_t now_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The built-in rules: the prototype's thresholds plus disk, disk-full forecast, memory
// pressure and swap activity. See docs/rules.md.
std::vector<RuleSpec> DefaultRules();

}  // namespace echomon::analyze
