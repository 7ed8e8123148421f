// Streaming anomaly detector for one metric series.
//
// Each Update() takes the next sample and returns an anomaly score in [0,1] (1 = very
// anomalous) using only the samples seen so far: one pass, no look-ahead, constant memory
// (StateBytes() reports it, about 5.4 KB). The method (docs/anomaly.md has the measurements):
//
//  1. Raw surprise of the sample. With the defaults this is pattern novelty, in the style of
//     adaptive resonance (ARTime): the last 8 block means (blocks of `pattern_block` samples)
//     form a shape that is matched against up to 48 stored prototypes; the distance (mean
//     absolute difference relative to the range seen so far) to the nearest one, divided by the
//     vigilance, is the surprise, and an unmatched shape becomes a new prototype. Further
//     components, off by default because they scored lower on NAB, can be mixed in (max):
//     Gaussian tail scores of the value and of its first difference against EWMA baselines and
//     the rarity of the value in a decayed histogram.
//  2. Anomaly likelihood (as in Numenta HTM): the mean of the last `likelihood_short_window`
//     raw scores against the long-run EWMA mean/std of that mean; the Gaussian tail probability
//     is mapped to a log scale (a 1e-5 tail scores 0.5, 1e-10 scores 1).
//  3. Spatial check (as Numenta's detector): a value beyond the range seen so far by more than
//     `spatial_tolerance` of that range scores at least `spatial_score`.
//  4. Seasonal check: for a series that follows a daily or weekly profile (learned per
//     15-minute / 105-minute bucket from the timestamps), a value far outside its bucket's usual
//     spread scores like a spatial anomaly (0.5 at `profile_k` mean absolute deviations),
//     unless such departures are frequent in that series.
//  5. Refractory period: after a score above `alarm_level`, scores are scaled by
//     `refractory_factor` (0 by default: silenced) for `refractory_points` samples unless they
//     exceed the triggering score, so one incident yields one alarm rather than a burst.
//
// Non-finite values are treated as missing: they leave the state untouched and score 0.
// Deterministic (no randomness). Not thread-safe: one detector per series, one writer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace echomon::analyze {

// Parameters; the defaults are the configuration measured in docs/anomaly.md and are meant to
// be used for every series unchanged.
struct AnomalyConfig {
  // Samples before any non-zero score is emitted (state still learns during warm-up).
  int warmup_points = 150;
  // EWMA smoothing of the baseline mean/variance of values and of first differences.
  double baseline_alpha = 0.01;
  // Per-sample decay of the value histogram (counts are multiplied by 1 - this).
  double histogram_decay = 0.002;
  // Weight of each raw component in [0,1]; 0 disables it.
  double weight_value_z = 0.0;
  double weight_diff_z = 0.0;
  double weight_histogram = 0.0;
  // Pattern novelty (adaptive-resonance style): the last kPatternLength block means (blocks of
  // `pattern_block` samples) are compared with up to kPatternSlots stored prototypes; distance
  // is the mean absolute difference relative to the range seen so far. A pattern farther than
  // `pattern_vigilance` from every prototype is novel and becomes a prototype itself (replacing
  // the least recently matched one when full).
  double weight_pattern = 1.0;
  int pattern_block = 4;
  double pattern_vigilance = 0.175;
  // Each raw component is raised to this power before combining: ordinary noise scores near 0,
  // only tail values near 1 (sharper raw scores make the likelihood stage more selective).
  double raw_power = 1.0;
  // Fraction of the seen range a value may exceed it by before it scores 1 (<= 0: off).
  double spatial_tolerance = 0.02;
  // Least score of a spatial anomaly; it grows to 1 as the excess reaches the whole range.
  double spatial_score = 1.0;
  // Mix of the stage-2 likelihood score and the raw score: score = max(likelihood,
  // raw_mix * raw). 0 keeps only the likelihood.
  double raw_mix = 0.0;
  // Samples averaged for the short-term raw score.
  int likelihood_short_window = 10;
  // EWMA smoothing of the long-term mean/variance of the short-term raw score.
  double likelihood_long_alpha = 0.001;
  // Floor on the long-term standard deviation of the raw score.
  double likelihood_min_std = 0.02;
  // Scores at or above this start a refractory period.
  double alarm_level = 0.2;
  // Length of the refractory period in samples (0: off) and the factor applied within it.
  int refractory_points = 400;
  double refractory_factor = 0.0;
  // Seasonal profiles (SeasonalProfile below): the distance of the value from the mean of its
  // time-of-day bucket (`weight_daily`; 96 buckets of 15 minutes) or time-of-week bucket
  // (`weight_weekly`; 96 buckets of 105 minutes), in units of that bucket's mean absolute
  // deviation (at least `profile_floor` of the range seen so far). A profile scores only after
  // two whole periods of timestamps and while the series follows it, i.e. while
  // 1 - mean|x - bucket mean| / mean|x - slow level| >= `daily_gate` / `weekly_gate`.
  // `profile_k` deviations score 0.5 and twice that scores 1. With `profile_direct` = 1 the
  // score is applied after the likelihood, like the spatial check; 0 mixes it into the raw
  // score instead. Bucket means and deviations are EWMAs with `profile_alpha` per 5 minutes of
  // data (samples closer together weigh proportionally less).
  double weight_daily = 1.0;
  double weight_weekly = 1.0;
  double daily_gate = 0.8;
  double weekly_gate = 0.2;
  double profile_k = 15.0;
  double profile_alpha = 0.1;
  double profile_floor = 0.02;
  int profile_direct = 1;
  // A profile whose departures of `profile_k` or more happen in more than this share of the
  // samples it judges (EWMA over about 2,000 samples) is muted while they do (0: never).
  double profile_max_rate = 0.001;
};

// Exponentially decayed histogram over an expanding range (bins are re-mapped when a value
// falls outside it). Part of AnomalyDetector's state; not thread-safe.
class DecayedHistogram {
 public:
  static constexpr int kBins = 32;
  // Probability mass of x's bin relative to the fullest bin, in [0,1]; 1 for an empty histogram.
  double RelativeDensity(double x) const;
  void Add(double x, double decay);
  bool Empty() const { return total_ <= 0; }

 private:
  int BinOf(double x) const;
  void Expand(double x);
  std::array<float, kBins> counts_{};
  double lo_ = 0, hi_ = 0, total_ = 0;
  bool init_ = false;
};

// Mean and mean absolute deviation of a series per phase of a period (a day, a week; 96
// buckets from the timestamps), plus the evidence of how much of the series' variation the
// profile explains. Part of AnomalyDetector's state (about 1 KB, no heap); not thread-safe.
class SeasonalProfile {
 public:
  static constexpr int kBuckets = 96;
  explicit SeasonalProfile(int64_t period_ms) : period_ms_(period_ms) {}
  // |x - bucket mean| / max(bucket mean absolute deviation, floor), or -1 while the profile
  // cannot judge: less than two periods since the first sample, fewer than two samples in the
  // bucket, or Strength() below `gate`.
  double Surprise(int64_t t_ms, double x, double floor, double gate) const;
  // Learns x: bucket EWMAs with `alpha`, and the evidence for Strength() (against the series'
  // own slow level) with `evidence_alpha`, both per 5 minutes of data and at most per sample.
  void Learn(int64_t t_ms, double x, double alpha, double evidence_alpha);
  // 1 - mean|x - bucket mean| / mean|x - slow level|: 1 = fully periodic, <= 0 = not at all.
  double Strength() const { return level_abs_ > 0 ? 1.0 - season_abs_ / level_abs_ : 0.0; }

 private:
  int Bucket(int64_t t_ms) const;
  int64_t period_ms_;
  static constexpr double kAlphaStepMs = 300000;
  int64_t t_first_ = 0, t_last_ = 0;
  int64_t n_ = 0;
  double level_ = 0;  // slow EWMA of the series (the non-seasonal baseline)
  double season_abs_ = 0, level_abs_ = 0;
  std::array<float, kBuckets> mean_{};
  std::array<float, kBuckets> dev_{};
  std::array<uint16_t, kBuckets> count_{};
};

class AnomalyDetector {
 public:
  explicit AnomalyDetector(const AnomalyConfig& config);

  // Feeds the next sample (t_ms, Unix milliseconds, must not decrease; the seasonal profiles
  // place the sample in the day and week by it) and returns its anomaly score in [0,1].
  // Non-finite values return 0 and change nothing.
  double Update(int64_t t_ms, double value);

  // Bytes of per-series state (this object; it owns no heap memory).
  size_t StateBytes() const { return sizeof(*this); }
  // Current baseline (slow EWMA mean) of the series; 0 before the first sample.
  double baseline() const { return mean_; }
  // Raw surprise of the last sample (stage 1), for diagnostics.
  double last_raw() const { return last_raw_; }
  // Samples seen (finite ones only).
  int64_t samples() const { return n_; }

 private:
  static constexpr int kMaxShortWindow = 64;
  static constexpr int64_t kDayMs = 86400000;

  AnomalyConfig config_;
  int64_t n_ = 0;
  double last_value_ = 0;
  double mean_ = 0, var_ = 0;
  double diff_mean_ = 0, diff_var_ = 0;
  double min_ = 0, max_ = 0;
  static constexpr int kPatternLength = 8, kPatternSlots = 48;
  struct Prototype {
    std::array<float, kPatternLength> center{};
    int64_t last_used = -1;  // -1: empty slot
    float count = 0;
  };
  double PatternNovelty();
  std::array<Prototype, kPatternSlots> prototypes_{};
  std::array<float, kPatternLength> pattern_{};
  int pattern_filled_ = 0;
  double block_sum_ = 0;
  int block_n_ = 0;
  int64_t blocks_ = 0;
  double last_pattern_raw_ = 0;
  static constexpr double kRateAlpha = 1.0 / 2016;
  std::array<double, 2> season_rate_{};  // share of k-departures, daily and weekly
  SeasonalProfile daily_{kDayMs};
  SeasonalProfile weekly_{7 * kDayMs};
  DecayedHistogram histogram_;
  std::array<double, kMaxShortWindow> short_ring_{};
  int short_pos_ = 0, short_count_ = 0;
  double short_sum_ = 0;
  double long_mean_ = 0, long_var_ = 0;
  int64_t long_count_ = 0;
  int refractory_left_ = 0;
  double refractory_peak_ = 0;
  double last_raw_ = 0;
};

// Numenta's Windowed Gaussian baseline (NAB `windowedGaussian`): mean/std of a sliding window
// of the last 6400 values, refreshed every 100 samples; score = 1 - Q(|z|). Used to check the
// NAB scorer against published numbers and as a benchmark baseline. Holds up to 6500 doubles.
class WindowedGaussianDetector {
 public:
  double Update(double value);

 private:
  static constexpr size_t kWindow = 6400, kStep = 100;
  std::vector<double> window_, step_;
  double mean_ = 0, std_ = 1;
};

}  // namespace echomon::analyze
