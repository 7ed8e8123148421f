// Sample: one measured value of one series at collection time, as produced by collectors and
// consumed by the store. The timestamp is assigned by whoever runs the collection tick.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"

namespace echomon::core {

enum class MetricType { kGauge, kCounter };

const char* MetricTypeName(MetricType type);  // "gauge" / "counter"

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
