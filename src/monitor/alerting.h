// AlertingPipeline: the glue from rules to notifications inside the agent.
//
// Every tick it evaluates the rules over the store, feeds the results to the alert tracker
// (which journals every transition to SQLite before anything is told), checks silences and
// maintenance windows, and hands the events to the notification dispatcher. It also answers
// the alerting API (alerts, history, rules, silences) as JSON and writes the dashboard
// snapshot file.
//
// Thread-safety: Evaluate() is called from the tick thread; the JSON accessors and silence
// mutations may be called from HTTP threads concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "alert/silences.h"
#include "analyze/rules/rules.h"
#include "core/config.h"
#include "core/metric.h"
#include "echomon/alert.h"
#include "echomon/clock.h"
#include "echomon/status.h"
#include "store/series_store.h"

namespace echomon::monitor {

// The rules the configuration asks for: the built-in ones (unless alerting.default_rules is
// false, with the prototype's alert_thresholds and degradation_detection applied to them),
// then the configured rules (a configured rule replaces a built-in one of the same name).
// Errors name the file, the line and the rule.
Result<std::vector<analyze::RuleSpec>> BuildRules(const core::Config& config);
Result<std::vector<alert::MaintenanceWindow>> BuildMaintenanceWindows(const core::Config& config);
// Every semantic problem of the alerting configuration (rules, maintenance windows, and the
// playbooks that answer alerts), one line each (empty: fine).
std::vector<std::string> AlertingConfigProblems(const core::Config& config);

class AlertingPipeline {
 public:
  // db_path: the SQLite database for alert transitions and silences; empty keeps them in memory.
  // external_url: the agent's base URL for links in notifications.
  static Result<std::unique_ptr<AlertingPipeline>> Create(const core::Config& config,
                                                          const store::SeriesStore* store,
                                                          Clock* clock, const std::string& db_path,
                                                          const std::string& external_url);
  ~AlertingPipeline();

  // Restores active alerts from the journal and starts delivering.
  Status Start();
  // Stops delivery (after in-flight deliveries end).
  void Stop();
  // Applies new rules and maintenance windows; on error nothing changes.
  Status Reload(const core::Config& config);

  // Evaluates every rule at now_ms and notifies what changed.
  void Evaluate(int64_t now_ms);
  // Delivers due notifications on the calling thread (tests with a manual clock).
  size_t PumpNotifications();

  void AddHandler(AlertHandler handler);
  // Delivers one message now, on the calling thread, to the named notifiers (empty: every
  // configured notifier; "log" and "file" when none is configured), bypassing silences and the
  // queues. Used for incident escalations. Fails naming an unknown notifier or each notifier
  // that did not take the message.
  Status SendToNotifiers(const std::vector<std::string>& names, const Alert& alert,
                         const std::map<std::string, std::string>& annotations);

  // Self-metrics: alerts by state and severity, rule evaluation, notifier outcomes.
  void AppendSelfMetrics(core::SampleBatch& out) const;

  nlohmann::json AlertsJson() const;
  nlohmann::json HistoryJson(int64_t since_ms, size_t limit) const;
  nlohmann::json RulesJson() const;
  nlohmann::json SilencesJson(bool include_expired) const;
  // body: {"matchers": "alertname=\"x\"" or {"alertname": "x"}, "starts_at"?, "ends_at" or
  // "duration", "author", "comment"}. Returns {"id": ...}.
  Result<nlohmann::json> CreateSilence(const nlohmann::json& body);
  Status ExpireSilence(const std::string& id);
  nlohmann::json NotifiersJson() const;

  struct Impl;

 private:
  explicit AlertingPipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::monitor
