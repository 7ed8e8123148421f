// NAB (Numenta Anomaly Benchmark) scoring, written from the rules in shared/data/README.md.
//
// A detector's per-row scores for a set of files are turned into one normalised score per cost
// profile: rows in the probationary period are ignored, each labelled window counts once at
// its earliest detection (a sigmoid weight that favours early detection), a missed window costs
// fnWeight, and each detection outside a window costs fpWeight scaled by its distance from the
// previous window. One threshold per profile is chosen for the whole corpus by sweeping every
// distinct score value. All functions are pure and thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "echomon/status.h"

namespace echomon::analyze {

// Cost weights of one NAB profile (config/profiles.json).
struct NabProfile {
  std::string name;
  double tp_weight = 1.0;
  double fn_weight = 1.0;
  double fp_weight = 0.11;
};

// The three published profiles: standard, reward_low_FP_rate, reward_low_FN_rate.
std::vector<NabProfile> DefaultNabProfiles();

// Reads config/profiles.json. Fails with a message naming the file on I/O or parse errors.
Result<std::vector<NabProfile>> LoadNabProfiles(const std::string& path);

// -1 if x > 3, else 2 / (1 + exp(5x)) - 1.
double ScaledSigmoid(double x);

// Inclusive row-index window [first, last].
using RowWindow = std::pair<size_t, size_t>;

// One scored file: the detector output per row and the labelled windows as row indices.
struct NabSeries {
  std::string name;  // relative path, e.g. "realKnownCause/nyc_taxi.csv"
  std::vector<double> scores;
  std::vector<RowWindow> windows;  // sorted, non-overlapping
};

// min(floor(0.15 * rows), 750).
size_t NabProbationRows(size_t rows);

// Raw score of one file given a per-row detection flag. `probation` rows at the start are
// ignored. This is the direct definition; used by the unit check and to cross-check the sweep.
double NabRawScore(const std::vector<bool>& detected, const std::vector<RowWindow>& windows,
                   const NabProfile& profile, size_t probation);

struct NabProfileResult {
  std::string profile;
  double threshold = 1.0;      // best threshold (score >= threshold is a detection)
  double raw = 0.0;            // summed raw score at that threshold
  double perfect = 0.0;        // tpWeight * windows
  double null_score = 0.0;     // -fnWeight * windows
  double normalized = 0.0;     // 100 * (raw - null) / (perfect - null)
  size_t true_positives = 0;   // windows detected at the best threshold
  size_t false_negatives = 0;  // windows missed
  size_t false_positives = 0;  // scored rows outside windows flagged
};

// Sweeps every distinct score (high to low) and returns the best corpus-wide threshold and its
// normalised score. Scores outside [0,1] or NaN are treated as 0.
NabProfileResult ScoreNabCorpus(const std::vector<NabSeries>& corpus, const NabProfile& profile);

// Raw score of one file at a fixed threshold (for per-file detail).
double NabSeriesScore(const NabSeries& series, const NabProfile& profile, double threshold);

// The NAB labels file maps relative paths to windows of timestamps ("2014-04-10 07:15:00.000000").
struct NabTimeWindow {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};
struct NabLabels {
  std::vector<std::pair<std::string, std::vector<NabTimeWindow>>> files;  // sorted by path
};

// Reads labels/combined_windows.json.
Result<NabLabels> LoadNabLabels(const std::string& path);

// Maps time windows to row indices of a file with the given (increasing) timestamps: a window
// covers the rows from the first to the last whose timestamp lies in [start, end].
std::vector<RowWindow> WindowsToRows(const std::vector<int64_t>& timestamps_ms,
                                     const std::vector<NabTimeWindow>& windows);

}  // namespace echomon::analyze
