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

TEST(Exposition, RendersHistogramsAndSummariesAsTypedFamilies) {
  store::SeriesStore store(store::StoreOptions{});
  auto add = [&](const std::string& name, core::Labels labels, core::MetricType type, double v,
                 const char* help = "") {
    ASSERT_TRUE(store.Append(store.Resolve(name, labels, type, help), 1000, v).ok());
  };
  using core::MetricType;
  // Resolved in an order that a plain name sort would scramble.
  add("lat_seconds_sum", {{"m", "a"}}, MetricType::kHistogram, 4.5);
  add("lat_seconds_bucket", {{"le", "10"}, {"m", "a"}}, MetricType::kHistogram, 3);
  add("lat_seconds_bucket", {{"le", "+Inf"}, {"m", "a"}}, MetricType::kHistogram, 3);
  add("lat_seconds_bucket", {{"le", "2.5"}, {"m", "a"}}, MetricType::kHistogram, 2, "Latency.");
  add("lat_seconds_count", {{"m", "a"}}, MetricType::kHistogram, 3);
  add("lat_seconds_bucket", {{"le", "+Inf"}, {"m", "b"}}, MetricType::kHistogram, 0);
  add("lat_seconds_count", {{"m", "b"}}, MetricType::kHistogram, 0);
  add("lat_seconds_sum", {{"m", "b"}}, MetricType::kHistogram, 0);
  add("rpc_count", {}, MetricType::kSummary, 7);
  add("rpc", {{"quantile", "0.99"}}, MetricType::kSummary, 0.3);
  add("rpc", {{"quantile", "0.5"}}, MetricType::kSummary, 0.1);
  add("rpc_sum", {}, MetricType::kSummary, 1.2);
  add("lat_seconds_total_x", {}, MetricType::kUntyped, 1);
  std::string out;
  RenderExposition(store, 0, &out);
  EXPECT_EQ(out,
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"2.5\",m=\"a\"} 2\n"
            "lat_seconds_bucket{le=\"10\",m=\"a\"} 3\n"
            "lat_seconds_bucket{le=\"+Inf\",m=\"a\"} 3\n"
            "lat_seconds_sum{m=\"a\"} 4.5\n"
            "lat_seconds_count{m=\"a\"} 3\n"
            "lat_seconds_bucket{le=\"+Inf\",m=\"b\"} 0\n"
            "lat_seconds_sum{m=\"b\"} 0\n"
            "lat_seconds_count{m=\"b\"} 0\n"
            "# TYPE lat_seconds_total_x untyped\n"
            "lat_seconds_total_x 1\n"
            "# TYPE rpc summary\n"
            "rpc{quantile=\"0.5\"} 0.1\n"
            "rpc{quantile=\"0.99\"} 0.3\n"
            "rpc_sum 1.2\n"
            "rpc_count 7\n");
}

TEST(Exposition, AFamilyWithMixedTypesIsUntyped) {
  store::SeriesStore store(store::StoreOptions{});
  ASSERT_TRUE(store.Append(store.Resolve("x", {}, core::MetricType::kGauge, ""), 1000, 1).ok());
  ASSERT_TRUE(
      store
          .Append(store.Resolve("x_bucket", {{"le", "+Inf"}}, core::MetricType::kHistogram, ""),
                  1000, 2)
          .ok());
  std::string out;
  RenderExposition(store, 0, &out);
  EXPECT_EQ(out, "# TYPE x untyped\nx 1\nx_bucket{le=\"+Inf\"} 2\n");
  EXPECT_EQ(FamilyName("x_count", core::MetricType::kSummary, {}), "x");
  EXPECT_EQ(FamilyName("x_count", core::MetricType::kSummary, {{"quantile", "0.5"}}), "x_count");
  EXPECT_EQ(FamilyName("x_count", core::MetricType::kGauge, {}), "x_count");
}

}  // namespace
}  // namespace echomon::server
