// Renders series in the Prometheus text exposition format 0.0.4.
//
// One HELP and TYPE line per metric family, families and series in a stable sorted order,
// HELP text and label values escaped as the format requires, values in shortest round-trip
// form with NaN / +Inf / -Inf spelled as Prometheus expects. Timestamps are omitted (the
// scraper stamps samples), which is what Prometheus recommends for exporters.
#pragma once

#include <cstdint>
#include <string>

#include "store/series_store.h"

namespace echomon::server {

// Formats a sample value: "NaN", "+Inf", "-Inf" or the shortest round-trip decimal.
std::string FormatSampleValue(double v);

// Appends the exposition of every series in store whose latest sample is at or after
// min_t_ms (older series are stale: a vanished interface or mount is not reported forever).
void RenderExposition(const store::SeriesStore& store, int64_t min_t_ms, std::string* out);

}  // namespace echomon::server
