// Alert events as delivered to in-process handlers registered with Monitor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace echomon {

enum class Severity { kInfo, kWarning, kCritical };

struct Alert {
  std::string id;      // unique, sortable
  std::string rule;    // name of the rule that raised it
  std::string metric;  // metric the rule watches
  std::map<std::string, std::string> labels;
  Severity severity = Severity::kWarning;
  bool resolved = false;  // false: firing; true: the condition is over
  double value = 0;       // value that triggered (or cleared) the alert
  double threshold = 0;
  std::string message;
  int64_t timestamp_ms = 0;
};

// Called for every alert event. Handlers run on the agent's delivery thread and must not
// block for long; exceptions are caught and counted.
using AlertHandler = std::function<void(const Alert&)>;

}  // namespace echomon
