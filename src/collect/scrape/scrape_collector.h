// ScrapeCollector: pulls one Prometheus / OpenMetrics `/metrics` endpoint per tick and turns
// every exposed sample into a core::Sample, plus per-target self-metrics.
//
// Ownership: a ScrapeCollector owns its target description and the small state it keeps
// between scrapes (the `_created` timestamps it has seen). Thread-safety: like every
// Collector, Collect() is called from one runner thread at a time; accessors may race with it
// only when the caller serialises them (tests call them between scrapes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collect/collector.h"
#include "collect/expfmt/parser.h"
#include "core/labels.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace echomon::collect {

// One scrape target.
struct ScrapeTarget {
  std::string name;           // becomes the target="<name>" label; unique among targets
  std::string url;            // http://host:port/path (https when the HTTP library has TLS)
  int64_t timeout_ms = 2000;  // connect timeout, and the timeout of each read
  std::map<std::string, std::string> headers;  // extra request headers (e.g. Authorization)
  core::Labels extra_labels;                   // added to every sample (override exposed ones)
  std::vector<std::string> drop_labels;        // removed from every sample
  size_t sample_limit = 50000;  // more samples fails the scrape; 0: the parser default only
  // Scrape every interval_ms; 0 (or less than the agent's interval): on every tick. Between
  // scrapes the collector re-emits what the last scrape produced (docs/engine.md).
  int64_t interval_ms = 0;
};

// When a target with its own interval is due. Scrapes are spaced interval_ms apart on the
// collector clock's monotonic time; a tick up to 5% of the interval early still counts as due,
// so an interval that is a multiple of the agent's interval is kept despite tick jitter.
// Not thread-safe (owned by one collector).
class ScrapeSchedule {
 public:
  explicit ScrapeSchedule(int64_t interval_ms) : interval_ns_(interval_ms * 1'000'000) {}
  // True when nothing was scraped yet, the interval is 0, or the interval has (nearly) passed.
  bool Due(int64_t now_ns) const {
    return !scraped_ || interval_ns_ <= 0 || now_ns - last_ns_ >= interval_ns_ - interval_ns_ / 20;
  }
  void Scraped(int64_t now_ns) {
    scraped_ = true;
    last_ns_ = now_ns;
  }

 private:
  int64_t interval_ns_;
  bool scraped_ = false;
  int64_t last_ns_ = 0;
};

// A fetched and parsed exposition.
struct ScrapedExposition {
  expfmt::Format format = expfmt::Format::kPrometheusText;
  std::string content_type;
  std::vector<expfmt::MetricFamily> families;
};

// GETs target.url (with target.timeout_ms and target.headers), picks the format from the
// response's Content-Type and parses the body, bounded by target.sample_limit. Errors name the
// URL and the reason: kUnavailable for a connection failure (e.g. "connection refused"),
// kTimeout for a timeout, kIoError for a non-2xx HTTP status ("HTTP 500"), kParseError with the
// line and column for a malformed body, kResourceExhausted for more than sample_limit samples,
// kInvalidArgument for a URL that cannot be parsed.
Result<ScrapedExposition> FetchExposition(const ScrapeTarget& target);

// Collector for one target. name() is "scrape:<target.name>".
//
// Each Collect() scrapes once and appends, for every exposed sample, a core::Sample named as
// exposed (suffix included: `_total`, `_bucket`, `_sum`, `_count`), labelled with the exposed
// labels + target.extra_labels − target.drop_labels + target="<name>". Samples keep their
// family's type: counter → kCounter, histogram parts → kHistogram, summary parts → kSummary,
// unknown/untyped → kUntyped, everything else (gauge, info, stateset, gaugehistogram) → kGauge.
// `_created` samples are not emitted; they are remembered, and a changed `_created` for the
// same series counts a counter restart.
//
// With target.interval_ms set, a tick before the target is due scrapes nothing and re-emits
// the previous scrape's samples (and self-metrics) and status unchanged.
//
// Self-metrics, labelled target="<name>", are appended on success and on failure:
// echomon_scrape_up (1/0), echomon_scrape_duration_seconds, echomon_scrape_samples (samples
// emitted; 0 on failure) and echomon_scrape_errors_total (failed scrapes since construction).
// On failure Collect() returns FetchExposition's error and emits no scraped samples.
class ScrapeCollector final : public Collector {
 public:
  // clock (for durations) must outlive the collector; nullptr means SystemClock::Get().
  explicit ScrapeCollector(ScrapeTarget target, Clock* clock = nullptr);

  std::string_view name() const override { return name_; }
  Status Collect(core::SampleBatch& out) override;

  const ScrapeTarget& target() const { return target_; }
  // Counter restarts detected through changed `_created` values since construction.
  uint64_t counter_restarts() const { return counter_restarts_; }
  uint64_t errors() const { return errors_; }
  // Scrapes actually performed (ticks that only re-emitted are not counted).
  uint64_t scrapes() const { return scrapes_; }

 private:
  Status Scrape(core::SampleBatch& out);

  ScrapeTarget target_;
  ScrapeSchedule schedule_;
  core::SampleBatch last_batch_;
  Status last_status_;
  uint64_t scrapes_ = 0;
  Clock* clock_;
  std::string name_;
  uint64_t errors_ = 0;
  uint64_t counter_restarts_ = 0;
  std::unordered_map<std::string, double> created_;  // SeriesKey of the _created sample -> value
};

}  // namespace echomon::collect
