#include "monitor/alerting.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "alert/alert_tracker.h"
#include "alert/notify/callback_notifier.h"
#include "alert/notify/dispatcher.h"
#include "alert/notify/file_notifier.h"
#include "alert/notify/http_notifiers.h"
#include "alert/notify/log_notifier.h"
#include "alert/notify/program_notifier.h"
#include "alert/sqlite_journal.h"
#include "core/log.h"
#include "respond/action.h"
#include "respond/incidents/playbook.h"

namespace echomon::monitor {
namespace {

using nlohmann::json;

std::string Where(const core::Config& c, int line) {
  std::string file = c.source.empty() ? "<built-in>" : c.source;
  return line > 0 ? fmt::format("{}:{}: ", file, line) : file + ": ";
}

json LabelsJson(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels.items()) out[l.name] = l.value;
  return out;
}

json Number(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

Result<analyze::RuleSpec> ToSpec(const core::RuleConfig& rc, const core::Config& c) {
  analyze::RuleSpec r;
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument(Where(c, rc.line) + "rules: rule '" + rc.name + "': " + why);
  };
  r.name = rc.name;
  static const std::pair<const char*, analyze::RuleKind> kKinds[] = {
      {"threshold", analyze::RuleKind::kThreshold},     {"trend", analyze::RuleKind::kTrend},
      {"degradation", analyze::RuleKind::kDegradation}, {"forecast", analyze::RuleKind::kForecast},
      {"baseline", analyze::RuleKind::kBaseline},       {"anomaly", analyze::RuleKind::kAnomaly}};
  bool kind_ok = false;
  for (const auto& [name, kind] : kKinds) {
    if (rc.kind == name) {
      r.kind = kind;
      kind_ok = true;
    }
  }
  if (!kind_ok) return fail("unknown kind '" + rc.kind + "'");
  r.metric = rc.metric;
  std::string error;
  if (!core::ParseLabelMatchers(rc.labels, &r.matchers, &error)) return fail("labels: " + error);
  r.comparison =
      rc.comparison == "below" ? analyze::Comparison::kBelow : analyze::Comparison::kAbove;
  if (!analyze::ParseWindowAggregation(rc.aggregation, &r.aggregation)) {
    return fail("unknown aggregation '" + rc.aggregation + "'");
  }
  r.quantile = rc.quantile;
  r.window_ms = rc.window_ms;
  if (r.kind == analyze::RuleKind::kDegradation && r.window_ms == 0) r.window_ms = 3600'000;
  r.samples = rc.samples;
  r.ahead_ms = rc.ahead_ms;
  r.warmup = rc.warmup;
  r.for_ms = rc.for_ms;
  r.keep_firing_for_ms = rc.keep_firing_for_ms;
  r.summary =
      rc.summary.empty() ? rc.name + ": {value} (threshold {threshold}) {labels}" : rc.summary;
  r.annotations = rc.annotations;
  for (const auto& l : rc.levels) {
    analyze::SeverityLevel level;
    if (!alert::ParseSeverity(l.severity, &level.severity)) {
      return fail("unknown severity '" + l.severity + "'");
    }
    level.threshold = l.threshold;
    level.clear = l.clear;
    r.levels.push_back(level);
  }
  if (Status s = r.Validate(); !s.ok())
    return Status::InvalidArgument(Where(c, rc.line) + s.message());
  return r;
}

// The prototype's alert_thresholds keys and the built-in rule each one sets.
struct LegacyKey {
  const char* key;
  const char* rule;
  double scale;  // prototype unit -> rule unit
};
constexpr LegacyKey kLegacyKeys[] = {
    {"cpu_usage", "cpu_usage_high", 1},
    {"memory_usage", "memory_usage_high", 1},
    {"gpu_utilization", "gpu_utilization_high", 1},
    {"request_latency", "request_latency_high", 0.001},  // ms -> s
    {"sensory_motor_latency", "sensory_motor_latency_high", 1},
    {"token_throughput", "token_throughput_low", 1},
    {"evolution_convergence", "evolution_convergence_low", 1},
    {"proprioceptive_accuracy", "proprioceptive_accuracy_low", 1},
};

}  // namespace

Result<std::vector<analyze::RuleSpec>> BuildRules(const core::Config& c) {
  std::vector<analyze::RuleSpec> rules;
  if (c.alerting.default_rules) {
    rules = analyze::DefaultRules();
    for (const auto& [key, value] : c.legacy.alert_thresholds) {
      const LegacyKey* known = nullptr;
      for (const auto& k : kLegacyKeys) {
        if (key == k.key) known = &k;
      }
      if (!known) {
        return Status::InvalidArgument(Where(c, 0) + "alert_thresholds." + key +
                                       ": no built-in rule uses this prototype key");
      }
      for (auto& r : rules) {
        if (r.name != known->rule) continue;
        // The first (least severe) level takes the prototype's threshold; its clear keeps its
        // distance from the threshold.
        analyze::SeverityLevel& level = r.levels.front();
        const double margin = level.clear ? *level.clear - level.threshold : 0;
        level.threshold = value * known->scale;
        if (level.clear) level.clear = level.threshold + margin;
      }
    }
    for (auto& r : rules) {
      if (r.kind == analyze::RuleKind::kDegradation) {
        r.samples = c.legacy.degradation_window;
        r.levels.front().threshold = c.legacy.degradation_threshold;
      }
    }
  }
  for (const auto& rc : c.alerting.rules) {
    auto spec = ToSpec(rc, c);
    if (!spec.ok()) return spec.status();
    auto same = std::find_if(rules.begin(), rules.end(),
                             [&](const analyze::RuleSpec& r) { return r.name == rc.name; });
    if (same != rules.end()) {
      *same = std::move(spec).value();
    } else {
      rules.push_back(std::move(spec).value());
    }
  }
  return rules;
}

Result<std::vector<alert::MaintenanceWindow>> BuildMaintenanceWindows(const core::Config& c) {
  std::vector<alert::MaintenanceWindow> out;
  for (const auto& wc : c.alerting.maintenance_windows) {
    alert::MaintenanceWindow w;
    w.name = wc.name;
    w.days = wc.days;
    w.start_minute = wc.start_minute;
    w.end_minute = wc.end_minute;
    w.time_zone = wc.time_zone;
    std::string error;
    if (!core::ParseLabelMatchers(wc.labels, &w.matchers, &error)) {
      return Status::InvalidArgument(Where(c, wc.line) + "maintenance window '" + wc.name +
                                     "': labels: " + error);
    }
    if (Status s = w.Validate(); !s.ok()) {
      return Status::InvalidArgument(Where(c, wc.line) + s.message());
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::string> AlertingConfigProblems(const core::Config& config) {
  std::vector<std::string> problems;
  auto rules = BuildRules(config);
  if (!rules.ok()) problems.push_back(rules.status().message());
  auto windows = BuildMaintenanceWindows(config);
  if (!windows.ok()) problems.push_back(windows.status().message());
  // Playbooks answer alerts: their matchers and actions are checked with the rules.
  const respond::ActionLimits limits = respond::ActionLimitsFromConfig(config);
  auto playbooks = respond::BuildPlaybooks(config, &limits);
  if (!playbooks.ok()) problems.push_back(playbooks.status().message());
  return problems;
}

namespace {

// In-process handlers registered through the C++ API, which may be added while running.
class HandlerNotifier final : public alert::Notifier {
 public:
  std::string_view name() const override { return "handlers"; }
  bool retryable() const override { return false; }
  void Add(AlertHandler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_.push_back(std::move(h));
  }
  Status Deliver(const alert::Notification& n) override {
    std::vector<AlertHandler> handlers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      handlers = handlers_;
    }
    alert::CallbackNotifier callbacks(std::move(handlers), "handlers");
    return callbacks.Deliver(n);
  }

 private:
  std::mutex mu_;
  std::vector<AlertHandler> handlers_;
};

// One configured notifier (log, file, webhook, alertmanager, program).
Result<std::unique_ptr<alert::Notifier>> MakeConfiguredNotifier(const core::NotifierConfig& n,
                                                                const std::string& alert_dir,
                                                                const core::Config& config,
                                                                Clock* clock) {
  if (n.type == "log") return std::unique_ptr<alert::Notifier>(new alert::LogNotifier(n.name));
  if (n.type == "file") {
    std::string dir = n.directory.empty() ? alert_dir : n.directory;
    if (dir.empty()) {
      return Status::InvalidArgument(Where(config, n.line) +
                                     "file notifier needs a directory when nothing is persisted");
    }
    return std::unique_ptr<alert::Notifier>(new alert::FileNotifier(dir, n.name));
  }
  if (n.type == "webhook") {
    alert::WebhookOptions o;
    o.name = n.name;
    o.url = n.url;
    o.headers = n.headers;
    o.timeout_ms = n.timeout_ms;
    return std::unique_ptr<alert::Notifier>(new alert::WebhookNotifier(o));
  }
  if (n.type == "alertmanager") {
    alert::AlertmanagerOptions o;
    o.name = n.name;
    o.url = n.url;
    o.headers = n.headers;
    o.timeout_ms = n.timeout_ms;
    o.resend_interval_ms = n.resend_interval_ms;
    return std::unique_ptr<alert::Notifier>(new alert::AlertmanagerNotifier(o, clock));
  }
  if (n.type == "program") {
    alert::ProgramOptions o;
    o.name = n.name;
    o.argv = n.argv;
    o.timeout_ms = n.timeout_ms;
    return std::unique_ptr<alert::Notifier>(new alert::ProgramNotifier(o));
  }
  return Status::InvalidArgument(Where(config, n.line) + "unknown notifier type '" + n.type + "'");
}

}  // namespace

struct AlertingPipeline::Impl {
  Clock* clock = nullptr;
  const store::SeriesStore* store = nullptr;
  std::string external_url;
  std::unique_ptr<alert::SqliteAlertJournal> journal;
  std::unique_ptr<alert::AlertTracker> tracker;
  std::unique_ptr<alert::SilenceStore> silences;
  std::unique_ptr<alert::NotificationDispatcher> dispatcher;
  HandlerNotifier* handlers = nullptr;  // owned by the dispatcher
  // For SendToNotifiers (incident escalations): the notifiers as configured.
  std::vector<core::NotifierConfig> notifier_configs;
  std::string alert_dir;
  core::Config config_source;

  mutable std::mutex mu;  // guards evaluator, last_results, snapshot state
  std::unique_ptr<analyze::RuleEvaluator> evaluator;
  std::vector<analyze::RuleResult> last_results;
  std::string snapshot_file;
  int64_t snapshot_interval_ms = 10'000;
  int64_t last_snapshot_ms = 0;
  uint64_t notifications_muted = 0;
  int64_t last_eval_duration_us = 0;

  // Labels silences and windows match against: the alert's labels, its rule and severity.
  static core::Labels MatchLabels(const alert::AlertRecord& a) {
    core::Labels l = a.labels;
    l.Set("alertname", a.rule);
    l.Set("severity", alert::SeverityName(a.severity));
    return l;
  }

  std::optional<std::string> MutedBy(const alert::AlertRecord& a, int64_t now) const {
    const core::Labels l = MatchLabels(a);
    if (auto s = silences->MatchingSilence(l, now)) return "silence " + *s;
    if (auto w = silences->MatchingWindow(l, now)) return "maintenance window " + *w;
    return std::nullopt;
  }

  void WriteSnapshot(int64_t now) {
    json metrics = json::object();
    for (const auto& s : store->Select({}, {})) {
      if (s.name.find("_total") != std::string::npos) continue;  // counters need a rate
      if (s.name.rfind("echomon_collector", 0) == 0 || s.name.rfind("echomon_store", 0) == 0)
        continue;
      auto latest = store->Latest(s.id);
      if (!latest || latest->t_ms < now - 60'000) continue;
      metrics[core::SeriesKey(s.name, s.labels)] = Number(latest->v);
    }
    json doc = {{"generated_at", Seconds(now)}, {"metrics", std::move(metrics)}};
    doc["alerts"] = AlertsJsonLocked(now);
    const std::string tmp = snapshot_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << doc.dump(1) << '\n';
      if (!f) {
        core::WarnOnce("snapshot", "cannot write dashboard snapshot " + tmp);
        return;
      }
    }
    if (std::rename(tmp.c_str(), snapshot_file.c_str()) != 0) {
      core::WarnOnce("snapshot", "cannot rename dashboard snapshot to " + snapshot_file);
      return;
    }
    core::ResetOnce("snapshot");
  }

  json AlertsJsonLocked(int64_t now) const {
    json out = json::array();
    for (const auto& a : tracker->Active()) {
      auto muted = MutedBy(a, now);
      out.push_back(
          {{"id", a.id},
           {"fingerprint", a.fingerprint},
           {"rule", a.rule},
           {"labels", LabelsJson(a.labels)},
           {"state", alert::AlertStateName(a.state)},
           {"severity", alert::SeverityName(a.severity)},
           {"value", Number(a.value)},
           {"threshold", Number(a.threshold)},
           {"summary", a.summary},
           {"active_since", Seconds(a.active_since_ms)},
           {"firing_since", a.firing_since_ms ? json(Seconds(a.firing_since_ms)) : json()},
           {"duration_seconds", Seconds(now - a.active_since_ms)},
           {"silenced", muted.has_value()},
           {"silenced_by", muted ? json(*muted) : json()}});
    }
    return out;
  }
};

AlertingPipeline::AlertingPipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AlertingPipeline::~AlertingPipeline() { Stop(); }

Result<std::unique_ptr<AlertingPipeline>> AlertingPipeline::Create(
    const core::Config& config, const store::SeriesStore* store, Clock* clock,
    const std::string& db_path, const std::string& external_url) {
  auto rules = BuildRules(config);
  if (!rules.ok()) return rules.status();
  auto windows = BuildMaintenanceWindows(config);
  if (!windows.ok()) return windows.status();

  auto d = std::make_unique<Impl>();
  d->clock = clock;
  d->store = store;
  d->external_url =
      config.alerting.external_url.empty() ? external_url : config.alerting.external_url;
  auto journal = alert::SqliteAlertJournal::Open(db_path.empty() ? ":memory:" : db_path);
  if (!journal.ok()) return journal.status();
  d->journal = std::move(journal).value();
  d->tracker = std::make_unique<alert::AlertTracker>(clock, d->journal.get());
  auto silences = alert::SilenceStore::Open(db_path);
  if (!silences.ok()) return silences.status();
  d->silences = std::move(silences).value();
  d->silences->SetMaintenanceWindows(std::move(windows).value());
  d->evaluator = std::make_unique<analyze::RuleEvaluator>(store);
  if (Status s = d->evaluator->SetRules(std::move(rules).value()); !s.ok()) return s;

  const bool persist = config.storage.persist && !config.storage.data_dir.empty();
  const std::string alert_dir = !config.alerting.alert_dir.empty() ? config.alerting.alert_dir
                                : persist ? config.storage.data_dir + "/alerts"
                                          : std::string();
  d->snapshot_file = !config.alerting.snapshot_file.empty() ? config.alerting.snapshot_file
                     : persist ? config.storage.data_dir + "/dashboard.json"
                               : std::string();
  d->snapshot_interval_ms = config.alerting.snapshot_interval_ms;

  alert::DispatcherOptions options;
  options.external_url = d->external_url;
  for (const auto& n : config.alerting.notifiers) {
    options.max_attempts = std::max(options.max_attempts, n.max_attempts);
  }
  d->dispatcher = std::make_unique<alert::NotificationDispatcher>(clock, options);
  auto handlers = std::make_unique<HandlerNotifier>();
  d->handlers = handlers.get();
  d->dispatcher->AddNotifier(std::move(handlers));
  if (config.alerting.notifiers.empty()) {
    d->dispatcher->AddNotifier(std::make_unique<alert::LogNotifier>());
    if (!alert_dir.empty())
      d->dispatcher->AddNotifier(std::make_unique<alert::FileNotifier>(alert_dir));
  }
  for (const auto& n : config.alerting.notifiers) {
    auto notifier = MakeConfiguredNotifier(n, alert_dir, config, clock);
    if (!notifier.ok()) return notifier.status();
    d->dispatcher->AddNotifier(std::move(notifier).value());
  }
  d->notifier_configs = config.alerting.notifiers;
  d->alert_dir = alert_dir;
  d->config_source = config;
  return std::unique_ptr<AlertingPipeline>(new AlertingPipeline(std::move(d)));
}

Status AlertingPipeline::Start() {
  if (Status s = impl_->tracker->Restore(); !s.ok()) return s;
  impl_->dispatcher->Start();
  return Status::Ok();
}

void AlertingPipeline::Stop() {
  if (impl_ && impl_->dispatcher) impl_->dispatcher->Stop();
}

Status AlertingPipeline::Reload(const core::Config& config) {
  auto rules = BuildRules(config);
  if (!rules.ok()) return rules.status();
  auto windows = BuildMaintenanceWindows(config);
  if (!windows.ok()) return windows.status();
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  std::vector<std::string> removed;
  for (const auto& old : d.evaluator->rules()) {
    if (std::none_of(rules->begin(), rules->end(),
                     [&](const analyze::RuleSpec& r) { return r.name == old.name; })) {
      removed.push_back(old.name);
    }
  }
  if (Status s = d.evaluator->SetRules(std::move(rules).value()); !s.ok()) return s;
  d.silences->SetMaintenanceWindows(std::move(windows).value());
  // Alerts of rules that no longer exist end now (resolved if firing), and are told.
  const int64_t now = d.clock->NowMillis();
  for (const auto& name : removed) {
    for (const auto& e : d.tracker->Evaluate(name, alert::RuleTiming{}, {})) {
      alert::Notification n = alert::MakeNotification(e, now, d.external_url);
      n.silenced = d.MutedBy(e.alert, now).has_value();
      d.dispatcher->Enqueue(std::move(n));
    }
  }
  return Status::Ok();
}

void AlertingPipeline::Evaluate(int64_t now_ms) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  const int64_t started = d.clock->MonotonicNanos();
  d.last_results = d.evaluator->Evaluate(now_ms);
  const auto& rules = d.evaluator->rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    const analyze::RuleSpec& rule = rules[i];
    const analyze::RuleResult& result = d.last_results[i];
    std::vector<alert::Observation> observations;
    observations.reserve(result.series.size());
    for (const auto& s : result.series) {
      observations.push_back({s.labels, s.severity, s.value, s.threshold, s.summary});
    }
    auto events =
        d.tracker->Evaluate(rule.name, {rule.for_ms, rule.keep_firing_for_ms}, observations);
    for (const auto& e : events) {
      std::map<std::string, std::string> annotations = rule.annotations;
      for (const auto& s : result.series) {
        if (s.labels != e.alert.labels) continue;
        for (const auto& [k, v] : s.extra) annotations.emplace(k, fmt::format("{:.6g}", v));
      }
      alert::Notification n = alert::MakeNotification(e, now_ms, d.external_url, annotations);
      auto muted = d.MutedBy(e.alert, now_ms);
      n.silenced = muted.has_value();
      if (muted) ++d.notifications_muted;
      d.dispatcher->Enqueue(std::move(n));
    }
  }
  d.dispatcher->Tick(now_ms, d.tracker->Active(), [&d, now_ms](const alert::AlertRecord& a) {
    return d.MutedBy(a, now_ms).has_value();
  });
  d.last_eval_duration_us = (d.clock->MonotonicNanos() - started) / 1000;
  if (!d.snapshot_file.empty() && now_ms - d.last_snapshot_ms >= d.snapshot_interval_ms) {
    d.WriteSnapshot(now_ms);
    d.last_snapshot_ms = now_ms;
  }
}

Status AlertingPipeline::SendToNotifiers(const std::vector<std::string>& names, const Alert& alert,
                                         const std::map<std::string, std::string>& annotations) {
  const Impl& d = *impl_;
  std::vector<core::NotifierConfig> configs = d.notifier_configs;
  if (configs.empty()) {  // the defaults: a log line, and a file when there is an alert directory
    core::NotifierConfig log;
    log.type = log.name = "log";
    configs.push_back(log);
    if (!d.alert_dir.empty()) {
      core::NotifierConfig file;
      file.type = file.name = "file";
      configs.push_back(file);
    }
  }
  for (const auto& name : names) {
    if (std::none_of(configs.begin(), configs.end(),
                     [&](const core::NotifierConfig& c) { return c.name == name; })) {
      return Status::NotFound("no notifier named '" + name + "'");
    }
  }
  const int64_t now = d.clock->NowMillis();
  alert::Notification n;
  n.kind = alert::EventKind::kFiring;
  n.alert.id = alert.id;
  n.alert.rule = alert.rule;
  for (const auto& [k, v] : alert.labels) n.alert.labels.Set(k, v);
  n.alert.fingerprint = alert::AlertTracker::Fingerprint(alert.rule, n.alert.labels);
  n.alert.state = alert::AlertState::kFiring;
  n.alert.severity = alert.severity;
  n.alert.value = alert.value;
  n.alert.threshold = alert.threshold;
  n.alert.summary = alert.message;
  n.alert.active_since_ms = n.alert.firing_since_ms = alert.timestamp_ms ? alert.timestamp_ms : now;
  n.annotations = annotations;
  n.annotations.emplace("summary", alert.message);
  n.external_url = d.external_url;
  n.at_ms = now;
  std::string errors;
  for (const auto& c : configs) {
    if (!names.empty() && std::find(names.begin(), names.end(), c.name) == names.end()) continue;
    auto notifier = MakeConfiguredNotifier(c, d.alert_dir, d.config_source, d.clock);
    Status s = notifier.ok() ? (*notifier)->Deliver(n) : notifier.status();
    if (!s.ok()) errors += (errors.empty() ? "" : "; ") + c.name + ": " + s.message();
  }
  if (!errors.empty()) return Status::Unavailable(errors);
  return Status::Ok();
}

size_t AlertingPipeline::PumpNotifications() { return impl_->dispatcher->Pump(); }

void AlertingPipeline::AddHandler(AlertHandler handler) {
  impl_->handlers->Add(std::move(handler));
}

void AlertingPipeline::AppendSelfMetrics(core::SampleBatch& out) const {
  const Impl& d = *impl_;
  std::map<std::pair<std::string, std::string>, int> counts;
  for (const char* state : {"pending", "firing"}) {
    for (const char* sev : {"info", "warning", "critical"}) counts[{state, sev}] = 0;
  }
  for (const auto& a : d.tracker->Active()) {
    counts[{alert::AlertStateName(a.state), alert::SeverityName(a.severity)}]++;
  }
  for (const auto& [key, n] : counts) {
    out.push_back(core::Sample{
        "echomon_alerts", core::Labels{{"state", key.first}, {"severity", key.second}},
        static_cast<double>(n), core::MetricType::kGauge, "Alerts currently pending or firing."});
  }
  int64_t eval_us = 0;
  std::map<std::string, int> health;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    eval_us = d.last_eval_duration_us;
    for (const char* h : {"ok", "no_data", "error"}) health[h] = 0;
    for (const auto& r : d.last_results) health[analyze::RuleHealthName(r.health)]++;
  }
  for (const auto& [h, n] : health) {
    out.push_back(core::Sample{"echomon_rules", core::Labels{{"health", h}}, static_cast<double>(n),
                               core::MetricType::kGauge,
                               "Alerting rules by the health of their last evaluation."});
  }
  out.push_back(core::Sample{"echomon_rule_evaluation_duration_seconds",
                             {},
                             static_cast<double>(eval_us) / 1e6,
                             core::MetricType::kGauge,
                             "Time the last evaluation of all rules took."});
  const alert::DispatcherStats stats = d.dispatcher->Stats();
  for (const auto& n : stats.notifiers) {
    const core::Labels l{{"notifier", n.name}};
    out.push_back(core::Sample{"echomon_notifications_sent_total", l, static_cast<double>(n.sent),
                               core::MetricType::kCounter, "Notifications delivered."});
    out.push_back(core::Sample{"echomon_notifications_failed_total", l,
                               static_cast<double>(n.failed_attempts), core::MetricType::kCounter,
                               "Delivery attempts that failed (each retry counts)."});
    out.push_back(core::Sample{
        "echomon_notifications_dropped_total", l, static_cast<double>(n.dropped + n.overflowed),
        core::MetricType::kCounter, "Notifications given up on or refused by a full queue."});
  }
  out.push_back(core::Sample{"echomon_notifications_suppressed_total",
                             {},
                             static_cast<double>(stats.suppressed),
                             core::MetricType::kCounter,
                             "Notifications muted by a silence or maintenance window."});
  out.push_back(core::Sample{"echomon_alert_journal_errors_total",
                             {},
                             static_cast<double>(d.tracker->journal_errors()),
                             core::MetricType::kCounter,
                             "Alert transitions that could not be written to the database."});
}

json AlertingPipeline::AlertsJson() const {
  return impl_->AlertsJsonLocked(impl_->clock->NowMillis());
}

json AlertingPipeline::HistoryJson(int64_t since_ms, size_t limit) const {
  json out = json::array();
  auto history = impl_->journal->History(since_ms, limit);
  if (!history.ok()) return out;
  for (const auto& t : *history) {
    out.push_back({{"alert_id", t.alert_id},
                   {"fingerprint", t.fingerprint},
                   {"rule", t.rule},
                   {"labels", LabelsJson(t.labels)},
                   {"from", alert::AlertStateName(t.from)},
                   {"to", alert::AlertStateName(t.to)},
                   {"severity", alert::SeverityName(t.severity)},
                   {"value", Number(t.value)},
                   {"at", Seconds(t.at_ms)}});
  }
  return out;
}

json AlertingPipeline::RulesJson() const {
  const Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  json out = json::array();
  const auto& rules = d.evaluator->rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    json levels = json::array();
    for (const auto& l : r.levels) {
      levels.push_back({{"severity", alert::SeverityName(l.severity)},
                        {"threshold", l.threshold},
                        {"clear", l.clear ? json(*l.clear) : json()}});
    }
    const std::string matchers = core::MatchersToString(r.matchers);
    json entry = {{"name", r.name},
                  {"kind", analyze::RuleKindName(r.kind)},
                  {"metric", r.metric},
                  {"labels", matchers},
                  {"comparison", r.comparison == analyze::Comparison::kAbove ? "above" : "below"},
                  {"levels", std::move(levels)},
                  {"for_seconds", Seconds(r.for_ms)},
                  {"keep_firing_for_seconds", Seconds(r.keep_firing_for_ms)}};
    if (i < d.last_results.size()) {
      const auto& res = d.last_results[i];
      json series = json::array();
      for (const auto& s : res.series) {
        if (series.size() >= 100) break;
        series.push_back(
            {{"labels", LabelsJson(s.labels)},
             {"value", Number(s.value)},
             {"holding", s.severity ? json(alert::SeverityName(*s.severity)) : json()}});
      }
      entry["health"] = analyze::RuleHealthName(res.health);
      entry["last_evaluation"] = Seconds(res.evaluated_at_ms);
      entry["evaluation_ms"] = static_cast<double>(res.duration_us) / 1000.0;
      entry["series"] = std::move(series);
    } else {
      entry["health"] = "pending";
    }
    out.push_back(std::move(entry));
  }
  return out;
}

json AlertingPipeline::SilencesJson(bool include_expired) const {
  const int64_t now = impl_->clock->NowMillis();
  json out = json::array();
  for (const auto& s : impl_->silences->List(now, include_expired)) {
    const std::string matchers = core::MatchersToString(s.matchers);
    out.push_back({{"id", s.id},
                   {"matchers", matchers},
                   {"starts_at", Seconds(s.starts_ms)},
                   {"ends_at", Seconds(s.ends_ms)},
                   {"author", s.author},
                   {"comment", s.comment},
                   {"state", s.ends_ms <= now    ? "expired"
                             : s.starts_ms > now ? "pending"
                                                 : "active"}});
  }
  return out;
}

Result<json> AlertingPipeline::CreateSilence(const json& body) {
  if (!body.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  const int64_t now = impl_->clock->NowMillis();
  alert::Silence s;
  auto field = [&body](const char* name) { return body.contains(name) ? body.at(name) : json(); };
  const json matchers = field("matchers");
  if (matchers.is_string()) {
    std::string error;
    if (!core::ParseLabelMatchers(matchers.get<std::string>(), &s.matchers, &error)) {
      return Status::InvalidArgument("matchers: " + error);
    }
  } else if (matchers.is_object()) {
    for (const auto& [k, v] : matchers.items()) {
      if (!v.is_string()) return Status::InvalidArgument("matchers: values must be strings");
      s.matchers.push_back({k, core::LabelMatcher::Op::kEqual, v.get<std::string>()});
    }
  } else {
    return Status::InvalidArgument("matchers: expected a string like alertname=\"x\" or an object");
  }
  auto seconds = [&](const char* name, int64_t* out) -> Status {
    const json v = field(name);
    if (v.is_null()) return Status::Ok();
    if (!v.is_number())
      return Status::InvalidArgument(std::string(name) + ": expected Unix seconds");
    *out = static_cast<int64_t>(std::llround(v.get<double>() * 1000));
    return Status::Ok();
  };
  if (Status st = seconds("starts_at", &s.starts_ms); !st.ok()) return st;
  if (Status st = seconds("ends_at", &s.ends_ms); !st.ok()) return st;
  const json duration = field("duration");
  if (!duration.is_null()) {
    int64_t ms = 0;
    if (!duration.is_string() || !core::ParseDurationMs(duration.get<std::string>(), &ms) ||
        ms <= 0) {
      return Status::InvalidArgument("duration: expected a positive duration such as \"2h\"");
    }
    s.ends_ms = (s.starts_ms ? s.starts_ms : now) + ms;
  }
  if (s.ends_ms == 0) return Status::InvalidArgument("give ends_at or duration");
  if (field("author").is_string()) s.author = field("author").get<std::string>();
  if (field("comment").is_string()) s.comment = field("comment").get<std::string>();
  auto id = impl_->silences->Add(std::move(s), now);
  if (!id.ok()) return id.status();
  return json{{"id", *id}};
}

Status AlertingPipeline::ExpireSilence(const std::string& id) {
  return impl_->silences->Expire(id, impl_->clock->NowMillis());
}

json AlertingPipeline::NotifiersJson() const {
  json out = json::array();
  const auto stats = impl_->dispatcher->Stats();
  for (const auto& n : stats.notifiers) {
    out.push_back({{"name", n.name},
                   {"sent", n.sent},
                   {"failed_attempts", n.failed_attempts},
                   {"retries", n.retries},
                   {"dropped", n.dropped},
                   {"overflowed", n.overflowed},
                   {"queued", n.queued},
                   {"last_error", n.last_error},
                   {"last_success", Seconds(n.last_success_ms)}});
  }
  return out;
}

}  // namespace echomon::monitor
