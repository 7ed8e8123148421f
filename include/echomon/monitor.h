// Monitor: the echomon agent as a C++ object.
//
// A Monitor collects host metrics (and any registered collector callbacks) every interval,
// stores them in its compressed series store (durably, in the data directory, unless
// persistence is off), serves them over HTTP, and answers questions about them from C++:
// the current snapshot, a series' history, a performance summary, and a JSON export.
//
//   echomon::MonitorOptions options;            // built-in defaults
//   auto monitor = echomon::Monitor::Create(options);
//   if (!monitor.ok()) { ... monitor.status().ToString() ... }
//   (*monitor)->RegisterCollector("dtesn", [] { return std::map<std::string, double>{{"depth", 3}};
//   });
//   (*monitor)->Start();
//   ...
//   (*monitor)->Stop();
//
// Ownership: the caller owns the Monitor; it owns everything it starts. Stop() (or the
// destructor) stops collection, flushes history to disk and stops the HTTP server.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "echomon/alert.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace echomon {

struct MonitorOptions {
  std::string config_file;               // YAML/JSON configuration; empty: built-in defaults
  std::optional<std::string> listen;     // overrides server.listen
  std::optional<std::string> data_dir;   // overrides storage.data_dir
  std::optional<bool> persist;           // overrides storage.persist
  std::optional<int64_t> interval_ms;    // overrides the collection interval
  std::optional<std::string> proc_root;  // overrides host.proc_root
  bool serve_http = true;                // start the HTTP server in Start()
  bool run_loop = true;                  // collect on a background thread in Start(); when false
                                         // the caller drives collection with CollectOnce()
  Clock* clock = nullptr;                // nullptr: the system clock
};

// Returns name -> value pairs; each becomes a gauge series labelled collector=<name>.
using CollectorFn = std::function<std::map<std::string, double>()>;

struct MetricValue {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  int64_t timestamp_ms = 0;
};

struct HistoryPoint {
  int64_t timestamp_ms = 0;
  double value = 0;
};

struct MetricSummary {
  std::string name;
  std::map<std::string, std::string> labels;
  double current = 0;
  double average = 0;
  double minimum = 0;
  double maximum = 0;
  size_t samples = 0;
};

struct CollectorStatus {
  std::string name;
  bool healthy = true;
  double last_duration_ms = 0;
  uint64_t errors = 0;
  uint64_t timeouts = 0;
  std::string last_error;
};

// An alerting rule defined in code; the fields mean what the keys of a `rules:` entry in the
// configuration mean (docs/rules.md). At least one of info/warning/critical must be set.
struct RuleDefinition {
  std::string name;
  std::string kind = "threshold";  // threshold, trend, degradation, forecast, baseline
  std::string metric;
  std::map<std::string, std::string> labels;  // equality matchers
  std::string comparison = "above";           // above, below
  std::string aggregation = "last";           // last, avg, min, max, rate, quantile
  double quantile = 0.95;
  int64_t window_ms = 0;
  int samples = 10;                                                 // degradation
  int64_t ahead_ms = 4LL * 3600 * 1000;                             // forecast
  int warmup = 60;                                                  // baseline
  std::optional<double> info, warning, critical;                    // thresholds
  std::optional<double> info_clear, warning_clear, critical_clear;  // hysteresis
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::string summary;  // {value}, {threshold}, {labels} are substituted
  std::map<std::string, std::string> annotations;
};

struct PerformanceSummary {
  int64_t generated_at_ms = 0;
  int64_t window_ms = 0;
  bool monitoring = false;
  double uptime_seconds = 0;
  uint64_t series = 0;
  uint64_t samples_stored = 0;
  std::vector<MetricSummary> metrics;  // the key host metrics and every registered collector's
  std::vector<CollectorStatus> collectors;
};

// Incident response statistics (docs/incidents.md), over every incident in the database.
struct ResponseCounts {
  uint64_t total_responses = 0;
  uint64_t active_responses = 0;
  uint64_t successful_responses = 0;  // resolved without escalating
  uint64_t resolved_responses = 0;
  uint64_t failed_responses = 0;
  uint64_t escalated_responses = 0;
  uint64_t dry_run_responses = 0;
  double success_rate = 0;                  // successful / closed
  double mean_time_to_resolve_seconds = 0;  // over resolved incidents; 0 when none
};

struct ActionStatistics {
  uint64_t runs = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t dry_run = 0;
  uint64_t interrupted = 0;
  double success_rate = 0;
  double mean_duration_ms = 0;
  uint64_t bytes_freed = 0;
};

struct ResponseStatistics : ResponseCounts {
  bool available = false;  // false: incident response is not running (no statistics)
  std::map<std::string, ResponseCounts> by_playbook;
  std::map<std::string, ActionStatistics> by_action;  // by action type
};

class Monitor {
 public:
  // Loads the configuration (file or built-in), applies the overrides and prepares the agent.
  // Fails with every configuration problem in the message.
  static Result<std::unique_ptr<Monitor>> Create(const MonitorOptions& options);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Opens the data directory (restoring history), starts the HTTP server and the collection
  // loop. Fails, naming the cause, when the data directory or listen address is unusable.
  Status Start();
  // Stops collecting and serving and flushes history. Safe to call twice.
  void Stop();
  bool is_monitoring() const;

  // Re-reads the configuration file and applies what can change while running (interval,
  // timeouts, log level, host collector options, retention). On error nothing changes.
  Status Reload();

  // Runs one collection tick now, at the clock's current time.
  void CollectOnce();

  // Registers (or replaces, by name) a collector callback run every tick.
  void RegisterCollector(const std::string& name, CollectorFn fn);
  bool UnregisterCollector(const std::string& name);
  // Adds (or replaces, by name) a rule next to the configured ones; it survives Reload().
  // Fails, naming the rule and the problem, when the definition is invalid.
  Status AddRule(const RuleDefinition& rule);
  // Removes a rule added with AddRule. Returns false when there was none.
  bool RemoveRule(const std::string& name);
  // Registers a handler for alert events (raised by the alerting rules).
  void RegisterAlertHandler(AlertHandler handler);

  // The latest value of every series.
  std::vector<MetricValue> CurrentMetrics() const;
  // Samples of the series name{labels} (labels must match exactly) at or after since_ms.
  std::vector<HistoryPoint> MetricsHistory(const std::string& name,
                                           const std::map<std::string, std::string>& labels = {},
                                           int64_t since_ms = 0) const;
  // Current/average/min/max of the key metrics over the last window_ms.
  PerformanceSummary GetPerformanceSummary(int64_t window_ms = 3'600'000) const;
  // Writes the current snapshot, the summary and the last history_ms of every series to a
  // JSON file (atomically: a temporary file renamed into place). Fails naming the path.
  Status SaveMetrics(const std::string& path, int64_t history_ms = 600'000) const;

  // Incident response statistics: totals, per playbook, per action type (what
  // GET /api/v1/responses/stats answers). available=false before Start().
  ResponseStatistics GetResponseStatistics() const;

  // "host:port" the HTTP server is bound to; empty when not serving.
  std::string http_address() const;
  // The API token (from the configuration, or generated at start).
  std::string token() const;

  struct Impl;

 private:
  explicit Monitor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon
