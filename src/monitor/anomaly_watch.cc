#include "monitor/anomaly_watch.h"

#include <cmath>
#include <unordered_map>

#include "core/log.h"

namespace echomon::monitor {
namespace {

constexpr const char* kScoreHelp =
    "Anomaly score (0-1) of the watched series named by the metric label, from the streaming "
    "detector.";
constexpr const char* kBaselineHelp =
    "Baseline the anomaly detector compares the watched series with (its running mean).";

WatchSelector Select(std::string metric, std::vector<std::pair<std::string, std::string>> eq = {}) {
  WatchSelector s;
  s.metric = std::move(metric);
  for (auto& [k, v] : eq) s.matchers.push_back({k, core::LabelMatcher::Op::kEqual, v});
  return s;
}

// Counters are watched as per-second rates: their raw values only ever grow.
struct Watched {
  store::SeriesInfo info;
  core::Labels score_labels;
  std::unique_ptr<analyze::AnomalyDetector> detector;
  int64_t last_t = 0;
  double last_raw = 0;
  bool have_raw = false;
  double score = 0;
};

}  // namespace

std::vector<WatchSelector> DefaultWatchedSeries() {
  return {
      Select("echomon_cpu_usage_percent", {{"cpu", "total"}}),
      Select("echomon_memory_used_percent"),
      Select("echomon_swap_used_percent"),
      Select("echomon_load1"),
      Select("echomon_filesystem_usage_percent"),
      Select("echomon_disk_read_bytes_total"),
      Select("echomon_disk_written_bytes_total"),
      Select("echomon_network_receive_bytes_total"),
      Select("echomon_network_transmit_bytes_total"),
      Select("echomon_pressure_stall_percent", {{"kind", "some"}, {"window", "avg10"}}),
      Select("echomon_gpu_utilization_percent"),
      Select("echomon_engine_request_latency_seconds", {{"quantile", "0.95"}}),
      Select("echomon_engine_generation_tokens_per_second"),
      Select("echomon_engine_kv_cache_usage_percent"),
  };
}

struct AnomalyWatch::Impl {
  const store::SeriesStore* store;
  AnomalyWatchOptions options;
  std::unordered_map<store::SeriesId, Watched> watched;
  size_t seen_series_count = static_cast<size_t>(-1);

  void Refresh() {
    const size_t count = store->SeriesCount();
    if (count == seen_series_count) return;
    seen_series_count = count;
    for (const auto& sel : options.watch) {
      for (auto& s : store->Select(sel.metric, sel.matchers)) {
        if (watched.count(s.id)) continue;
        if (watched.size() >= options.max_series) {
          core::WarnOnce("anomaly.max_series", "anomaly detection watches at most " +
                                                   std::to_string(options.max_series) +
                                                   " series; ignoring the rest");
          return;
        }
        Watched w;
        w.score_labels = s.labels;
        w.score_labels.Set("metric", s.name);
        w.detector = std::make_unique<analyze::AnomalyDetector>(options.detector);
        w.info = std::move(s);
        watched.emplace(w.info.id, std::move(w));
      }
    }
  }
};

AnomalyWatch::AnomalyWatch(const store::SeriesStore* store, AnomalyWatchOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
  impl_->options = std::move(options);
}

AnomalyWatch::~AnomalyWatch() = default;

size_t AnomalyWatch::watched() const { return impl_->watched.size(); }

void AnomalyWatch::Update(int64_t now_ms, core::SampleBatch& out) {
  Impl& d = *impl_;
  d.Refresh();
  size_t anomalous = 0;
  for (auto& [id, w] : d.watched) {
    auto latest = d.store->Latest(id);
    if (latest && latest->t_ms > w.last_t) {
      double value = latest->v;
      bool feed = true;
      if (w.info.type == core::MetricType::kCounter) {
        // Rate per second; a decrease is a counter reset.
        const double dt = static_cast<double>(latest->t_ms - w.last_t) / 1000.0;
        const double increase = latest->v >= w.last_raw ? latest->v - w.last_raw : latest->v;
        feed = w.have_raw && dt > 0;
        value = feed ? increase / dt : 0;
        w.last_raw = latest->v;
        w.have_raw = true;
      }
      if (feed) w.score = w.detector->Update(latest->t_ms, value);
      w.last_t = latest->t_ms;
    }
    if (!latest || latest->t_ms < now_ms - 5 * 60'000) continue;  // vanished series: no score
    if (w.score >= d.options.threshold) ++anomalous;
    out.push_back(core::Sample{"echomon_anomaly_score", w.score_labels, w.score,
                               core::MetricType::kGauge, kScoreHelp});
    out.push_back(core::Sample{"echomon_anomaly_baseline", w.score_labels, w.detector->baseline(),
                               core::MetricType::kGauge, kBaselineHelp});
  }
  const double n = static_cast<double>(d.watched.size());
  out.push_back(core::Sample{"echomon_anomaly_rate",
                             {},
                             n > 0 ? static_cast<double>(anomalous) / n : 0,
                             core::MetricType::kGauge,
                             "Share of watched series whose anomaly score is at or above the "
                             "threshold now (0-1)."});
  out.push_back(core::Sample{"echomon_anomaly_watched_series",
                             {},
                             n,
                             core::MetricType::kGauge,
                             "Series the anomaly detector watches."});
}

}  // namespace echomon::monitor
