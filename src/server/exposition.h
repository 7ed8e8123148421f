// Renders series in the Prometheus text exposition format 0.0.4.
//
// One HELP and TYPE line per metric family, families and series in a stable sorted order,
// HELP text and label values escaped as the format requires, values in shortest round-trip
// form with NaN / +Inf / -Inf spelled as Prometheus expects. Timestamps are omitted (the
// scraper stamps samples), which is what Prometheus recommends for exporters.
//
// Histograms and summaries (series typed core::MetricType::kHistogram / kSummary, as the scrape
// collector and the push API store them) are rendered as one family named after their base
// name: `# TYPE x histogram`, then per label set the `x_bucket` series in increasing `le`, then
// `x_sum` and `x_count` (for a summary: the quantiles in increasing order, `x_sum`, `x_count`).
// A family whose series disagree on their type is rendered `untyped`.
//
// Thread-safety: pure functions over a thread-safe store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/labels.h"
#include "core/metric.h"
#include "store/series_store.h"

namespace echomon::server {

// Formats a sample value: "NaN", "+Inf", "-Inf" or the shortest round-trip decimal.
std::string FormatSampleValue(double v);

// The family a series belongs to in the exposition: the base name of a histogram part
// (`_bucket`, `_sum`, `_count` stripped) or of a summary's `_sum` / `_count`; otherwise the
// series name itself.
std::string FamilyName(std::string_view name, core::MetricType type, const core::Labels& labels);

// Appends the exposition of every series in store whose latest sample is at or after
// min_t_ms (older series are stale: a vanished interface or mount is not reported forever).
void RenderExposition(const store::SeriesStore& store, int64_t min_t_ms, std::string* out);

}  // namespace echomon::server
