#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "collect/collector.h"
#include "test_util.h"

namespace echomon::collect {
namespace {

TEST(CallbackCollector, EachPairBecomesAGaugeWithSanitisedName) {
  auto c = MakeCallbackCollector("dtesn", [] {
    return std::map<std::string, double>{
        {"membrane_depth", 3}, {"a.b-c d", 1}, {"9lives", 2}, {"", 4}, {"ratio:x", NAN}};
  });
  EXPECT_EQ(c->name(), "dtesn");
  core::SampleBatch out;
  ASSERT_TRUE(c->Collect(out).ok());
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(ECHOMON_VALUE(out, "membrane_depth", {"collector", "dtesn"}), 3);
  EXPECT_EQ(ECHOMON_VALUE(out, "a_b_c_d", {"collector", "dtesn"}), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "_9lives", {"collector", "dtesn"}), 2);
  EXPECT_EQ(ECHOMON_VALUE(out, "_", {"collector", "dtesn"}), 4);
  EXPECT_TRUE(std::isnan(ECHOMON_VALUE(out, "ratio:x", {"collector", "dtesn"})));
  for (const core::Sample& s : out) {
    EXPECT_TRUE(core::IsValidMetricName(s.name)) << s.name;
    EXPECT_EQ(s.type, core::MetricType::kGauge);
    EXPECT_FALSE(s.help.empty());
  }
}

TEST(CallbackCollector, ExceptionBecomesInternalError) {
  auto c = MakeCallbackCollector(
      "broken", []() -> std::map<std::string, double> { throw std::runtime_error("boom"); });
  core::SampleBatch out;
  Status status = c->Collect(out);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("boom"), std::string::npos);
  EXPECT_TRUE(out.empty());
  auto odd = MakeCallbackCollector("odd", []() -> std::map<std::string, double> { throw 42; });
  EXPECT_EQ(odd->Collect(out).code(), StatusCode::kInternal);
}

TEST(CallbackCollector, RunsUnderTheRunnerWithItsNameAsLabel) {
  ManualClock clock;
  CollectorRunner runner(&clock, RunnerOptions{5000});
  int calls = 0;
  runner.Add(MakeCallbackCollector("dtesn", [&calls] {
    ++calls;
    return std::map<std::string, double>{{"membrane_depth", static_cast<double>(calls)}};
  }));
  core::SampleBatch out;
  runner.RunOnce(out);
  runner.RunOnce(out);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(testing::CountSamples(out, "membrane_depth"), 2u);
  EXPECT_EQ(out[0].value, 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "dtesn"}), 1);
}

}  // namespace
}  // namespace echomon::collect
