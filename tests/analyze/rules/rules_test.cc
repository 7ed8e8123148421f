#include "analyze/rules/rules.h"

#include <gtest/gtest.h>

#include <cmath>

namespace echomon::analyze {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

class RulesTest : public ::testing::Test {
 protected:
  store::SeriesId Series(const std::string& name, core::Labels labels = {}) {
    return store_.Resolve(name, labels);
  }
  void Add(store::SeriesId id, int64_t t, double v) { ASSERT_TRUE(store_.Append(id, t, v).ok()); }

  RuleSpec Above(std::string metric, std::vector<SeverityLevel> levels) {
    RuleSpec r;
    r.name = "r";
    r.metric = std::move(metric);
    r.levels = std::move(levels);
    return r;
  }

  const RuleResult& EvalOne(RuleEvaluator& ev, int64_t now) {
    last_ = ev.Evaluate(now);
    EXPECT_EQ(last_.size(), 1u);
    return last_[0];
  }

  store::SeriesStore store_{store::StoreOptions{}};
  std::vector<RuleResult> last_;
};

TEST_F(RulesTest, ThresholdIsStrictAtTheBoundaryAndPicksTheMostSevereLevel) {
  auto id = Series("cpu");
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({Above("cpu", {{Severity::kCritical, 95, std::nullopt},
                                         {Severity::kWarning, 85, std::nullopt}})})
                  .ok());
  Add(id, kT0, 85);  // equal to the threshold: does not hold
  auto r = EvalOne(ev, kT0);
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_FALSE(r.series[0].severity);
  EXPECT_EQ(r.series[0].threshold, 85);
  Add(id, kT0 + 1000, 85.5);
  r = EvalOne(ev, kT0 + 1000);
  EXPECT_EQ(r.series[0].severity, Severity::kWarning);
  Add(id, kT0 + 2000, 96);
  r = EvalOne(ev, kT0 + 2000);
  EXPECT_EQ(r.series[0].severity, Severity::kCritical);
  EXPECT_EQ(r.series[0].threshold, 95);
}

TEST_F(RulesTest, HysteresisHoldsUntilTheClearThreshold) {
  auto id = Series("mem");
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({Above("mem", {{Severity::kWarning, 90, 85}})}).ok());
  const double values[] = {91, 89, 86, 85.5, 85, 89, 90.5};
  const bool expect[] = {true, true, true, true, false, false, true};
  for (int i = 0; i < 7; ++i) {
    Add(id, kT0 + i * 1000, values[i]);
    auto r = EvalOne(ev, kT0 + i * 1000);
    EXPECT_EQ(r.series[0].severity.has_value(), expect[i]) << "value " << values[i];
  }
}

TEST_F(RulesTest, BelowRulesAndSummaryTemplates) {
  auto id = Series("tokens_per_second", {{"model", "m"}});
  RuleEvaluator ev(&store_);
  RuleSpec r = Above("tokens_per_second", {{Severity::kCritical, 50, 55}});
  r.comparison = Comparison::kBelow;
  r.summary = "throughput {value} below {threshold} on {labels}";
  ASSERT_TRUE(ev.SetRules({r}).ok());
  Add(id, kT0, 49);
  auto res = EvalOne(ev, kT0);
  EXPECT_EQ(res.series[0].severity, Severity::kCritical);
  EXPECT_EQ(res.series[0].summary, "throughput 49 below 50 on {model=\"m\"}");
  Add(id, kT0 + 1000, 52);  // above the threshold but below clear: still holds
  EXPECT_TRUE(EvalOne(ev, kT0 + 1000).series[0].severity);
  Add(id, kT0 + 2000, 55);  // equal to clear: released
  EXPECT_FALSE(EvalOne(ev, kT0 + 2000).series[0].severity);
}

TEST_F(RulesTest, NoDataIsNotFiring) {
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({Above("absent_metric", {{Severity::kWarning, 1, std::nullopt}})}).ok());
  auto r = EvalOne(ev, kT0);
  EXPECT_EQ(r.health, RuleHealth::kNoData);
  EXPECT_TRUE(r.series.empty());
  // A series whose last sample is older than the staleness bound is no data too.
  auto id = Series("absent_metric");
  Add(id, kT0, 100);
  EXPECT_EQ(EvalOne(ev, kT0 + 6 * 60'000).health, RuleHealth::kNoData);
}

TEST_F(RulesTest, WindowAggregationsIncludingRateAcrossACounterReset) {
  auto id = Series("c_total");
  for (int i = 0; i <= 10; ++i) Add(id, kT0 + i * 1000, i < 6 ? i * 10.0 : (i - 6) * 10.0);
  // 0,10,..,50, then reset: 0,10,20,30,40 -> increase 50 + 40 = 90 over 10 s
  RuleEvaluator ev(&store_);
  RuleSpec rate = Above("c_total", {{Severity::kWarning, 8.9, std::nullopt}});
  rate.aggregation = WindowAggregation::kRate;
  rate.window_ms = 10'001;  // (t0 - 1 ms, t0 + 10 s]: all 11 samples
  ASSERT_TRUE(ev.SetRules({rate}).ok());
  auto r = EvalOne(ev, kT0 + 10'000);
  EXPECT_DOUBLE_EQ(r.series[0].value, 9.0);
  EXPECT_TRUE(r.series[0].severity);

  auto g = Series("g");
  for (int i = 0; i < 5; ++i) Add(g, kT0 + i * 1000, i + 1.0);  // 1..5
  struct Case {
    WindowAggregation agg;
    double expect;
  } cases[] = {{WindowAggregation::kAvg, 3},
               {WindowAggregation::kMin, 1},
               {WindowAggregation::kMax, 5},
               {WindowAggregation::kLast, 5},
               {WindowAggregation::kQuantile, 4.6}};
  for (const auto& c : cases) {
    RuleSpec s = Above("g", {{Severity::kWarning, 100, std::nullopt}});
    s.aggregation = c.agg;
    s.quantile = 0.9;
    s.window_ms = 60'000;
    ASSERT_TRUE(ev.SetRules({s}).ok());
    EXPECT_DOUBLE_EQ(EvalOne(ev, kT0 + 4000).series[0].value, c.expect);
  }
}

TEST_F(RulesTest, ForecastMatchesPrometheusPredictLinearTestVector) {
  // Prometheus: samples every 5 min of 0,10,20,30,40,0,10,20,30,40,50; predict_linear over
  // [50m] evaluated at 50 min with 3600 s ahead gives 70 (the window is left-open, so the
  // sample at 0 min is outside it).
  auto id = Series("testcounter_reset_middle_total");
  const double values[] = {0, 10, 20, 30, 40, 0, 10, 20, 30, 40, 50};
  for (int i = 0; i < 11; ++i) Add(id, kT0 + i * 300'000, values[i]);
  RuleSpec f = Above("testcounter_reset_middle_total", {{Severity::kWarning, 69.9, std::nullopt}});
  f.kind = RuleKind::kForecast;
  f.window_ms = 50 * 60'000;
  f.ahead_ms = 3600'000;
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({f}).ok());
  auto r = EvalOne(ev, kT0 + 50 * 60'000);
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_NEAR(r.series[0].value, 70, 1e-9);
  EXPECT_TRUE(r.series[0].severity);
  EXPECT_FALSE(PredictLinear({{kT0, 1}}, kT0, 10));
}

TEST_F(RulesTest, ForecastAlertsBeforeTheDiskIsFullAndSaysWhen) {
  auto id = Series("avail_bytes", {{"mount", "/"}});
  // 100 GB falling 10 MB/s: reaches 0 in 10,000 s (2.8 h) from the start.
  for (int i = 0; i <= 3600; i += 60) Add(id, kT0 + i * 1000, 100e9 - 10e6 * i);
  RuleSpec f = Above("avail_bytes", {{Severity::kWarning, 0, std::nullopt}});
  f.kind = RuleKind::kForecast;
  f.comparison = Comparison::kBelow;
  f.window_ms = 3600'000;
  f.ahead_ms = 4 * 3600'000;
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({f}).ok());
  auto r = EvalOne(ev, kT0 + 3600'000);
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_TRUE(r.series[0].severity);
  EXPECT_NEAR(r.series[0].extra["seconds_to_limit"], 10'000 - 3600, 1);
  f.ahead_ms = 3600'000;  // within 1 h it is not full yet
  ASSERT_TRUE(ev.SetRules({f}).ok());
  EXPECT_FALSE(EvalOne(ev, kT0 + 3600'000).series[0].severity);
}

TEST_F(RulesTest, TrendSlopeUsesSecondsNotSampleIndex) {
  auto id = Series("queue");
  // Irregular sampling: value = 2 * t_seconds.
  for (int t : {0, 1, 5, 6, 20, 30}) Add(id, kT0 + t * 1000, 2.0 * t);
  RuleSpec trend = Above("queue", {{Severity::kWarning, 1.5, std::nullopt}});
  trend.kind = RuleKind::kTrend;
  trend.window_ms = 60'000;
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({trend}).ok());
  auto r = EvalOne(ev, kT0 + 30'000);
  EXPECT_NEAR(r.series[0].value, 2.0, 1e-12);
  EXPECT_TRUE(r.series[0].severity);
}

TEST_F(RulesTest, DegradationFollowsThePrototypeWindowAndThreshold) {
  auto id = Series("tps");
  // 20 samples steady at 100, then 10 samples falling linearly to 80 (a 20 % decline).
  int64_t t = kT0;
  for (int i = 0; i < 20; ++i, t += 1000) Add(id, t, 100);
  RuleSpec d = Above("tps", {{Severity::kWarning, 0.15, std::nullopt}});
  d.kind = RuleKind::kDegradation;
  d.samples = 10;
  d.window_ms = 600'000;
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({d}).ok());
  EXPECT_FALSE(EvalOne(ev, t - 1000).series[0].severity);
  for (int i = 1; i <= 10; ++i, t += 1000) Add(id, t, 100 - 20.0 * i / 10);
  auto r = EvalOne(ev, t - 1000);
  // Last 10 samples: 98..80, slope -2/s over 9 s = 18 decline from a fitted start of 98.
  EXPECT_NEAR(r.series[0].value, 18.0 / 98.0, 1e-9);
  EXPECT_TRUE(r.series[0].severity);
}

TEST_F(RulesTest, BaselineWaitsForWarmupThenFlagsDeviations) {
  auto id = Series("latency");
  RuleSpec b = Above("latency", {{Severity::kWarning, 4, 3}});
  b.kind = RuleKind::kBaseline;
  b.window_ms = 60'000;
  b.warmup = 30;
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({b}).ok());
  int64_t t = kT0;
  for (int i = 0; i < 100; ++i, t += 1000) {
    Add(id, t, 100 + (i % 2 ? 1.0 : -1.0));
    auto r = EvalOne(ev, t);
    if (!r.series.empty()) {
      EXPECT_FALSE(r.series[0].severity) << i;
    }
  }
  Add(id, t, 120);  // a jump of ~20 standard deviations
  auto r = EvalOne(ev, t);
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_TRUE(r.series[0].severity);
  EXPECT_GT(r.series[0].value, 4);
  EXPECT_NEAR(r.series[0].extra["baseline_mean"], 100, 1);
}

TEST_F(RulesTest, BaselineIsSilentDuringWarmup) {
  auto id = Series("x");
  RuleSpec b = Above("x", {{Severity::kWarning, 3, std::nullopt}});
  b.kind = RuleKind::kBaseline;
  b.window_ms = 60'000;
  b.warmup = 50;
  RuleEvaluator ev(&store_);
  ASSERT_TRUE(ev.SetRules({b}).ok());
  for (int i = 0; i < 10; ++i) {
    Add(id, kT0 + i * 1000, i == 9 ? 1000 : 1);
    auto r = EvalOne(ev, kT0 + i * 1000);
    EXPECT_TRUE(r.series.empty() || !r.series[0].severity);
  }
}

TEST(RuleSpec, ValidationNamesTheRuleAndTheProblem) {
  RuleSpec r;
  r.name = "disk";
  r.metric = "bad-name";
  r.levels = {{Severity::kWarning, 1, std::nullopt}};
  Status s = r.Validate();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("disk"), std::string::npos);
  r.metric = "ok_name";
  EXPECT_TRUE(r.Validate().ok());
  r.levels = {{Severity::kWarning, 90, 95}};  // clear above an 'above' threshold
  EXPECT_FALSE(r.Validate().ok());
  r.levels = {{Severity::kWarning, 90, 85}};
  r.aggregation = WindowAggregation::kAvg;  // needs a window
  EXPECT_FALSE(r.Validate().ok());
  r.window_ms = 1000;
  EXPECT_TRUE(r.Validate().ok());
  r.kind = RuleKind::kForecast;
  r.ahead_ms = 0;
  EXPECT_FALSE(r.Validate().ok());
  r.levels.clear();
  EXPECT_FALSE(r.Validate().ok());
  RuleEvaluator ev(nullptr);
  RuleSpec a;
  a.name = "dup";
  a.metric = "m";
  a.levels = {{Severity::kWarning, 1, std::nullopt}};
  Status dup = ev.SetRules({a, a});
  EXPECT_FALSE(dup.ok());
  EXPECT_NE(dup.message().find("twice"), std::string::npos);
}

TEST(DefaultRules, ReproduceThePrototypeThresholdsAndAreValid) {
  auto rules = DefaultRules();
  RuleEvaluator ev(nullptr);
  ASSERT_TRUE(ev.SetRules(rules).ok());
  auto find = [&](const std::string& name) -> const RuleSpec& {
    for (const auto& r : rules) {
      if (r.name == name) return r;
    }
    ADD_FAILURE() << name;
    return rules.front();
  };
  EXPECT_EQ(find("cpu_usage_high").levels[0].threshold, 85);
  EXPECT_EQ(find("memory_usage_high").levels[0].threshold, 90);
  EXPECT_EQ(find("gpu_utilization_high").levels[0].threshold, 95);
  EXPECT_EQ(find("request_latency_high").levels[0].threshold, 1.0);  // 1000 ms
  EXPECT_EQ(find("sensory_motor_latency_high").levels[0].threshold, 100);
  const RuleSpec& tokens = find("token_throughput_low");
  EXPECT_EQ(tokens.levels[0].threshold, 50);
  EXPECT_EQ(tokens.levels[0].severity, Severity::kCritical);
  EXPECT_EQ(tokens.comparison, Comparison::kBelow);
  EXPECT_EQ(find("evolution_convergence_low").levels[0].threshold, 0.7);
  EXPECT_EQ(find("proprioceptive_accuracy_low").levels[0].threshold, 0.8);
  EXPECT_EQ(find("token_throughput_degradation").samples, 10);
  EXPECT_EQ(find("token_throughput_degradation").levels[0].threshold, 0.15);
  EXPECT_EQ(find("disk_full_forecast").kind, RuleKind::kForecast);
}

}  // namespace
}  // namespace echomon::analyze

namespace echomon::analyze {
namespace {

// Every rule kind: a value exactly at the threshold does not hold, just past it does, and a
// rule with no data reports no_data and holds nothing.
class EveryRuleKind : public ::testing::TestWithParam<RuleKind> {
 protected:
  RuleSpec Spec(double threshold) const {
    RuleSpec r;
    r.name = "kind_under_test";
    r.kind = GetParam();
    r.metric = GetParam() == RuleKind::kAnomaly ? "watched" : "signal";
    r.window_ms = 120'000;
    r.samples = 10;
    r.warmup = 20;
    r.ahead_ms = 60'000;
    r.levels = {{Severity::kWarning, threshold, std::nullopt}};
    return r;
  }
  // 60 samples, one a second: a ramp with a jump at the end.
  void Fill(store::SeriesStore& store) const {
    if (GetParam() == RuleKind::kAnomaly) {
      auto score = store.Resolve("echomon_anomaly_score", core::Labels{{"metric", "watched"}});
      for (int i = 0; i < 60; ++i) ASSERT_TRUE(store.Append(score, kT0 + i * 1000, 0.01 * i).ok());
      return;
    }
    auto id = store.Resolve("signal", {});
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(store.Append(id, kT0 + i * 1000, i < 59 ? 100 - 0.5 * i + (i % 3) : 200).ok());
    }
  }
  // The value of the rule at the last sample, evaluated on a fresh store and evaluator (so
  // stateful kinds see the same history every time).
  std::optional<SeriesResult> Evaluate(double threshold) const {
    store::SeriesStore store{store::StoreOptions{}};
    Fill(store);
    RuleEvaluator ev(&store);
    EXPECT_TRUE(ev.SetRules({Spec(threshold)}).ok());
    std::vector<RuleResult> results;
    for (int i = 0; i < 60; ++i) results = ev.Evaluate(kT0 + i * 1000);  // as ticks would
    if (results[0].series.empty()) return std::nullopt;
    return results[0].series[0];
  }
};

TEST_P(EveryRuleKind, EqualToTheThresholdDoesNotHoldPastItDoes) {
  auto probe = Evaluate(0.5);
  ASSERT_TRUE(probe) << RuleKindName(GetParam());
  const double v = probe->value;
  auto at = Evaluate(v);
  ASSERT_TRUE(at);
  EXPECT_FALSE(at->severity) << RuleKindName(GetParam()) << " value " << v;
  auto past = Evaluate(v - std::max(1e-9, std::fabs(v) * 1e-9));
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->severity) << RuleKindName(GetParam()) << " value " << v;
}

TEST_P(EveryRuleKind, NoDataIsNoDataNotFiring) {
  store::SeriesStore empty{store::StoreOptions{}};
  RuleEvaluator ev(&empty);
  ASSERT_TRUE(ev.SetRules({Spec(0)}).ok());
  auto results = ev.Evaluate(kT0);
  EXPECT_EQ(results[0].health, RuleHealth::kNoData);
  EXPECT_TRUE(results[0].series.empty());
}

INSTANTIATE_TEST_SUITE_P(Kinds, EveryRuleKind,
                         ::testing::Values(RuleKind::kThreshold, RuleKind::kTrend,
                                           RuleKind::kDegradation, RuleKind::kForecast,
                                           RuleKind::kBaseline, RuleKind::kAnomaly),
                         [](const ::testing::TestParamInfo<RuleKind>& info) {
                           return std::string(RuleKindName(info.param));
                         });

}  // namespace
}  // namespace echomon::analyze
