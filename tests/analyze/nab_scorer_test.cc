#include "analyze/nab_scorer.h"

#include <gtest/gtest.h>

#include <string>

namespace echomon::analyze {
namespace {

const std::string kNab = std::string(ECHOMON_SHARED_DATA_DIR) + "/nab";

TEST(NabScorer, ReadmeUnitCheck) {
  std::vector<bool> detected(100, false);
  detected[30] = detected[31] = detected[37] = true;
  const NabProfile ones{"unit", 1.0, 1.0, 1.0};
  EXPECT_DOUBLE_EQ(NabRawScore(detected, {{30, 34}, {65, 69}}, ones, 0), -0.9540452601799487);
}

TEST(NabScorer, ScaledSigmoid) {
  EXPECT_DOUBLE_EQ(ScaledSigmoid(3.5), -1.0);
  EXPECT_DOUBLE_EQ(ScaledSigmoid(0.0), 0.0);
  EXPECT_NEAR(ScaledSigmoid(-1.0), 0.98661429815, 1e-9);
}

TEST(NabScorer, ProbationRows) {
  EXPECT_EQ(NabProbationRows(100), 15u);
  EXPECT_EQ(NabProbationRows(10000), 750u);
}

TEST(NabScorer, SweepMatchesDirectScoreAtChosenThreshold) {
  NabSeries s;
  s.windows = {{30, 34}, {65, 69}};
  s.scores.assign(100, 0.1);
  s.scores[10] = 0.7;  // probation (first 15 rows): ignored
  s.scores[32] = 0.9;  // late in window 1
  s.scores[31] = 0.6;  // earlier in window 1, lower score
  s.scores[50] = 0.8;  // false positive
  s.scores[66] = 0.6;
  const NabProfile p{"standard", 1.0, 1.0, 0.11};
  const NabProfileResult r = ScoreNabCorpus({s}, p);
  EXPECT_DOUBLE_EQ(r.raw, NabSeriesScore(s, p, r.threshold));
  EXPECT_DOUBLE_EQ(r.threshold, 0.6);  // catches both windows, the first one earlier
  EXPECT_EQ(r.true_positives, 2u);
  EXPECT_EQ(r.false_positives, 1u);
  // Every other distinct threshold scores no better.
  for (double t : {0.1, 0.7, 0.8, 0.9, 1.0}) EXPECT_LE(NabSeriesScore(s, p, t), r.raw);
}

TEST(NabScorer, NullDetectorScoresZero) {
  NabSeries s;
  s.windows = {{300, 340}};
  s.scores.assign(1000, 0.5);
  const NabProfileResult r = ScoreNabCorpus({s}, DefaultNabProfiles()[0]);
  EXPECT_DOUBLE_EQ(r.normalized, 0.0);
}

TEST(NabScorer, LoadsSharedLabelsAndProfiles) {
  auto labels = LoadNabLabels(kNab + "/labels/combined_windows.json");
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  size_t windows = 0;
  for (const auto& f : labels->files) windows += f.second.size();
  EXPECT_EQ(labels->files.size(), 35u);
  EXPECT_EQ(windows, 55u);
  auto profiles = LoadNabProfiles(kNab + "/config/profiles.json");
  ASSERT_TRUE(profiles.ok()) << profiles.status().ToString();
  ASSERT_EQ(profiles->size(), 3u);
  EXPECT_EQ((*profiles)[2].name, "reward_low_FN_rate");
  EXPECT_DOUBLE_EQ((*profiles)[2].fn_weight, 2.0);
  EXPECT_DOUBLE_EQ((*profiles)[1].fp_weight, 0.22);
}

TEST(NabScorer, WindowsToRowsIsInclusive) {
  const std::vector<int64_t> ts = {0, 10, 20, 30, 40};
  const auto rows = WindowsToRows(ts, {{10, 30}, {100, 200}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], RowWindow(1, 3));
}

}  // namespace
}  // namespace echomon::analyze
