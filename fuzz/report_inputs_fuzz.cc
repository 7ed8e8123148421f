// Fuzz target for the report builder's handling of what other components hand it (the status
// body, alert history and active alerts, the components.status and incidents.* sources): any
// JSON of any shape must give a report and an HTML page, never an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "report/report.h"
#include "store/series_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  json in = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded()) return 0;
  static echomon::store::SeriesStore store({});
  auto field = [&](const char* key) {
    return in.is_object() && in.contains(key) ? in[key] : json();
  };
  echomon::report::ReportInputs inputs;
  inputs.store = &store;
  inputs.status = field("status");
  inputs.active_alerts = field("active");
  inputs.alert_history = field("history");
  inputs.components = field("components");
  inputs.incident_stats = field("incident_stats");
  inputs.incidents = field("incidents");
  echomon::report::ReportOptions options;
  options.now_ms = 1'764'000'000'000;
  options.window_ms = 3'600'000;
  try {
    const json report = echomon::report::BuildReport(inputs, options);
    const std::string html = echomon::report::RenderHtml(report);
    if (html.rfind("<!DOCTYPE html>", 0) != 0) __builtin_trap();
  } catch (...) {
    __builtin_trap();  // the report never throws on odd input
  }
  return 0;
}
