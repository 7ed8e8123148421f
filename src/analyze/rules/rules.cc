#include "analyze/rules/rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <unordered_map>

namespace echomon::analyze {
namespace {

constexpr int64_t kStalenessMs = 5 * 60 * 1000;  // like Prometheus: older samples are no data

struct LevelState {
  std::vector<bool> active;  // per level index: currently holding (hysteresis)
};

struct BaselineState {
  bool initialised = false;
  int64_t last_t = 0;
  double mean = 0;
  double var = 0;
  int64_t n = 0;
};

struct SeriesState {
  LevelState levels;
  BaselineState baseline;
};

std::string Substitute(std::string text, const SeriesResult& r) {
  auto replace = [&text](std::string_view key, const std::string& value) {
    for (size_t pos = text.find(key); pos != std::string::npos;
         pos = text.find(key, pos + value.size())) {
      text.replace(pos, key.size(), value);
    }
  };
  replace("{value}", fmt::format("{:.4g}", r.value));
  replace("{threshold}", fmt::format("{:.4g}", r.threshold));
  replace("{labels}", r.labels.ToString());
  return text;
}

std::optional<double> Aggregate(WindowAggregation agg, double q,
                                const std::vector<store::Point>& pts) {
  if (pts.empty()) return std::nullopt;
  switch (agg) {
    case WindowAggregation::kLast:
      return pts.back().v;
    case WindowAggregation::kAvg: {
      double sum = 0;
      for (const auto& p : pts) sum += p.v;
      return sum / static_cast<double>(pts.size());
    }
    case WindowAggregation::kMin: {
      double m = pts.front().v;
      for (const auto& p : pts) m = std::min(m, p.v);
      return m;
    }
    case WindowAggregation::kMax: {
      double m = pts.front().v;
      for (const auto& p : pts) m = std::max(m, p.v);
      return m;
    }
    case WindowAggregation::kRate: {
      if (pts.size() < 2 || pts.back().t_ms == pts.front().t_ms) return std::nullopt;
      double increase = 0;
      for (size_t i = 1; i < pts.size(); ++i) {
        double d = pts[i].v - pts[i - 1].v;
        increase += d >= 0 ? d : pts[i].v;  // a counter reset restarts from zero
      }
      return increase / (static_cast<double>(pts.back().t_ms - pts.front().t_ms) / 1000.0);
    }
    case WindowAggregation::kQuantile: {
      std::vector<double> v;
      v.reserve(pts.size());
      for (const auto& p : pts) v.push_back(p.v);
      std::sort(v.begin(), v.end());
      double rank = q * static_cast<double>(v.size() - 1);
      size_t lo = static_cast<size_t>(std::floor(rank));
      size_t hi = std::min(lo + 1, v.size() - 1);
      double w = rank - static_cast<double>(lo);
      return v[lo] * (1 - w) + v[hi] * w;
    }
  }
  return std::nullopt;
}

bool Holds(Comparison cmp, const SeverityLevel& level, double v, bool was_active) {
  const double bound = was_active ? level.clear.value_or(level.threshold) : level.threshold;
  return cmp == Comparison::kAbove ? v > bound : v < bound;
}

}  // namespace

const char* RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kThreshold:
      return "threshold";
    case RuleKind::kTrend:
      return "trend";
    case RuleKind::kDegradation:
      return "degradation";
    case RuleKind::kForecast:
      return "forecast";
    case RuleKind::kBaseline:
      return "baseline";
    case RuleKind::kAnomaly:
      return "anomaly";
  }
  return "?";
}

const char* RuleHealthName(RuleHealth health) {
  switch (health) {
    case RuleHealth::kOk:
      return "ok";
    case RuleHealth::kNoData:
      return "no_data";
    case RuleHealth::kError:
      return "error";
  }
  return "?";
}

bool ParseWindowAggregation(std::string_view text, WindowAggregation* out) {
  static const std::pair<std::string_view, WindowAggregation> kNames[] = {
      {"last", WindowAggregation::kLast}, {"avg", WindowAggregation::kAvg},
      {"min", WindowAggregation::kMin},   {"max", WindowAggregation::kMax},
      {"rate", WindowAggregation::kRate}, {"quantile", WindowAggregation::kQuantile}};
  for (const auto& [name, agg] : kNames) {
    if (text == name) {
      *out = agg;
      return true;
    }
  }
  return false;
}

Status RuleSpec::Validate() const {
  auto bad = [this](const std::string& why) {
    return Status::InvalidArgument("rule '" + name + "': " + why);
  };
  if (name.empty()) return Status::InvalidArgument("a rule needs a name");
  if (!core::IsValidMetricName(metric)) return bad("'" + metric + "' is not a valid metric name");
  if (levels.empty()) return bad("needs at least one severity level with a threshold");
  for (const auto& l : levels) {
    if (!std::isfinite(l.threshold)) return bad("thresholds must be finite numbers");
    if (l.clear) {
      if (!std::isfinite(*l.clear)) return bad("clear thresholds must be finite numbers");
      if (comparison == Comparison::kAbove && *l.clear > l.threshold) {
        return bad("clear must not be above the threshold of an 'above' rule");
      }
      if (comparison == Comparison::kBelow && *l.clear < l.threshold) {
        return bad("clear must not be below the threshold of a 'below' rule");
      }
    }
  }
  if (for_ms < 0 || keep_firing_for_ms < 0) return bad("for/keep_firing_for must not be negative");
  switch (kind) {
    case RuleKind::kThreshold:
      if (aggregation != WindowAggregation::kLast && window_ms <= 0) {
        return bad("aggregation over a window needs a positive window");
      }
      if (aggregation == WindowAggregation::kQuantile && !(quantile >= 0 && quantile <= 1)) {
        return bad("quantile must be within [0, 1]");
      }
      break;
    case RuleKind::kTrend:
      if (window_ms <= 0) return bad("a trend rule needs a positive window");
      break;
    case RuleKind::kDegradation:
      if (samples < 2) return bad("a degradation rule needs a window of at least 2 samples");
      if (window_ms <= 0) return bad("a degradation rule needs a positive window (time bound)");
      break;
    case RuleKind::kForecast:
      if (window_ms <= 0) return bad("a forecast rule needs a positive window");
      if (ahead_ms <= 0) return bad("a forecast rule needs a positive 'ahead'");
      break;
    case RuleKind::kBaseline:
      if (window_ms <= 0) return bad("a baseline rule needs a positive window (time constant)");
      if (warmup < 1) return bad("warmup must be at least 1 sample");
      break;
    case RuleKind::kAnomaly:
      for (const auto& l : levels) {
        if (l.threshold < 0 || l.threshold >= 1) {
          return bad("anomaly score thresholds must be within [0, 1)");
        }
      }
      break;
  }
  return Status::Ok();
}

namespace {

// Least-squares line through points, with time in seconds relative to origin_ms (the same
// formulation as Prometheus' predict_linear and deriv).
struct LinearFit {
  double slope;      // units per second
  double intercept;  // fitted value at origin_ms
};

std::optional<LinearFit> FitLine(const std::vector<store::Point>& points, int64_t origin_ms) {
  if (points.size() < 2) return std::nullopt;
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& p : points) {
    const double x = static_cast<double>(p.t_ms - origin_ms) / 1000.0;
    n += 1;
    sx += x;
    sy += p.v;
    sxx += x * x;
    sxy += x * p.v;
  }
  const double cov = sxy - sx * sy / n;
  const double var = sxx - sx * sx / n;
  if (var == 0) return std::nullopt;
  const double slope = cov / var;
  return LinearFit{slope, sy / n - slope * sx / n};
}

}  // namespace

std::optional<double> SlopePerSecond(const std::vector<store::Point>& points) {
  if (points.empty()) return std::nullopt;
  auto fit = FitLine(points, points.front().t_ms);
  if (!fit) return std::nullopt;
  return fit->slope;
}

std::optional<double> PredictLinear(const std::vector<store::Point>& points, int64_t at_ms,
                                    double ahead_seconds) {
  auto fit = FitLine(points, at_ms);
  if (!fit) return std::nullopt;
  return fit->intercept + fit->slope * ahead_seconds;
}

struct RuleEvaluator::Impl {
  const store::SeriesStore* store;
  std::vector<RuleSpec> rules;
  // rule name -> series key -> state
  std::unordered_map<std::string, std::unordered_map<std::string, SeriesState>> state;

  // The series each rule selects, with their state, rebuilt only when the store gains series
  // (series are never removed), so a tick does not re-match every rule against every series.
  struct Selected {
    store::SeriesInfo info;
    SeriesState* state;  // stable: unordered_map nodes do not move
  };
  std::vector<std::vector<Selected>> selection;
  size_t selection_series_count = static_cast<size_t>(-1);

  void RefreshSelection() {
    const size_t count = store->SeriesCount();
    if (count == selection_series_count && selection.size() == rules.size()) return;
    selection.assign(rules.size(), {});
    for (size_t i = 0; i < rules.size(); ++i) {
      auto& rule_state = state[rules[i].name];
      // An anomaly rule watches the scores stored for its metric, not the metric itself.
      const bool anomaly = rules[i].kind == RuleKind::kAnomaly;
      std::vector<core::LabelMatcher> matchers = rules[i].matchers;
      if (anomaly) matchers.push_back({"metric", core::LabelMatcher::Op::kEqual, rules[i].metric});
      for (auto& s : store->Select(anomaly ? "echomon_anomaly_score" : rules[i].metric, matchers)) {
        SeriesState* st = &rule_state[core::SeriesKey(s.name, s.labels)];
        selection[i].push_back(Selected{std::move(s), st});
      }
    }
    selection_series_count = count;
  }

  // Reduces one series to the value compared with the thresholds. nullopt: no data.
  std::optional<double> Reduce(const RuleSpec& rule, const store::SeriesInfo& s, int64_t now,
                               SeriesState& st, SeriesResult& r) {
    auto latest = store->Latest(s.id);
    if (!latest || latest->t_ms < now - std::max<int64_t>(kStalenessMs, rule.window_ms)) {
      return std::nullopt;
    }
    r.sample = latest->v;
    // Windows are left-open, (now - window, now], as in Prometheus 3.
    auto range = [&](int64_t window) -> std::vector<store::Point> {
      auto pts = store->Range(s.id, now - window + 1, now);
      return pts.ok() ? std::move(pts).value() : std::vector<store::Point>{};
    };
    switch (rule.kind) {
      case RuleKind::kThreshold:
        if (rule.aggregation == WindowAggregation::kLast && rule.window_ms <= 0) return latest->v;
        return Aggregate(rule.aggregation, rule.quantile, range(rule.window_ms));
      case RuleKind::kTrend:
        return SlopePerSecond(range(rule.window_ms));
      case RuleKind::kDegradation: {
        auto pts = range(rule.window_ms);
        if (pts.size() < static_cast<size_t>(rule.samples)) return std::nullopt;
        pts.erase(pts.begin(), pts.end() - rule.samples);
        auto slope = SlopePerSecond(pts);
        if (!slope) return std::nullopt;
        const double span = static_cast<double>(pts.back().t_ms - pts.front().t_ms) / 1000.0;
        // Fitted value at the window start: mean - slope * (mean time - start time).
        double mean_v = 0, mean_t = 0;
        for (const auto& p : pts) {
          mean_v += p.v;
          mean_t += static_cast<double>(p.t_ms - pts.front().t_ms) / 1000.0;
        }
        mean_v /= static_cast<double>(pts.size());
        mean_t /= static_cast<double>(pts.size());
        const double start_value = mean_v - *slope * mean_t;
        r.extra["baseline"] = start_value;
        if (start_value == 0) return std::nullopt;
        return (-*slope * span) / std::fabs(start_value);
      }
      case RuleKind::kForecast: {
        auto fit = FitLine(range(rule.window_ms), now);  // one fit: value now and ahead
        if (!fit) return std::nullopt;
        if (fit->slope != 0 && !rule.levels.empty()) {
          // Seconds until the fitted line reaches the first level's threshold, if it heads there.
          const double eta = (rule.levels.front().threshold - fit->intercept) / fit->slope;
          if (eta >= 0) r.extra["seconds_to_limit"] = eta;
        }
        return fit->intercept + fit->slope * static_cast<double>(rule.ahead_ms) / 1000.0;
      }
      case RuleKind::kAnomaly: {
        // The watched value and the baseline stored next to the score, for the notification.
        core::Labels watched = s.labels;
        watched.Erase("metric");
        for (const auto& v : store->Select(rule.metric, {})) {
          if (v.labels != watched) continue;
          if (auto p = store->Latest(v.id)) r.extra["watched_value"] = p->v;
        }
        for (const auto& b : store->Select("echomon_anomaly_baseline", {})) {
          if (b.labels != s.labels) continue;
          if (auto p = store->Latest(b.id)) r.extra["baseline"] = p->v;
        }
        r.extra["score"] = latest->v;
        return latest->v;
      }
      case RuleKind::kBaseline: {
        BaselineState& b = st.baseline;
        auto pts = store->Range(s.id, b.initialised ? b.last_t + 1 : now - rule.window_ms, now);
        if (!pts.ok() || pts->empty()) return std::nullopt;
        std::optional<double> deviation;
        for (const auto& p : *pts) {
          if (!std::isfinite(p.v)) continue;
          if (!b.initialised) {
            b = BaselineState{true, p.t_ms, p.v, 0, 1};
            continue;
          }
          const double sd = std::max(std::sqrt(b.var), std::max(1e-9, 1e-3 * std::fabs(b.mean)));
          deviation = (p.v - b.mean) / sd;
          const double dt = static_cast<double>(p.t_ms - b.last_t);
          const double alpha = 1.0 - std::exp(-dt / static_cast<double>(rule.window_ms));
          const double diff = p.v - b.mean;
          b.mean += alpha * diff;
          b.var = (1 - alpha) * (b.var + alpha * diff * diff);
          b.last_t = p.t_ms;
          ++b.n;
        }
        r.extra["baseline_mean"] = b.mean;
        r.extra["baseline_stddev"] = std::sqrt(b.var);
        if (!deviation || b.n <= rule.warmup) return std::nullopt;
        return deviation;
      }
    }
    return std::nullopt;
  }
};

RuleEvaluator::RuleEvaluator(const store::SeriesStore* store) : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
}

RuleEvaluator::~RuleEvaluator() = default;

Status RuleEvaluator::SetRules(std::vector<RuleSpec> rules) {
  std::set<std::string> names;
  for (const auto& r : rules) {
    if (Status s = r.Validate(); !s.ok()) return s;
    if (!names.insert(r.name).second) {
      return Status::InvalidArgument("rule '" + r.name + "' is defined twice");
    }
  }
  // Keep state only for rules whose name and kind survive.
  std::unordered_map<std::string, std::unordered_map<std::string, SeriesState>> kept;
  for (const auto& r : rules) {
    auto old = std::find_if(impl_->rules.begin(), impl_->rules.end(),
                            [&](const RuleSpec& o) { return o.name == r.name; });
    if (old != impl_->rules.end() && old->kind == r.kind && old->levels.size() == r.levels.size()) {
      auto it = impl_->state.find(r.name);
      if (it != impl_->state.end()) kept.emplace(r.name, std::move(it->second));
    }
  }
  impl_->state = std::move(kept);
  impl_->rules = std::move(rules);
  impl_->selection.clear();
  impl_->selection_series_count = static_cast<size_t>(-1);
  return Status::Ok();
}

const std::vector<RuleSpec>& RuleEvaluator::rules() const { return impl_->rules; }

std::vector<RuleResult> RuleEvaluator::Evaluate(int64_t now_ms) {
  std::vector<RuleResult> results;
  results.reserve(impl_->rules.size());
  impl_->RefreshSelection();
  for (size_t rule_index = 0; rule_index < impl_->rules.size(); ++rule_index) {
    const RuleSpec& rule = impl_->rules[rule_index];
    const auto started = std::chrono::steady_clock::now();
    RuleResult result;
    result.evaluated_at_ms = now_ms;
    for (const auto& selected : impl_->selection[rule_index]) {
      const store::SeriesInfo& s = selected.info;
      SeriesResult r;
      r.labels = s.labels;
      SeriesState& st = *selected.state;
      if (st.levels.active.size() != rule.levels.size())
        st.levels.active.assign(rule.levels.size(), false);
      auto value = impl_->Reduce(rule, s, now_ms, st, r);
      if (!value || std::isnan(*value)) {
        std::fill(st.levels.active.begin(), st.levels.active.end(), false);
        continue;
      }
      r.value = *value;
      const SeverityLevel* best = nullptr;
      for (size_t i = 0; i < rule.levels.size(); ++i) {
        const SeverityLevel& level = rule.levels[i];
        const bool holds = Holds(rule.comparison, level, r.value, st.levels.active[i]);
        st.levels.active[i] = holds;
        if (holds && (!best || level.severity > best->severity)) best = &level;
      }
      if (best) {
        r.severity = best->severity;
        r.threshold = best->threshold;
      } else {
        // The least severe level's threshold: what the value is measured against.
        auto least = std::min_element(
            rule.levels.begin(), rule.levels.end(),
            [](const SeverityLevel& a, const SeverityLevel& b) { return a.severity < b.severity; });
        r.threshold = least->threshold;
      }
      if (r.severity) r.summary = Substitute(rule.summary, r);  // only holding series notify
      result.series.push_back(std::move(r));
    }
    if (result.series.empty()) result.health = RuleHealth::kNoData;
    result.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace echomon::analyze
