// Quick start: the C++ counterpart of the prototype's Quick Start.
//
// Creates a monitor with the built-in configuration, registers a custom component collector,
// starts monitoring, reads the current metrics and a performance summary, saves everything to
// a JSON file and stops. Usage: quick_start [OUTPUT.json]
#include <cstdio>
#include <map>
#include <string>

#include "echomon/monitor.h"

int main(int argc, char** argv) {
  const std::string output = argc > 1 ? argv[1] : "echomon_metrics.json";

  echomon::MonitorOptions options;  // built-in defaults: host collectors, 1 s interval
  options.listen = "127.0.0.1:0";   // any free port, so the example never clashes
  options.persist = false;          // keep this demo's history in memory only
  auto created = echomon::Monitor::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "cannot create monitor: %s\n", created.status().ToString().c_str());
    return 1;
  }
  echomon::Monitor& monitor = **created;

  // A component reports its own numbers; each becomes a series labelled collector="my_component".
  int requests = 0;
  monitor.RegisterCollector("my_component", [&requests] {
    return std::map<std::string, double>{{"queue_depth", 3}, {"requests", ++requests}};
  });
  monitor.RegisterAlertHandler([](const echomon::Alert& alert) {
    std::printf("ALERT %s: %s\n", alert.rule.c_str(), alert.message.c_str());
  });

  if (echomon::Status s = monitor.Start(); !s.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("monitoring: %s, API at http://%s/\n", monitor.is_monitoring() ? "yes" : "no",
              monitor.http_address().c_str());

  // Collect twice right now instead of waiting for the 1 s ticks, so CPU deltas exist.
  monitor.CollectOnce();
  monitor.CollectOnce();

  auto current = monitor.CurrentMetrics();
  std::printf("%zu current series, for example:\n", current.size());
  for (const auto& m : current) {
    if (m.name.find("memory") != std::string::npos || m.labels.count("collector")) {
      std::printf("  %-40s %g\n", m.name.c_str(), m.value);
    }
  }

  echomon::PerformanceSummary summary = monitor.GetPerformanceSummary();
  std::printf("summary over %lld s:\n", static_cast<long long>(summary.window_ms / 1000));
  for (const auto& m : summary.metrics) {
    std::printf("  %-40s current %-10g avg %-10g min %-10g max %g\n", m.name.c_str(), m.current,
                m.average, m.minimum, m.maximum);
  }

  if (echomon::Status s = monitor.SaveMetrics(output); !s.ok()) {
    std::fprintf(stderr, "cannot save metrics: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("saved metrics to %s\n", output.c_str());
  monitor.Stop();
  return monitor.is_monitoring() ? 1 : 0;
}
