#include "core/metric.h"

namespace echomon::core {

const char* MetricTypeName(MetricType type) {
  return type == MetricType::kCounter ? "counter" : "gauge";
}

}  // namespace echomon::core
