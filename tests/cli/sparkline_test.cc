// The query sparkline on degenerate input: zero or infinite step, an empty or inverted range,
// non-finite values, extreme values, and a range of more buckets than an int holds. No
// float->int overflow (undefined behaviour) and a sensible picture.
#include "cli/sparkline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace echomon::cli {
namespace {

// The number of cells (UTF-8 characters) in a sparkline.
size_t Cells(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TEST(Sparkline, NormalRangeRisesFromLowToHigh) {
  std::vector<std::pair<double, double>> p;
  for (int i = 1; i <= 40; ++i) p.push_back({i * 60.0, static_cast<double>(i)});
  std::string s = Sparkline(p, 0, 2400, 60);
  EXPECT_EQ(Cells(s), 40u);
  EXPECT_EQ(s.substr(0, 3), "▁");
  EXPECT_EQ(s.substr(s.size() - 3), "█");
}

TEST(Sparkline, DegenerateRangesGiveOneCell) {
  const std::vector<std::pair<double, double>> p = {{100, 1}, {160, 2}};
  EXPECT_EQ(Sparkline(p, 0, 200, 0), "▄");      // step 0
  EXPECT_EQ(Sparkline(p, 0, 200, -60), "▄");    // negative step
  EXPECT_EQ(Sparkline(p, 0, 200, kNan), "▄");   // NaN step
  EXPECT_EQ(Sparkline(p, 0, 200, kInf), "▄");   // infinite step
  EXPECT_EQ(Sparkline(p, 100, 100, 60), "▄");   // end == start
  EXPECT_EQ(Sparkline(p, 200, 100, 60), "▄");   // end before start
  EXPECT_EQ(Sparkline(p, kNan, 100, 60), "▄");  // NaN bound
  EXPECT_EQ(Sparkline(p, -kInf, kInf, 60), "▄");
  EXPECT_EQ(Sparkline({}, 0, 0, 0), " ");
}

TEST(Sparkline, NonFiniteValuesAndTimesAreIgnored) {
  const std::vector<std::pair<double, double>> p = {
      {60, kNan}, {120, kInf}, {180, -kInf}, {kNan, 5}, {240, 1}};
  EXPECT_EQ(Sparkline(p, 0, 240, 60), "   ▄");
}

TEST(Sparkline, ExtremeValuesDoNotOverflowTheScale) {
  const std::vector<std::pair<double, double>> p = {{60, -1e308}, {120, 1e308}};
  EXPECT_EQ(Sparkline(p, 0, 120, 60), "▁█");
}

TEST(Sparkline, MoreBucketsThanAnIntHoldsAreCappedAtTheWidth) {
  const std::vector<std::pair<double, double>> p = {{1, 1}, {1e12, 2}};
  EXPECT_EQ(Cells(Sparkline(p, 0, 1e12, 1e-3)), 40u);
}

}  // namespace
}  // namespace echomon::cli
