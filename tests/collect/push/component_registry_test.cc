// The push registry on its own: JSON bodies, exposition text, limits, merging and staleness.
#include "collect/push/component_registry.h"

#include <gtest/gtest.h>

#include <cmath>

namespace echomon::collect::push {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

const core::Sample* Find(const core::SampleBatch& batch, const std::string& name,
                         const std::string& component) {
  for (const auto& s : batch) {
    const std::string* c = s.labels.Get("component");
    if (s.name == name && c != nullptr && *c == component) return &s;
  }
  return nullptr;
}

TEST(PushJson, ParsesComponentMetricsLabelsAndTimestamp) {
  auto p = ParsePushJson(
      R"({"component":"dtesn","metrics":{"dtesn_membrane_level":3,"x_total":"+Inf","y":"NaN"},)"
      R"("labels":{"node":"a"},"timestamp":1700000000.5})",
      PushLimits{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->component, "dtesn");
  ASSERT_EQ(p->metrics.size(), 3u);
  EXPECT_EQ(p->metrics[0].first, "dtesn_membrane_level");
  EXPECT_EQ(p->metrics[0].second, 3);
  EXPECT_TRUE(std::isinf(p->metrics[1].second));
  EXPECT_TRUE(std::isnan(p->metrics[2].second));
  EXPECT_EQ(*p->labels.Get("node"), "a");
  EXPECT_DOUBLE_EQ(*p->timestamp_s, 1700000000.5);
}

TEST(PushJson, BadBodiesNameTheProblem) {
  PushLimits limits;
  limits.max_labels_per_series = 2;
  limits.max_series_per_component = 2;
  const std::pair<const char*, const char*> cases[] = {
      {"", "malformed JSON"},
      {"{\"metrics\":{\"a\":1}", "malformed JSON"},
      {"[1]", "expected a JSON object, got array"},
      {"{}", "metrics: missing"},
      {"{\"metrics\":[1]}", "metrics: expected an object"},
      {"{\"metrics\":{\"a b\":1}}", "'a b' is not a valid metric name"},
      {"{\"metrics\":{\"a\":true}}", "metrics.a: value must be a number"},
      {"{\"metrics\":{\"a\":\"12\"}}", "metrics.a: value must be a number"},
      {"{\"metrics\":{\"a\":1},\"labels\":{\"__x\":\"1\"}}", "'__x' is not a valid label name"},
      {"{\"metrics\":{\"a\":1},\"labels\":{\"x\":1}}", "labels.x: expected a string"},
      {"{\"metrics\":{\"a\":1},\"labels\":{\"x\":\"1\",\"y\":\"2\",\"z\":\"3\"}}",
       "3 labels exceed max_labels_per_series (2)"},
      {"{\"metrics\":{\"a\":1,\"b\":2,\"c\":3}}", "3 metrics exceed max_series_per_component (2)"},
      {"{\"metrics\":{\"a\":1},\"component\":\"a b\"}", "component: 'a b' is not a valid name"},
      {"{\"metrics\":{\"a\":1},\"timestamp\":\"now\"}", "timestamp: expected Unix seconds"},
      {"{\"metrics\":{\"a\":1},\"extra\":1}", "unknown key 'extra'"},
      {"{\"metrics\":{\"a\":[[[[[[[[[[1]]]]]]]]]]}}", "nested deeper than 8"},
  };
  for (const auto& [body, expected] : cases) {
    auto p = ParsePushJson(body, limits);
    ASSERT_FALSE(p.ok()) << body;
    EXPECT_NE(p.status().message().find(expected), std::string::npos)
        << body << " -> " << p.status().message();
  }
  PushLimits small;
  small.max_body_bytes = 10;
  auto big = ParsePushJson("{\"metrics\":{\"a\":1}}", small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
}

TEST(ComponentRegistry, EmitsPushedSeriesLabelledWithTheComponent) {
  ManualClock clock(kT0);
  ComponentRegistry registry(&clock, PushLimits{});
  auto n = registry.PushJson(
      R"({"component":"echo-self","metrics":{"evolution_convergence":0.9,"generations_total":4},"labels":{"run":"r1"}})",
      "");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2u);
  core::SampleBatch out;
  registry.Emit(out);
  const core::Sample* conv = Find(out, "evolution_convergence", "echo-self");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->value, 0.9);
  EXPECT_EQ(*conv->labels.Get("run"), "r1");
  EXPECT_EQ(conv->type, core::MetricType::kGauge);
  const core::Sample* gens = Find(out, "generations_total", "echo-self");
  ASSERT_NE(gens, nullptr);
  EXPECT_EQ(gens->type, core::MetricType::kCounter);
  const core::Sample* up = Find(out, "echomon_component_up", "echo-self");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->value, 1);
  EXPECT_EQ(*up->labels.Get("source"), "push");
  EXPECT_EQ(Find(out, "echomon_component_samples_total", "echo-self")->value, 2);
  EXPECT_EQ(Find(out, "echomon_component_last_seen_timestamp_seconds", "echo-self")->value,
            kT0 / 1000.0);
}

TEST(ComponentRegistry, APushReplacesOnlyTheMetricNamesItCarries) {
  ManualClock clock(kT0);
  ComponentRegistry registry(&clock, PushLimits{});
  ASSERT_TRUE(registry.PushJson(R"({"metrics":{"a":1,"b":2}})", "c").ok());
  ASSERT_TRUE(registry.PushJson(R"({"metrics":{"a":5},"labels":{"k":"v"}})", "c").ok());
  core::SampleBatch out;
  registry.Emit(out);
  int a = 0;
  for (const auto& s : out) {
    if (s.name == "a") {
      ++a;
      EXPECT_EQ(s.value, 5);
      EXPECT_EQ(*s.labels.Get("k"), "v");
    }
  }
  EXPECT_EQ(a, 1);  // a{} was replaced by a{k="v"}
  ASSERT_NE(Find(out, "b", "c"), nullptr);
  EXPECT_EQ(Find(out, "b", "c")->value, 2);
}

TEST(ComponentRegistry, ExpositionTextKeepsTypesAndDropsCreated) {
  ManualClock clock(kT0);
  ComponentRegistry registry(&clock, PushLimits{});
  auto n = registry.PushText(
      "# TYPE lat_seconds histogram\n"
      "lat_seconds_bucket{le=\"0.1\"} 1\nlat_seconds_bucket{le=\"+Inf\"} 3\n"
      "lat_seconds_sum 0.9\nlat_seconds_count 3\nlat_seconds_created 1.7e9\n"
      "# TYPE steps_total counter\nsteps_total 12\n"
      "# TYPE level gauge\nlevel 4\n",
      "text/plain; version=0.0.4", "dtesn");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 6u);
  core::SampleBatch out;
  registry.Emit(out);
  EXPECT_EQ(Find(out, "lat_seconds_bucket", "dtesn")->type, core::MetricType::kHistogram);
  EXPECT_EQ(Find(out, "lat_seconds_count", "dtesn")->type, core::MetricType::kHistogram);
  EXPECT_EQ(Find(out, "steps_total", "dtesn")->type, core::MetricType::kCounter);
  EXPECT_EQ(Find(out, "level", "dtesn")->type, core::MetricType::kGauge);
  EXPECT_EQ(Find(out, "lat_seconds_created", "dtesn"), nullptr);
}

TEST(ComponentRegistry, BadTextIsRejectedWithLineAndColumnAndNothingStored) {
  ManualClock clock(kT0);
  ComponentRegistry registry(&clock, PushLimits{});
  ASSERT_TRUE(registry.PushText("good 1\n", "text/plain", "c").ok());
  auto bad = registry.PushText("good 2\nbad{x=1} 2\n", "text/plain", "c");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2, column"), std::string::npos)
      << bad.status().message();
  auto om = registry.PushText("a 1\n", "application/openmetrics-text; version=1.0.0", "c");
  ASSERT_FALSE(om.ok());  // OpenMetrics needs # EOF
  EXPECT_NE(om.status().message().find("openmetrics"), std::string::npos);
  core::SampleBatch out;
  registry.Emit(out);
  EXPECT_EQ(Find(out, "good", "c")->value, 1);  // the rejected pushes changed nothing
  EXPECT_EQ(Find(out, "echomon_component_errors_total", "c")->value, 2);
  EXPECT_EQ(Find(out, "echomon_component_up", "c")->value, 0);  // last push failed
  auto status = registry.Snapshot();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_NE(status[0].last_error.find("openmetrics"), std::string::npos);
}

TEST(ComponentRegistry, EnforcesLimitsAndReservedNames) {
  ManualClock clock(kT0);
  PushLimits limits;
  limits.max_series_per_component = 3;
  limits.max_labels_per_series = 1;
  limits.max_components = 2;
  ComponentRegistry registry(&clock, limits);
  ASSERT_TRUE(registry.PushJson(R"({"metrics":{"a":1,"b":1}})", "c").ok());
  auto over = registry.PushJson(R"({"metrics":{"d":1,"e":1}})", "c");  // would hold 4
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("max_series_per_component (3)"), std::string::npos);
  auto labels = registry.PushText("a{x=\"1\",y=\"2\"} 1\n", "text/plain", "c");
  ASSERT_FALSE(labels.ok());
  EXPECT_NE(labels.status().message().find("max_labels_per_series"), std::string::npos);
  auto reserved = registry.PushText("echomon_cpu_usage_percent 1\n", "text/plain", "c");
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.status().message().find("reserved"), std::string::npos);
  auto label = registry.PushText("a{component=\"x\"} 1\n", "text/plain", "c");
  ASSERT_FALSE(label.ok());
  EXPECT_NE(label.status().message().find("label 'component' is reserved"), std::string::npos);
  ASSERT_TRUE(registry.PushJson(R"({"metrics":{"a":1}})", "d").ok());
  auto third = registry.PushJson(R"({"metrics":{"a":1}})", "e");
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find("max_components (2)"), std::string::npos);
  auto nameless = registry.PushJson(R"({"metrics":{"a":1}})", "");
  ASSERT_FALSE(nameless.ok());
  EXPECT_NE(nameless.status().message().find("component name missing"), std::string::npos);
  auto differ = registry.PushJson(R"({"component":"c","metrics":{"a":1}})", "d");
  ASSERT_FALSE(differ.ok());
  EXPECT_NE(differ.status().message().find("differs"), std::string::npos);
}

TEST(ComponentRegistry, AComponentThatStopsPushingGoesStale) {
  ManualClock clock(kT0);
  PushLimits limits;
  limits.staleness_ms = 60'000;
  ComponentRegistry registry(&clock, limits);
  ASSERT_TRUE(registry.PushJson(R"({"metrics":{"reservoir_state_norm":2.5}})", "dtesn").ok());
  clock.Advance(60'000);
  core::SampleBatch out;
  registry.Emit(out);
  ASSERT_NE(Find(out, "reservoir_state_norm", "dtesn"), nullptr);  // exactly at the limit: live
  clock.Advance(1);
  out.clear();
  registry.Emit(out);
  EXPECT_EQ(Find(out, "reservoir_state_norm", "dtesn"), nullptr);
  EXPECT_EQ(Find(out, "echomon_component_up", "dtesn")->value, 0);
  EXPECT_EQ(Find(out, "echomon_component_series", "dtesn")->value, 0);
  auto status = registry.Snapshot();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_TRUE(status[0].stale);
  EXPECT_FALSE(status[0].healthy);
  EXPECT_EQ(status[0].last_seen_ms, kT0);
  auto json = registry.StatusJson();
  EXPECT_EQ(json[0]["stale"], true);
  EXPECT_EQ(json[0]["source"], "push");
  // Pushing again revives it.
  ASSERT_TRUE(registry.PushJson(R"({"metrics":{"reservoir_state_norm":3}})", "dtesn").ok());
  out.clear();
  registry.Emit(out);
  EXPECT_EQ(Find(out, "reservoir_state_norm", "dtesn")->value, 3);
  EXPECT_EQ(Find(out, "echomon_component_up", "dtesn")->value, 1);
}

TEST(ComponentRegistry, TimestampsSetLastSeenWithinBounds) {
  ManualClock clock(kT0);
  PushLimits limits;
  limits.staleness_ms = 60'000;
  ComponentRegistry registry(&clock, limits);
  const double t0 = kT0 / 1000.0;
  ASSERT_TRUE(
      registry
          .PushJson("{\"metrics\":{\"a\":1},\"timestamp\":" + std::to_string(t0 - 30) + "}", "c")
          .ok());
  EXPECT_EQ(registry.Snapshot()[0].last_seen_ms, kT0 - 30'000);
  auto old = registry.PushJson(
      "{\"metrics\":{\"a\":1},\"timestamp\":" + std::to_string(t0 - 61) + "}", "c");
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("older than the staleness period"), std::string::npos);
  auto future = registry.PushJson(
      "{\"metrics\":{\"a\":1},\"timestamp\":" + std::to_string(t0 + 3600) + "}", "c");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.status().message().find("future"), std::string::npos);
}

}  // namespace
}  // namespace echomon::collect::push
