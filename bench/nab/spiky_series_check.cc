// spiky_series_check: how often the detector alarms on synthetic series that are normal but
// spiky: a daily sine times a weekday/weekend level (weekends at 60 %), multiplicative
// log-normal noise, and isolated x5 spikes at a given rate; 10 seeds x 8 weeks of 5-minute
// samples each. Counts the rows after NAB's probation (750) scoring at or above the NAB corpus
// threshold of the final default (0.4157), for the final default and for variants of the
// seasonal check. Evidence for `profile_max_rate` (docs/anomaly.md, round 4).
//
// Built by hand from the repository root (one line):
//   g++ -O2 -std=c++20 -Iinclude -Isrc bench/nab/spiky_series_check.cc
//       src/analyze/anomaly_detector.cc -o /tmp/spiky_series_check
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "analyze/anomaly_detector.h"

namespace ea = echomon::analyze;

int main() {
  constexpr double kThreshold = 0.4157;
  struct Variant {
    const char* name;
    ea::AnomalyConfig config;
  };
  std::vector<Variant> variants(5);
  variants[0].name = "default";
  variants[1].name = "no rate limit";
  variants[1].config.profile_max_rate = 0;
  variants[2].name = "rate 0.0005";
  variants[2].config.profile_max_rate = 0.0005;
  variants[3].name = "daily only";
  variants[3].config.weight_weekly = 0;
  variants[4].name = "no seasonal";
  variants[4].config.weight_weekly = 0;
  variants[4].config.weight_daily = 0;
  for (double sigma : {0.1, 0.3}) {
    for (double spike_rate : {0.0, 0.002, 0.01}) {
      std::printf("noise sigma %.1f, spikes %.1f %%:", sigma, 100 * spike_rate);
      for (const Variant& v : variants) {
        int alarms = 0;
        for (int seed = 1; seed <= 10; ++seed) {
          std::mt19937_64 rng(seed);
          std::normal_distribution<double> normal(0, 1);
          std::uniform_real_distribution<double> uniform(0, 1);
          ea::AnomalyDetector d(v.config);
          for (int i = 0; i < 8 * 7 * 288; ++i) {
            const int day = i / 288;
            const double weekly = day % 7 == 2 || day % 7 == 3 ? 0.6 : 1.0;
            double x = 100 * (1 + 0.5 * std::sin(2 * M_PI * (i % 288) / 288.0)) * weekly *
                       std::exp(sigma * normal(rng));
            if (uniform(rng) < spike_rate) x *= 5;
            const double s = d.Update(int64_t{i} * 300000, x);
            if (i >= 750 && s >= kThreshold) ++alarms;
          }
        }
        std::printf("  %s %d", v.name, alarms);
      }
      std::printf("\n");
    }
  }
  return 0;
}
