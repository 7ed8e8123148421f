#include "analyze/anomaly_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace echomon::analyze {
namespace {

constexpr int64_t kStepMs = 300000;  // 5 minutes, as most NAB files

// Deterministic pseudo-noise in [-1, 1] (a fixed LCG, so tests do not depend on <random>).
class Noise {
 public:
  double Next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0;
  }

 private:
  uint64_t state_ = 42;
};

std::vector<double> Feed(AnomalyDetector& d, const std::vector<double>& values) {
  std::vector<double> scores;
  for (size_t i = 0; i < values.size(); ++i) {
    scores.push_back(d.Update(static_cast<int64_t>(i) * kStepMs, values[i]));
  }
  return scores;
}

std::vector<double> NoisySeries(size_t n, double level, double amplitude) {
  Noise noise;
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(level + amplitude * noise.Next());
  return v;
}

double MaxOf(const std::vector<double>& s, size_t from, size_t to) {
  double m = 0;
  for (size_t i = from; i < to && i < s.size(); ++i) m = std::max(m, s[i]);
  return m;
}

TEST(AnomalyDetector, ScoresStayInUnitRange) {
  AnomalyDetector d{AnomalyConfig{}};
  Noise noise;
  for (int i = 0; i < 5000; ++i) {
    const double v = (i % 700 == 0 ? 1e6 : 10.0) * noise.Next() + (i > 2500 ? 1e9 : 0.0);
    const double s = d.Update(i * kStepMs, v);
    ASSERT_GE(s, 0.0);
    ASSERT_LE(s, 1.0);
  }
}

TEST(AnomalyDetector, IsDeterministic) {
  const std::vector<double> v = NoisySeries(3000, 50, 5);
  AnomalyDetector a{AnomalyConfig{}}, b{AnomalyConfig{}};
  EXPECT_EQ(Feed(a, v), Feed(b, v));
}

TEST(AnomalyDetector, SteadyNoiseStaysLowAfterWarmup) {
  AnomalyDetector d{AnomalyConfig{}};
  const std::vector<double> s = Feed(d, NoisySeries(4000, 100, 10));
  // The warm-up is silent, and once every shape has been seen stationary noise stays quiet.
  EXPECT_EQ(MaxOf(s, 0, 150), 0.0);
  EXPECT_LT(MaxOf(s, 2000, 4000), 0.3);
}

TEST(AnomalyDetector, LevelShiftScoresHigh) {
  std::vector<double> v = NoisySeries(4000, 100, 10);
  for (size_t i = 3000; i < v.size(); ++i) v[i] += 60;  // shift by 3x the noise range
  AnomalyDetector d{AnomalyConfig{}};
  const std::vector<double> s = Feed(d, v);
  const double before = MaxOf(s, 2000, 3000);
  const double after = MaxOf(s, 3000, 3100);
  EXPECT_GT(after, 0.9);
  EXPECT_GT(after, before + 0.5);
}

TEST(AnomalyDetector, SpikeScoresHigh) {
  std::vector<double> v = NoisySeries(3000, 100, 10);
  v[2500] = 200;
  AnomalyDetector d{AnomalyConfig{}};
  const std::vector<double> s = Feed(d, v);
  EXPECT_GT(s[2500], 0.9);
  EXPECT_LT(MaxOf(s, 2000, 2500), 0.3);
}

TEST(AnomalyDetector, RefractoryGivesOneAlarmPerIncident) {
  std::vector<double> v = NoisySeries(4000, 100, 10);
  v[2500] = 200;  // the incident
  v[2700] = 260;  // an echo, itself out of range, inside the refractory period
  v[3500] = 300;  // a new incident (beyond the range seen) after the period has ended
  const AnomalyConfig config;
  ASSERT_EQ(config.refractory_factor, 0.0);
  AnomalyDetector d{config};
  const std::vector<double> s = Feed(d, v);
  EXPECT_GT(s[2500], 0.9);
  EXPECT_EQ(MaxOf(s, 2501, 2500 + config.refractory_points + 1), 0.0);
  EXPECT_GT(s[3500], 0.9);
}

TEST(AnomalyDetector, RefractoryLetsAStrongerScoreThrough) {
  // A shape change inside the seen range starts the refractory period with a score below 1;
  // a range break 60 samples later scores higher and must still be reported. (NAB windows are
  // often found this way: the row that crosses the corpus threshold comes after a weaker alarm
  // of the same run, which is why round 3 of docs/anomaly.md kept this exception.) The cycle
  // (250 samples, not a day) keeps the seasonal check out of it.
  std::vector<double> v;
  for (int i = 0; i < 6000; ++i) v.push_back(100 + 50 * std::sin(i * 2 * M_PI / 250));
  for (int i = 5000; i < 5300; ++i) v[i] = 100 + 50 * std::sin(i * 2 * M_PI / 62.5);
  v[5060] = 400;
  const AnomalyConfig config;
  AnomalyDetector d{config};
  const std::vector<double> s = Feed(d, v);
  const double before_break = MaxOf(s, 5000, 5060);
  EXPECT_GE(before_break, config.alarm_level);
  EXPECT_LT(before_break, 1.0);
  EXPECT_GT(s[5060], before_break);
  EXPECT_GT(s[5060], 0.9);
}

TEST(AnomalyDetector, ChangedShapeWithinRangeIsNovel) {
  // A daily sine (288 samples); the anomaly is a stretch at four times the frequency, never
  // leaving the seen range, so only the shape is new.
  std::vector<double> v;
  for (int i = 0; i < 6000; ++i) v.push_back(100 + 50 * std::sin(i * 2 * M_PI / 288));
  for (int i = 5000; i < 5300; ++i) v[i] = 100 + 50 * std::sin(i * 2 * M_PI / 72);
  AnomalyDetector d{AnomalyConfig{}};
  const std::vector<double> s = Feed(d, v);
  const double before = MaxOf(s, 3000, 5000);
  const double during = MaxOf(s, 5000, 5300);
  // The learnt cycle stays below the alarm level; the new shape rises well above it.
  EXPECT_LT(before, 0.3);
  EXPECT_GT(during, 0.4);
  EXPECT_GT(during, 1.5 * before);
  // The pattern stage and the seasonal check (the cycle is daily) are what see it: without
  // them the stretch scores like the rest.
  AnomalyConfig plain_config;
  plain_config.weight_pattern = 0;
  plain_config.weight_daily = 0;
  plain_config.weight_weekly = 0;
  AnomalyDetector plain{plain_config};
  const std::vector<double> p = Feed(plain, v);
  EXPECT_LT(MaxOf(p, 5000, 5300), 1.5 * MaxOf(p, 3000, 5000) + 1e-9);
  // Each of the two sees it alone.
  AnomalyConfig pattern_only = plain_config;
  pattern_only.weight_pattern = 1;
  AnomalyDetector by_pattern{pattern_only};
  EXPECT_GT(MaxOf(Feed(by_pattern, v), 5000, 5300), 0.4);
  AnomalyConfig daily_only = plain_config;
  daily_only.weight_daily = 1;
  AnomalyDetector by_daily{daily_only};
  EXPECT_GT(MaxOf(Feed(by_daily, v), 5000, 5300), 0.9);
}

// Five-minute samples of a daily profile: low (20) at night, high (80) from 08:00 to 18:00,
// small noise. `skip_day` (>= 0) stays low all day, as if the daily peak did not happen.
std::vector<double> DailyPlateau(int days, int skip_day) {
  Noise noise;
  std::vector<double> v;
  for (int i = 0; i < days * 288; ++i) {
    const int minute = (i % 288) * 5;
    const bool high = minute >= 8 * 60 && minute < 18 * 60 && i / 288 != skip_day;
    v.push_back((high ? 80.0 : 20.0) + noise.Next());
  }
  return v;
}

TEST(AnomalyDetector, DailyProfileSeesAMissingPeak) {
  // A flat low day: every value and every shape of it has been seen (nights are low and
  // flat), so only the time of day makes it anomalous.
  const std::vector<double> v = DailyPlateau(12, 9);
  AnomalyDetector d{AnomalyConfig{}};
  const std::vector<double> s = Feed(d, v);
  EXPECT_LT(MaxOf(s, 3 * 288, 9 * 288), 0.3);  // normal days, once two have been learnt
  EXPECT_GT(MaxOf(s, 9 * 288, 10 * 288), 0.9);
  AnomalyConfig no_seasonal;
  no_seasonal.weight_daily = 0;
  no_seasonal.weight_weekly = 0;
  AnomalyDetector plain{no_seasonal};
  EXPECT_LT(MaxOf(Feed(plain, v), 9 * 288, 10 * 288), 0.3);
}

TEST(AnomalyDetector, DailyProfileWorksAtAnySamplingInterval) {
  // The same daily plateau sampled every 30 seconds (2,880 samples a day): the profile's
  // averages are per 5 minutes of data, so they still span days, and the missing peak of day 4
  // is seen at its start.
  Noise noise;
  std::vector<double> v;
  const int per_day = 2880, skip_day = 4;
  for (int i = 0; i < 6 * per_day; ++i) {
    const int minute = (i % per_day) / 2;
    const bool high = minute >= 8 * 60 && minute < 18 * 60 && i / per_day != skip_day;
    v.push_back((high ? 80.0 : 20.0) + noise.Next());
  }
  AnomalyDetector d{AnomalyConfig{}};
  std::vector<double> s;
  for (size_t i = 0; i < v.size(); ++i)
    s.push_back(d.Update(static_cast<int64_t>(i) * 30000, v[i]));
  // Normal days: the steps themselves reach about 0.37 in the pattern stage (32 samples are
  // only 16 minutes here), with or without the seasonal check.
  EXPECT_LT(MaxOf(s, 2 * per_day, skip_day * per_day), 0.45);
  EXPECT_GT(MaxOf(s, skip_day * per_day, (skip_day + 1) * per_day), 0.9);
}

TEST(AnomalyDetector, WeeklyProfileSeesAHolidayOnAWeekday) {
  // Weekdays at 100, weekends at 50 (days since the epoch: 2 and 3 of each 7), for five weeks;
  // on one weekday of week four the series stays at its weekend level.
  Noise noise;
  std::vector<double> v;
  const int holiday = 3 * 7 + 5;
  for (int i = 0; i < 35 * 288; ++i) {
    const int day = i / 288;
    const bool weekend = day % 7 == 2 || day % 7 == 3;
    v.push_back((weekend || day == holiday ? 50.0 : 100.0) + noise.Next());
  }
  AnomalyDetector d{AnomalyConfig{}};
  const std::vector<double> s = Feed(d, v);
  // Ordinary weeks: the weekday/weekend steps, seen only twice a week, reach about 0.35 in the
  // pattern stage; the profile itself stays quiet.
  EXPECT_LT(MaxOf(s, 15 * 288, holiday * 288), 0.45);
  EXPECT_GT(MaxOf(s, holiday * 288, (holiday + 1) * 288), 0.9);
  AnomalyConfig daily_only;
  daily_only.weight_weekly = 0;
  AnomalyDetector without_weekly{daily_only};
  EXPECT_LT(MaxOf(Feed(without_weekly, v), holiday * 288, (holiday + 1) * 288), 0.3);
}

TEST(AnomalyDetector, SeasonalCheckMutesItselfOnFrequentSpikes) {
  // A weekly-periodic series with a x3 spike in about 1 % of the samples: spikes are normal
  // here, so the seasonal check must not flag each of them once they have proven frequent.
  Noise noise;
  std::vector<double> v;
  for (int i = 0; i < 6 * 7 * 288; ++i) {
    const int day = i / 288;
    const double level = day % 7 == 2 || day % 7 == 3 ? 50.0 : 100.0;
    v.push_back(level * (1 + 0.05 * noise.Next()) * (i % 97 == 0 ? 3.0 : 1.0));
  }
  auto alarms = [&v](const AnomalyConfig& config) {
    AnomalyDetector d{config};
    const std::vector<double> s = Feed(d, v);
    int n = 0;
    for (size_t i = 3 * 7 * 288; i < s.size(); ++i) n += s[i] >= 0.5;
    return n;
  };
  AnomalyConfig unlimited;
  unlimited.profile_max_rate = 0;
  const int with_limit = alarms(AnomalyConfig{});
  const int without_limit = alarms(unlimited);
  // Without the limit the weekly profile flags a spike as soon as each refractory period
  // (400 samples) ends: up to 15 alarms in these three weeks. With it, (almost) none.
  EXPECT_GE(without_limit, 8);
  EXPECT_LE(with_limit, 2);
}

TEST(SeasonalProfile, JudgesOnlyPeriodicSeriesAfterTwoPeriods) {
  const int64_t day = 86400000;
  SeasonalProfile periodic(day), noisy(day), frozen(day);
  const std::vector<double> plateau = DailyPlateau(4, -1);
  Noise noise;
  double level = 0;
  for (size_t i = 0; i < plateau.size(); ++i) {
    const int64_t t = static_cast<int64_t>(i) * kStepMs;
    if (t < 2 * day) {
      EXPECT_EQ(periodic.Surprise(t, plateau[i], 0.1, 0.8), -1.0) << "row " << i;
    }
    periodic.Learn(t, plateau[i], 0.1, 0.01);
    level += 0.01 * noise.Next();  // a random walk: no daily shape
    noisy.Learn(t, level, 0.1, 0.01);
    frozen.Learn(0, plateau[i], 0.1, 0.01);  // timestamps that never advance
  }
  const int64_t noon = 4 * day + day / 2;
  EXPECT_GT(periodic.Strength(), 0.8);
  EXPECT_LT(periodic.Surprise(noon, 80, 0.1, 0.8), 3);   // the usual value at noon
  EXPECT_GT(periodic.Surprise(noon, 20, 0.1, 0.8), 20);  // the night's value at noon
  EXPECT_LT(noisy.Strength(), 0.5);
  EXPECT_EQ(noisy.Surprise(noon, 1e6, 0.1, 0.8), -1.0);
  EXPECT_EQ(frozen.Surprise(0, 1e6, 0.1, 0.8), -1.0);
}

TEST(AnomalyDetector, NonFiniteInputIsIgnored) {
  const std::vector<double> v = NoisySeries(3000, 100, 10);
  AnomalyDetector clean{AnomalyConfig{}}, dirty{AnomalyConfig{}};
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t t = static_cast<int64_t>(i) * kStepMs;
    if (i % 97 == 0) {
      EXPECT_EQ(dirty.Update(t, std::numeric_limits<double>::quiet_NaN()), 0.0);
      EXPECT_EQ(dirty.Update(t, std::numeric_limits<double>::infinity()), 0.0);
      EXPECT_EQ(dirty.Update(t, -std::numeric_limits<double>::infinity()), 0.0);
    }
    ASSERT_EQ(clean.Update(t, v[i]), dirty.Update(t, v[i])) << "row " << i;
  }
  EXPECT_TRUE(std::isfinite(dirty.baseline()));
  EXPECT_EQ(dirty.samples(), static_cast<int64_t>(v.size()));
}

TEST(AnomalyDetector, StateIsSmallAndConstant) {
  AnomalyDetector d{AnomalyConfig{}};
  const size_t before = d.StateBytes();
  Feed(d, NoisySeries(20000, 100, 10));
  EXPECT_EQ(d.StateBytes(), before);
  EXPECT_LE(d.StateBytes(), 8u * 1024u);
}

TEST(AnomalyDetector, BaselineTracksLevel) {
  AnomalyDetector d{AnomalyConfig{}};
  Feed(d, NoisySeries(2000, 100, 1));
  EXPECT_NEAR(d.baseline(), 100, 1);
}

TEST(WindowedGaussianDetector, ScoresTailProbability) {
  WindowedGaussianDetector wg;
  EXPECT_EQ(wg.Update(1.0), 0.0);                                     // no history yet
  for (int i = 0; i < 1000; ++i) wg.Update(i % 2 == 0 ? -1.0 : 1.0);  // mean ~0, std ~1
  EXPECT_NEAR(wg.Update(0.0), 0.5, 0.01);
  EXPECT_GT(wg.Update(5.0), 0.999);
}

}  // namespace
}  // namespace echomon::analyze
