// Inference-engine metrics: EngineCollector scrapes an Aphrodite Engine or vLLM `/metrics`
// endpoint and derives the echomon_engine_* metrics (throughput, latency quantiles, KV-cache
// use, queue depth, preemptions, prefix-cache hit rate, request outcomes) from the engine's own
// counters, gauges and histograms. The derivations, the accepted metric-name aliases and the
// behaviour when the engine is absent are documented in docs/engine.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collect/collector.h"
#include "collect/expfmt/parser.h"
#include "collect/scrape/scrape_collector.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace echomon::collect {

// One cumulative histogram bucket: the number of observations <= upper_bound.
struct HistogramBucket {
  double upper_bound = 0;
  double count = 0;
};

// The q-quantile of a classic histogram, computed exactly as Prometheus' histogram_quantile():
// buckets are sorted by upper bound, equal bounds merged, counts forced monotonic; the value is
// interpolated linearly inside the bucket holding rank q*total (the first bucket starts at 0
// unless its upper bound is <= 0, in which case that bound is returned); a rank falling in the
// +Inf bucket returns the highest finite upper bound. Returns NaN for NaN q, no buckets, no +Inf
// bucket, fewer than two buckets, or zero observations; -Inf for q < 0 and +Inf for q > 1.
double HistogramQuantile(double q, std::vector<HistogramBucket> buckets);

// Collector for one engine. target.name is the engine name (the engine="<name>" label);
// target.extra_labels are added to every derived sample. name() is "engine:<target.name>".
//
// Each Collect() scrapes once (see FetchExposition), aggregates the engine's series per
// model_name across engine/process labels, and derives the echomon_engine_* samples. Rates and
// latency quantiles come from the difference to the previous successful scrape, so the first
// scrape (and the first after a failure) yields only gauges. A counter that went down, or whose
// `_created` changed, restarted: its new value is taken as the increase. A latency quantile with
// no new observations in the interval is not emitted.
//
// When the endpoint cannot be scraped, or exposes no `vllm:`/`aphrodite:` metrics, Collect()
// emits only echomon_engine_up{engine} 0 and returns the error (never zeros for the rest).
//
// With target.interval_ms set, a tick before the target is due scrapes nothing and re-emits
// the previous scrape's derived samples and status unchanged; rates and quantiles then cover
// the interval between two actual scrapes.
//
// Thread-safety: as for every Collector, one Collect() at a time.
class EngineCollector final : public Collector {
 public:
  // clock (the rate interval) must outlive the collector; nullptr means SystemClock::Get().
  explicit EngineCollector(ScrapeTarget target, Clock* clock = nullptr);
  ~EngineCollector() override;

  std::string_view name() const override { return name_; }
  Status Collect(core::SampleBatch& out) override;

  // The derivation step on its own: treats families as scraped at monotonic time now_ns.
  // Returns NotFound (and emits only echomon_engine_up 0) when no engine metrics are present.
  Status Derive(const std::vector<expfmt::MetricFamily>& families, int64_t now_ns,
                core::SampleBatch& out);

  // "vllm:" or "aphrodite:" as detected in the last successful scrape; empty before.
  const std::string& prefix() const { return prefix_; }

 private:
  struct Snapshot;
  void EmitUp(bool up, core::SampleBatch& out) const;

  ScrapeTarget target_;
  Clock* clock_;
  std::string name_;
  ScrapeSchedule schedule_;
  core::SampleBatch last_batch_;
  Status last_status_;
  std::string prefix_;
  std::unique_ptr<Snapshot> previous_;
};

}  // namespace echomon::collect
