#include "server/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace echomon::server {
namespace {

TEST(Exposition, FormatsSpecialValuesAsPrometheusDoes) {
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(42), "42");
}

TEST(Exposition, GroupsFamiliesAndEscapesHelpAndLabelValues) {
  store::SeriesStore store(store::StoreOptions{});
  auto a = store.Resolve("b_metric", core::Labels{{"path", "C:\\x \"q\"\nz"}},
                         core::MetricType::kGauge, "Help with \\ and\nnewline.");
  auto b =
      store.Resolve("a_total", core::Labels{{"k", "2"}}, core::MetricType::kCounter, "A counter.");
  auto c =
      store.Resolve("a_total", core::Labels{{"k", "1"}}, core::MetricType::kCounter, "A counter.");
  ASSERT_TRUE(store.Append(a, 1000, 1.5).ok());
  ASSERT_TRUE(store.Append(b, 1000, 7).ok());
  ASSERT_TRUE(store.Append(c, 1000, std::nan("")).ok());
  std::string out;
  RenderExposition(store, 0, &out);
  EXPECT_EQ(out,
            "# HELP a_total A counter.\n"
            "# TYPE a_total counter\n"
            "a_total{k=\"1\"} NaN\n"
            "a_total{k=\"2\"} 7\n"
            "# HELP b_metric Help with \\\\ and\\nnewline.\n"
            "# TYPE b_metric gauge\n"
            "b_metric{path=\"C:\\\\x \\\"q\\\"\\nz\"} 1.5\n");
}

TEST(Exposition, OmitsStaleSeries) {
  store::SeriesStore store(store::StoreOptions{});
  auto fresh = store.Resolve("up_now", {}, core::MetricType::kGauge, "Fresh.");
  auto stale = store.Resolve("gone", {}, core::MetricType::kGauge, "Vanished interface.");
  ASSERT_TRUE(store.Append(stale, 1000, 1).ok());
  ASSERT_TRUE(store.Append(fresh, 9000, 2).ok());
  std::string out;
  RenderExposition(store, 5000, &out);
  EXPECT_EQ(out, "# HELP up_now Fresh.\n# TYPE up_now gauge\nup_now 2\n");
}

}  // namespace
}  // namespace echomon::server
