#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "collect/scrape/engine_profile.h"

namespace echomon::collect {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<HistogramBucket> Example() {
  // 100 observations: 10 <= 0.1, 50 <= 0.5, 90 <= 1, 100 total.
  return {{0.1, 10}, {0.5, 50}, {1, 90}, {kInf, 100}};
}

TEST(HistogramQuantile, InterpolatesLinearlyWithinTheBucket) {
  // rank 50 lands exactly on the top of (0.1, 0.5].
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, Example()), 0.5);
  // rank 30: 0.1 + 0.4 * (30 - 10) / 40 = 0.3.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.3, Example()), 0.3);
  // rank 70: 0.5 + 0.5 * 20 / 40 = 0.75.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.7, Example()), 0.75);
}

TEST(HistogramQuantile, FirstBucketStartsAtZero) {
  // rank 5 in [0, 0.1] holding 10: 0.05.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.05, Example()), 0.05);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0, Example()), 0);
}

TEST(HistogramQuantile, FirstBucketWithNonPositiveBoundReturnsTheBound) {
  std::vector<HistogramBucket> b = {{-1, 5}, {0, 10}, {kInf, 10}};
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.2, b), -1);
}

TEST(HistogramQuantile, RankInInfBucketReturnsHighestFiniteBound) {
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.95, Example()), 1);
  EXPECT_DOUBLE_EQ(HistogramQuantile(1, Example()), 1);
}

TEST(HistogramQuantile, OutOfRangeQuantiles) {
  EXPECT_EQ(HistogramQuantile(-0.1, Example()), -kInf);
  EXPECT_EQ(HistogramQuantile(1.1, Example()), kInf);
  EXPECT_TRUE(std::isnan(HistogramQuantile(std::nan(""), Example())));
}

TEST(HistogramQuantile, NoDataIsNaN) {
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, {})));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, {{kInf, 10}})));         // +Inf bucket only
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, {{1, 0}, {kInf, 0}})));  // no observations
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, {{1, 3}, {2, 5}})));     // no +Inf bucket
}

TEST(HistogramQuantile, SortsMergesAndForcesMonotonic) {
  std::vector<HistogramBucket> unsorted = {{kInf, 100}, {1, 90}, {0.1, 10}, {0.5, 50}};
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.3, unsorted), 0.3);
  // A bucket lower than its predecessor is raised to it: (0.5 -> 10) acts as 50.
  std::vector<HistogramBucket> dip = {{0.1, 10}, {0.2, 50}, {0.5, 40}, {kInf, 100}};
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, dip), 0.2);
  // Duplicate bounds are summed.
  std::vector<HistogramBucket> dup = {{1, 5}, {1, 5}, {kInf, 20}};
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.25, dup), 0.5);
}

}  // namespace
}  // namespace echomon::collect
