#include "analyze/anomaly_detector.h"

#include <algorithm>
#include <cmath>

namespace echomon::analyze {
namespace {

// Upper tail probability of the standard normal distribution.
double QFunction(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

// Two-sided tail score: 0 at the mean, -> 1 far from it.
double TwoSidedTailScore(double deviation, double variance, double scale_hint) {
  const double floor = 1e-9 * (1.0 + std::abs(scale_hint));
  const double sd = std::max(std::sqrt(std::max(variance, 0.0)), floor);
  const double z = std::abs(deviation) / sd;
  return 1.0 - 2.0 * QFunction(z);
}

// EWMA mean/variance step with a cumulative-average start (alpha never below 1/n).
void EwmaUpdate(double x, double alpha, int64_t n, double& mean, double& var) {
  const double a = std::max(alpha, 1.0 / static_cast<double>(std::max<int64_t>(n, 1)));
  const double d = x - mean;
  mean += a * d;
  var = (1.0 - a) * (var + a * d * d);
}

}  // namespace

int DecayedHistogram::BinOf(double x) const {
  if (hi_ <= lo_) return 0;
  const double pos = (x - lo_) / (hi_ - lo_) * kBins;
  return std::clamp(static_cast<int>(pos), 0, kBins - 1);
}

double DecayedHistogram::RelativeDensity(double x) const {
  if (!init_ || total_ <= 0) return 1.0;
  if (x < lo_ || x > hi_) return 0.0;
  float peak = 0;
  for (float c : counts_) peak = std::max(peak, c);
  if (peak <= 0) return 1.0;
  return static_cast<double>(counts_[BinOf(x)]) / peak;
}

void DecayedHistogram::Expand(double x) {
  const double new_lo = std::min(lo_, x), new_hi = std::max(hi_, x);
  std::array<float, kBins> old = counts_;
  const double old_lo = lo_, old_hi = hi_;
  counts_.fill(0);
  lo_ = new_lo;
  hi_ = new_hi;
  for (int j = 0; j < kBins; ++j) {
    if (old[j] == 0) continue;
    const double center = old_hi > old_lo ? old_lo + (j + 0.5) * (old_hi - old_lo) / kBins : old_lo;
    counts_[BinOf(center)] += old[j];
  }
}

void DecayedHistogram::Add(double x, double decay) {
  if (!init_) {
    init_ = true;
    lo_ = hi_ = x;
  } else if (x < lo_ || x > hi_) {
    Expand(x);
  }
  const float keep = static_cast<float>(1.0 - decay);
  for (float& c : counts_) c *= keep;
  total_ = total_ * (1.0 - decay) + 1.0;
  counts_[BinOf(x)] += 1.0f;
}

int SeasonalProfile::Bucket(int64_t t_ms) const {
  const int64_t phase = ((t_ms % period_ms_) + period_ms_) % period_ms_;
  return static_cast<int>(phase * kBuckets / period_ms_);
}

double SeasonalProfile::Surprise(int64_t t_ms, double x, double floor, double gate) const {
  const int b = Bucket(t_ms);
  if (n_ == 0 || t_ms - t_first_ < 2 * period_ms_ || count_[b] < 2 || Strength() < gate)
    return -1.0;
  const double dev = std::max({static_cast<double>(dev_[b]), floor, 1e-12});
  return std::abs(x - mean_[b]) / dev;
}

void SeasonalProfile::Learn(int64_t t_ms, double x, double alpha, double evidence_alpha) {
  const int b = Bucket(t_ms);
  if (n_++ == 0) {
    t_first_ = t_ms;
    level_ = x;
  }
  // The rates are per 5 minutes of data (NAB's usual interval): samples that come faster move
  // the EWMAs proportionally less, so the profile averages over days, and its evidence over
  // hours, whatever the sampling interval.
  const double step = n_ == 1 ? kAlphaStepMs : static_cast<double>(t_ms - t_last_);
  const double scale = std::clamp(step / kAlphaStepMs, 0.0, 1.0);
  t_last_ = t_ms;
  const double ev = std::max(evidence_alpha * scale, 1.0 / static_cast<double>(n_));
  if (count_[b] > 0) {
    season_abs_ += ev * (std::abs(x - mean_[b]) - season_abs_);
    level_abs_ += ev * (std::abs(x - level_) - level_abs_);
  }
  level_ += ev * (x - level_);
  if (count_[b] < 60000) ++count_[b];
  const double a = std::max(alpha * scale, 1.0 / static_cast<double>(count_[b]));
  const double d = x - mean_[b];
  if (count_[b] > 1) dev_[b] += static_cast<float>(a * (std::abs(d) - dev_[b]));
  mean_[b] += static_cast<float>(a * d);
}

AnomalyDetector::AnomalyDetector(const AnomalyConfig& config) : config_(config) {
  config_.likelihood_short_window = std::clamp(config_.likelihood_short_window, 1, kMaxShortWindow);
}

double AnomalyDetector::PatternNovelty() {
  // Called when a block completes; pattern_ holds the newest kPatternLength block means.
  const double range = max_ - min_;
  if (range <= 0) return 0.0;
  int best = -1, empty = -1, oldest = -1;
  double best_d = 0;
  for (int k = 0; k < kPatternSlots; ++k) {
    Prototype& p = prototypes_[k];
    if (p.last_used < 0) {
      if (empty < 0) empty = k;
      continue;
    }
    if (oldest < 0 || p.last_used < prototypes_[oldest].last_used) oldest = k;
    double d = 0;
    for (int j = 0; j < kPatternLength; ++j) d += std::abs(pattern_[j] - p.center[j]);
    d /= kPatternLength * range;
    if (best < 0 || d < best_d) {
      best = k;
      best_d = d;
    }
  }
  if (best >= 0 && best_d <= config_.pattern_vigilance) {
    Prototype& p = prototypes_[best];
    p.count = std::min(p.count + 1.0f, 100.0f);
    const float lr = 1.0f / p.count;
    for (int j = 0; j < kPatternLength; ++j) p.center[j] += lr * (pattern_[j] - p.center[j]);
    p.last_used = blocks_;
    return best_d / config_.pattern_vigilance * 0.5;
  }
  const int slot = empty >= 0 ? empty : oldest;
  Prototype& p = prototypes_[slot];
  p.center = pattern_;
  p.count = 1;
  p.last_used = blocks_;
  if (best < 0) return 0.0;
  return std::min(1.0,
                  0.5 + 0.5 * (best_d - config_.pattern_vigilance) / config_.pattern_vigilance);
}

double AnomalyDetector::Update(int64_t t_ms, double x) {
  if (!std::isfinite(x)) return 0.0;
  ++n_;
  // Stage 1: raw surprise, computed against the state before this sample.
  double raw = 0.0;
  double spatial = 0.0;  // > 0: the value left the range seen so far by this fraction of it
  double seasonal = 0.0;
  auto sharpen = [this](double r) {
    return config_.raw_power == 1.0 ? r : std::pow(r, config_.raw_power);
  };
  if (n_ > 1) {
    const double diff = x - last_value_;
    raw =
        std::max(raw, config_.weight_value_z * sharpen(TwoSidedTailScore(x - mean_, var_, mean_)));
    if (n_ > 2) {
      raw = std::max(raw, config_.weight_diff_z *
                              sharpen(TwoSidedTailScore(diff - diff_mean_, diff_var_, mean_)));
    }
    raw = std::max(raw, config_.weight_histogram * sharpen(1.0 - histogram_.RelativeDensity(x)));
    // Seasonal profiles: distance from the value's time-of-day / time-of-week bucket.
    const double floor = config_.profile_floor * (max_ - min_);
    struct Use {
      const SeasonalProfile* profile;
      double weight, gate;
    };
    int p = 0;
    for (const Use& u : {Use{&daily_, config_.weight_daily, config_.daily_gate},
                         Use{&weekly_, config_.weight_weekly, config_.weekly_gate}}) {
      double& rate = season_rate_[p++];
      if (u.weight <= 0) continue;
      const double z = u.profile->Surprise(t_ms, x, floor, u.gate);
      if (z < 0) continue;
      // Anomalies are rare: a profile that departs by k or more often (a spiky series) is
      // muted until such departures have become rare again.
      if (config_.profile_max_rate <= 0 || rate <= config_.profile_max_rate)
        seasonal = std::max(seasonal, u.weight * std::min(1.0, 0.5 * z / config_.profile_k));
      rate += kRateAlpha * ((z >= config_.profile_k ? 1.0 : 0.0) - rate);
    }
    if (config_.profile_direct == 0) raw = std::max(raw, seasonal);
    if (config_.spatial_tolerance > 0 && max_ > min_) {
      const double tol = (max_ - min_) * config_.spatial_tolerance;
      const double excess = std::max(x - max_ - tol, min_ - tol - x);
      if (excess > 0) spatial = excess / (max_ - min_);
    }
  }
  // Pattern novelty, evaluated once per completed block and held until the next.
  if (config_.weight_pattern > 0) {
    block_sum_ += x;
    if (++block_n_ >= config_.pattern_block) {
      for (int j = 0; j + 1 < kPatternLength; ++j) pattern_[j] = pattern_[j + 1];
      pattern_[kPatternLength - 1] = static_cast<float>(block_sum_ / block_n_);
      block_sum_ = 0;
      block_n_ = 0;
      ++blocks_;
      pattern_filled_ = std::min(pattern_filled_ + 1, kPatternLength);
      last_pattern_raw_ = pattern_filled_ == kPatternLength ? PatternNovelty() : 0.0;
      raw = std::max(raw, config_.weight_pattern * sharpen(last_pattern_raw_));
    }
  }
  last_raw_ = raw;
  // Learn.
  if (n_ > 1) {
    const double diff = x - last_value_;
    EwmaUpdate(diff, config_.baseline_alpha, n_ - 1, diff_mean_, diff_var_);
  }
  if (config_.weight_daily > 0)
    daily_.Learn(t_ms, x, config_.profile_alpha, config_.baseline_alpha);
  if (config_.weight_weekly > 0)
    weekly_.Learn(t_ms, x, config_.profile_alpha, config_.baseline_alpha);
  EwmaUpdate(x, config_.baseline_alpha, n_, mean_, var_);
  histogram_.Add(x, config_.histogram_decay);
  if (n_ == 1) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
  }
  last_value_ = x;

  // Stage 2: anomaly likelihood of the short-term mean raw score.
  const int w = config_.likelihood_short_window;
  if (short_count_ == w) short_sum_ -= short_ring_[short_pos_];
  short_ring_[short_pos_] = raw;
  short_sum_ += raw;
  short_pos_ = (short_pos_ + 1) % w;
  short_count_ = std::min(short_count_ + 1, w);
  const double short_mean = short_sum_ / short_count_;
  double score = 0.0;
  if (long_count_ > 0) {
    const double sd = std::max(std::sqrt(long_var_), config_.likelihood_min_std);
    const double q = QFunction((short_mean - long_mean_) / sd);
    score = std::clamp(std::log(q + 1e-10) / std::log(1e-10), 0.0, 1.0);
  }
  ++long_count_;
  EwmaUpdate(short_mean, config_.likelihood_long_alpha, long_count_, long_mean_, long_var_);
  score = std::max(score, config_.raw_mix * raw);
  // Leaving the seen range scores at least `spatial_score`, more the farther out it lands.
  if (spatial > 0)
    score = std::max(score,
                     config_.spatial_score + (1 - config_.spatial_score) * std::min(1.0, spatial));
  // A strong departure from the seasonal profile scores like leaving the range.
  if (config_.profile_direct != 0) score = std::max(score, seasonal);
  if (n_ <= config_.warmup_points) return 0.0;

  // Stage 3: refractory period.
  if (refractory_left_ > 0) {
    --refractory_left_;
    if (score <= refractory_peak_) return score * config_.refractory_factor;
  }
  if (score >= config_.alarm_level && config_.refractory_points > 0) {
    refractory_left_ = config_.refractory_points;
    refractory_peak_ = score;
  }
  return score;
}

double WindowedGaussianDetector::Update(double value) {
  double score = 0.0;
  if (!std::isfinite(value)) return 0.0;
  if (!window_.empty()) {
    const double z = std::abs(value - mean_) / std_;
    score = 1.0 - QFunction(z);
  }
  auto refresh = [this] {
    double sum = 0;
    for (double v : window_) sum += v;
    mean_ = sum / static_cast<double>(window_.size());
    double ss = 0;
    for (double v : window_) ss += (v - mean_) * (v - mean_);
    std_ = std::sqrt(ss / static_cast<double>(window_.size()));
    if (std_ == 0.0) std_ = 0.000001;
  };
  if (window_.size() < kWindow) {
    window_.push_back(value);
    refresh();
  } else {
    step_.push_back(value);
    if (step_.size() == kStep) {
      window_.erase(window_.begin(), window_.begin() + kStep);
      window_.insert(window_.end(), step_.begin(), step_.end());
      step_.clear();
      refresh();
    }
  }
  return score;
}

}  // namespace echomon::analyze
