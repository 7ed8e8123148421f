// Fuzz target for the push API's JSON body parser (POST /api/v1/push with application/json).
// Any input must return (ok or an error naming the problem), never crash, hang or overflow the
// stack; an accepted body respects the limits it was parsed with.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collect/push/component_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using echomon::collect::push::ParsePushJson;
  using echomon::collect::push::PushLimits;
  using echomon::collect::push::ValidComponentName;
  using echomon::collect::push::ValidMetricName;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  PushLimits limits;
  limits.max_body_bytes = 64 << 10;
  limits.max_series_per_component = 100;
  limits.max_labels_per_series = 8;
  auto result = ParsePushJson(body, limits);
  if (!result.ok()) {
    if (result.status().message().empty()) __builtin_trap();  // an error always says why
    return 0;
  }
  if (result->metrics.size() > limits.max_series_per_component) __builtin_trap();
  if (result->labels.size() > limits.max_labels_per_series) __builtin_trap();
  if (!result->component.empty() && !ValidComponentName(result->component)) __builtin_trap();
  for (const auto& [name, value] : result->metrics) {
    if (!ValidMetricName(name)) __builtin_trap();
  }
  return 0;
}
