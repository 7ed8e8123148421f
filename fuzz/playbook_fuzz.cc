// Fuzz target for playbooks: the bytes are read both as a label-matcher list
// (core::ParseLabelMatchers) and as a configuration whose playbooks are built (BuildPlaybooks:
// matchers, YAML action parameters converted to JSON, priorities, escalation). Never a crash, a
// hang or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.h"
#include "core/labels.h"
#include "respond/incidents/playbook.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::map<std::string, std::string> labels = {
      {"alertname", "disk_usage_high"}, {"severity", "critical"}, {"mount", "/"}};
  std::vector<echomon::core::LabelMatcher> terms;
  std::string error;
  size_t total = 0;
  if (echomon::core::ParseLabelMatchers(text, &terms, &error)) {
    for (const auto& t : terms) total += t.Matches(labels) ? 1 : 0;
  } else if (error.empty()) {
    __builtin_trap();  // a refusal always says why
  }
  echomon::core::ConfigLoadResult loaded =
      echomon::core::LoadConfigString(text, "fuzz.yaml", "/nonexistent/base");
  if (loaded.ok()) {
    auto playbooks = echomon::respond::BuildPlaybooks(loaded.config);
    if (playbooks.ok()) {
      for (const auto& p : *playbooks) total += p.Matches(labels) ? 1 : 0;
    } else {
      total += playbooks.status().message().size();
    }
  }
  return total == SIZE_MAX ? 1 : 0;
}
