// AnomalyWatch: runs the streaming anomaly detector over the watched series every tick and
// stores, next to each, its anomaly score and the baseline it was compared with:
//
//   echomon_anomaly_score{metric="<name>", <the series' labels>}      0..1
//   echomon_anomaly_baseline{metric="<name>", <the series' labels>}  the detector's baseline
//   echomon_anomaly_rate                     share of watched series scoring >= threshold now
//   echomon_anomaly_watched_series           how many series are watched
//
// The detector is exactly the one `echomon detect` replays (src/analyze/anomaly_detector.h).
// Thread-safety: Update() from the tick thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyze/anomaly_detector.h"
#include "core/labels.h"
#include "core/metric.h"
#include "store/series_store.h"

namespace echomon::monitor {

struct WatchSelector {
  std::string metric;
  std::vector<core::LabelMatcher> matchers;
};

struct AnomalyWatchOptions {
  std::vector<WatchSelector> watch;  // which series get a detector
  double threshold = 0.5;            // score counted as anomalous for the rate
  analyze::AnomalyConfig detector;   // detector parameters (incl. per-series warm-up)
  size_t max_series = 2000;          // bound on detectors (about 5 KB each)
};

// The series the default rules watch: CPU, memory, swap, load, filesystems, disk and network
// throughput, and the engine's latency, throughput and KV-cache metrics.
std::vector<WatchSelector> DefaultWatchedSeries();

class AnomalyWatch {
 public:
  AnomalyWatch(const store::SeriesStore* store, AnomalyWatchOptions options);
  ~AnomalyWatch();

  // Feeds every watched series' newest sample (if newer than the last one seen) to its
  // detector and appends the scores, baselines and the rate to out (to be stored at now_ms).
  void Update(int64_t now_ms, core::SampleBatch& out);

  size_t watched() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::monitor
