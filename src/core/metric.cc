#include "core/metric.h"

namespace echomon::core {

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      return "untyped";
    case MetricType::kGauge:
      break;
  }
  return "gauge";
}

MetricType MetricTypeFromName(std::string_view name) {
  if (name == "counter") return MetricType::kCounter;
  if (name == "histogram") return MetricType::kHistogram;
  if (name == "summary") return MetricType::kSummary;
  if (name == "untyped") return MetricType::kUntyped;
  return MetricType::kGauge;
}

}  // namespace echomon::core
