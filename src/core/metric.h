// Sample: one measured value of one series at collection time, as produced by collectors and
// consumed by the store. The timestamp is assigned by whoever runs the collection tick.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"

namespace echomon::core {

// kHistogram / kSummary mark every series of a scraped or pushed histogram (`_bucket`, `_sum`,
// `_count`) or summary (quantiles, `_sum`, `_count`), so /metrics can expose the family with
// its type; kUntyped is an exposed family of unknown type.
enum class MetricType { kGauge, kCounter, kHistogram, kSummary, kUntyped };

// "gauge", "counter", "histogram", "summary", "untyped".
const char* MetricTypeName(MetricType type);
// The inverse of MetricTypeName; anything else is kGauge.
MetricType MetricTypeFromName(std::string_view name);

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
  MetricType type = MetricType::kGauge;
  // HELP text. Must outlive the sample's use; collectors point it at static strings.
  std::string_view help;
};

using SampleBatch = std::vector<Sample>;

}  // namespace echomon::core
