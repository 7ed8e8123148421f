// Agent configuration: one YAML (or JSON) file, validated at load.
//
// LoadConfig* never throws: every problem is returned as a ConfigError naming the file, line,
// column and key. Unknown keys are errors (they are usually typos). The prototype's JSON keys
// (monitoring_interval, max_metrics_history, alert_thresholds, degradation_detection) are
// accepted and mapped onto the settings below; see docs/configuration.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echomon::core {

struct HostCollectorConfig {
  bool enabled = true;
  std::string proc_root = "/proc";  // where /proc is read from (tests point it at a capture)
  std::string sys_root = "/sys";
  bool per_core = true;  // per-core CPU series in addition to the total
  // Filesystem types never reported (pseudo filesystems); replaces the built-in list when set.
  std::vector<std::string> exclude_fs_types;
  // Network interfaces not reported (exact names).
  std::vector<std::string> exclude_interfaces;
};

// The NVML GPU collector (docs/gpu.md).
struct GpuConfig {
  bool enabled = true;
  std::string library = "libnvidia-ml.so.1";  // dlopen name or path
  bool per_process = true;                    // per-process GPU memory series
  bool pcie_throughput = true;                // 2 NVML calls of ~20 ms each per GPU per tick
};

struct StorageConfig {
  // Where durable state lives. Empty: "var" next to the config file, or ./var for the
  // built-in configuration. Resolved to an absolute path by the loader.
  std::string data_dir;
  bool persist = true;                        // false: memory only, nothing written
  int64_t retention_ms = 24LL * 3600 * 1000;  // how long samples are kept
  uint64_t max_memory_bytes = 256ULL << 20;   // in-memory chunk budget; oldest evicted first
  int64_t checkpoint_interval_ms = 60'000;    // how often open (head) chunks are saved
};

struct ServerConfig {
  std::string listen = "127.0.0.1:9470";  // host:port; port 0 picks a free port
  // Token required by mutating endpoints (and by every endpoint when listening beyond
  // loopback). Empty: generated at start and written to <data_dir>/token.
  std::string token;
};

// Settings kept from the prototype's configuration, consumed by the alerting component.
struct LegacyConfig {
  std::map<std::string, double> alert_thresholds;  // metric name -> threshold
  int degradation_window = 10;                     // samples in the degradation window
  double degradation_threshold = 0.15;             // relative decline that alerts
};

// One alerting rule as written in the configuration (see docs/rules.md). The loader checks
// types and names; the analyser checks the combination when it builds the rule.
struct RuleLevelConfig {
  std::string severity;  // info, warning, critical
  double threshold = 0;
  std::optional<double> clear;  // hysteresis threshold
};

struct RuleConfig {
  int line = 0;  // where the rule starts in the file, for later errors
  std::string name;
  std::string kind = "threshold";  // threshold, trend, degradation, forecast, baseline, anomaly
  std::string metric;
  std::string labels;                // label matchers, e.g. mount="/"
  std::string comparison = "above";  // above, below
  std::string aggregation = "last";  // last, avg, min, max, rate, quantile
  double quantile = 0.95;
  int64_t window_ms = 0;
  int samples = 10;
  int64_t ahead_ms = 4LL * 3600 * 1000;
  int warmup = 60;
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::vector<RuleLevelConfig> levels;
  std::string summary;
  std::map<std::string, std::string> annotations;
};

struct MaintenanceWindowConfig {
  int line = 0;
  std::string name;
  std::vector<int> days;  // 0 = Sunday .. 6 = Saturday; empty: every day
  int start_minute = 0;
  int end_minute = 0;
  std::string time_zone = "UTC";
  std::string labels;  // matchers; empty: every alert
};

struct NotifierConfig {
  int line = 0;
  std::string type;  // log, file, webhook, alertmanager, program
  std::string name;  // defaults to the type
  std::string url;
  std::string directory;
  std::vector<std::string> argv;
  std::map<std::string, std::string> headers;
  int64_t timeout_ms = 5000;
  int64_t resend_interval_ms = 60'000;
  int max_attempts = 5;
};

struct AlertingConfig {
  bool default_rules = true;  // load the built-in rules (docs/rules.md) before `rules`
  std::string external_url;   // base URL in notifications; default http://<listen>
  std::string alert_dir;      // JSON file per alert event; empty: <data_dir>/alerts
  std::string snapshot_file;  // dashboard snapshot; empty: <data_dir>/dashboard.json
  int64_t snapshot_interval_ms = 10'000;
  std::vector<RuleConfig> rules;
  std::vector<MaintenanceWindowConfig> maintenance_windows;
  std::vector<NotifierConfig> notifiers;
};

// A Prometheus /metrics endpoint to scrape every tick (docs/engine.md).
struct ScrapeTargetConfig {
  int line = 0;
  std::string name;
  std::string url;
  std::string kind = "metrics";  // metrics: store every sample; engine: derive engine metrics
  int64_t timeout_ms = 2000;
  std::map<std::string, std::string> headers;  // e.g. Authorization: Bearer ...
  std::map<std::string, std::string> labels;   // added to every sample
  std::vector<std::string> drop_labels;
  int64_t sample_limit = 50'000;
  int64_t interval_ms = 0;  // scrape every interval; 0: the agent's interval (every tick)
};

struct ScrapeConfig {
  std::vector<ScrapeTargetConfig> targets;
  // Without an engine target: look for Aphrodite (2242) and vLLM (8000) on loopback at start.
  bool engine_discovery = true;
};

// Custom components: the push API and exec collectors (docs/components.md).
struct PushConfig {
  bool enabled = true;
  int64_t max_body_bytes = 1 << 20;
  int64_t max_series_per_component = 10'000;
  int64_t max_labels_per_series = 32;
  int64_t max_components = 1000;
  int64_t staleness_ms = 5 * 60'000;  // a component silent this long goes stale
};

struct ExecComponentConfig {
  int line = 0;
  std::string name;
  std::vector<std::string> argv;  // argv[0]: absolute path, or looked up in the agent's PATH
  int64_t interval_ms = 0;        // 0: the agent's interval
  int64_t timeout_ms = 10'000;    // the program is killed after this
  std::map<std::string, std::string> env;     // the program's environment (plus PATH)
  std::map<std::string, std::string> labels;  // added to every sample
  int64_t max_output_bytes = 1 << 20;         // stdout beyond this fails the run
};

struct ComponentsConfig {
  PushConfig push;
  std::vector<ExecComponentConfig> exec;
};

// Streaming anomaly detection over watched series (docs/anomaly.md).
struct AnomalyWatchConfig {
  bool enabled = true;
  bool watch_set = false;                                  // false: the default watched series
  std::vector<std::pair<std::string, std::string>> watch;  // metric, label matchers
  double threshold = 0.5;  // score counted as anomalous in echomon_anomaly_rate
  int warmup = 150;        // samples per series before it may score
};

// One Prometheus remote-write endpoint (docs/remote-write.md). Prometheus' defaults where
// Prometheus has one.
struct RemoteWriteConfig {
  int line = 0;
  std::string name;  // defaults to the url
  std::string url;
  std::map<std::string, std::string> headers;  // e.g. Authorization: Bearer ...
  int64_t timeout_ms = 30'000;                 // per request
  int64_t queue_capacity = 200'000;            // samples waiting; beyond, new ones are dropped
  int64_t max_samples_per_send = 2000;
  int64_t batch_send_deadline_ms = 5000;  // a partial batch waits at most this long
  int64_t min_backoff_ms = 30;
  int64_t max_backoff_ms = 5000;
  std::map<std::string, std::string> external_labels;  // added to every series sent
  std::string drop_metrics;  // regex over the whole metric name; matches are not sent
};

// Incident response (docs/incidents.md): playbooks matched to alerts, and the global switches.
struct PlaybookActionConfig {
  int line = 0;
  int column = 0;
  std::string type;                // an action type (docs/actions.md)
  std::string name;                // label in records; empty: the type
  std::string params_json = "{}";  // the action's parameters, converted from YAML to JSON text
  int64_t timeout_ms = 30'000;
};

struct PlaybookStepConfig {
  int line = 0;
  std::string name;  // empty: "step N"
  std::vector<PlaybookActionConfig> actions;
  int64_t verify_after_ms = 60'000;  // wait this long for the alert to resolve after the actions
  std::string on_failure = "next";   // a failed action: next (verify, then the next step), escalate
};

struct EscalationLevelConfig {
  std::vector<std::string> notifiers;  // notifier names; empty: every configured notifier
  int64_t delay_ms = 0;                // after the previous level (the first: after escalating)
};

struct EscalationConfig {
  bool set = false;  // false: the playbook uses response.escalation
  std::vector<EscalationLevelConfig> levels;
  int64_t repeat_interval_ms = 3600'000;  // after the last level, start again after this
};

struct PlaybookConfig {
  int line = 0;
  int match_line = 0;  // where `match` is, for errors found when it is parsed
  int match_column = 0;
  std::string name;
  std::string match;  // matchers: alertname=~"disk_.*",severity="critical"
  std::map<std::string, std::string> priority;  // severity -> P0..P3 (over response.priority)
  std::vector<PlaybookStepConfig> steps;
  int64_t cooldown_ms = 10 * 60'000;  // after an incident of this playbook closes
  int max_runs_per_hour = 6;
  bool dry_run = false;
  bool enabled = true;
  EscalationConfig escalation;
};

struct ResponseConfig {
  bool enabled = true;
  bool dry_run = false;           // plan and record every action, execute none
  int max_concurrent = 3;         // incidents running actions at once
  bool default_playbooks = true;  // the built-in playbooks (docs/incidents.md) after `playbooks`
  EscalationConfig escalation;    // default levels: every notifier at once, repeated hourly
  std::map<std::string, std::string> priority = {
      {"critical", "P1"}, {"warning", "P2"}, {"info", "P3"}};
  // What the built-in playbooks may do beyond diagnosing and cleaning the agent's own files.
  bool renice_cpu_offender = false;  // high CPU: renice the top process that is not the agent
  bool drop_caches = false;          // memory pressure: write /proc/sys/vm/drop_caches
  std::string engine_service;        // latency/throughput/GPU: restart this actions.services entry
  std::string engine_url;            // latency/throughput: POST here first (in actions.http_allow)
};

// Reports (docs/reports.md): the default window and the engine's service-level targets.
struct ReportConfig {
  int64_t window_ms = 24LL * 3600 * 1000;  // default report window (?since= overrides)
  double latency_p95_ms = 5000;            // p95 end-to-end request latency target
  double min_tokens_per_second = 10;       // generation throughput target while busy
};

// actions: what actions may touch (docs/actions.md, "Limits").
struct ActionServiceConfig {
  std::vector<std::string> restart;  // argv of the restart command (no shell)
  std::string health_url;            // polled until 2xx after the restart; empty: none
  int64_t health_timeout_ms = 60'000;
};

struct ActionsConfig {
  bool writable_dirs_set = false;          // false: the agent's own logs, reports, alerts dirs
  std::vector<std::string> writable_dirs;  // absolute
  std::vector<std::string> http_allow;     // URL prefixes the http action may call
  std::map<std::string, ActionServiceConfig> services;
  uint64_t max_output_bytes = 64 * 1024;  // captured output kept per action
  int64_t max_timeout_ms = 10 * 60 * 1000;
  std::string cgroup_root = "/sys/fs/cgroup";  // cpu_limit stays under it
};

// maintenance: the scheduler and its tasks (docs/maintenance.md). A task named like a built-in
// one (system_cleanup, memory_optimization, health_check, log_rotation) overrides its settings.
struct MaintenanceTaskConfig {
  int line = 0;
  std::string name;
  std::string schedule;     // 5-field cron ("30 2 * * *"); empty: interval
  int64_t interval_ms = 0;  // 0 with no schedule: the built-in's cadence
  int64_t jitter_ms = -1;   // -1: the default (built-ins: 1% of the interval, at most 5m)
  int64_t timeout_ms = 0;   // 0: the default (5m)
  bool enabled = true;
  bool dry_run = false;
  bool actions_set = false;
  std::vector<PlaybookActionConfig> actions;  // same shape as a playbook step's actions
};

struct MaintenanceConfig {
  bool enabled = true;
  bool builtin_tasks = true;             // the four built-in tasks
  std::vector<std::string> health_urls;  // checked by health_check
  std::vector<MaintenanceTaskConfig> tasks;
};

struct Config {
  std::string source;                // path the configuration came from; "" for the built-in one
  int64_t interval_ms = 1000;        // collection interval
  int64_t collector_timeout_ms = 0;  // per-collector timeout; 0 means interval_ms / 2
  std::string log_level = "info";
  HostCollectorConfig host;
  GpuConfig gpu;
  StorageConfig storage;
  ServerConfig server;
  LegacyConfig legacy;
  AlertingConfig alerting;
  AnomalyWatchConfig anomaly;
  ScrapeConfig scrape;
  std::vector<RemoteWriteConfig> remote_write;
  ComponentsConfig components;
  std::vector<PlaybookConfig> playbooks;
  ResponseConfig response;
  ReportConfig report;
  ActionsConfig actions;
  MaintenanceConfig maintenance;

  int64_t EffectiveCollectorTimeoutMs() const {
    return collector_timeout_ms > 0 ? collector_timeout_ms : interval_ms / 2;
  }
};

struct ConfigError {
  std::string file;  // as given; "<built-in>" / "<string>" for non-file sources
  int line = 0;      // 1-based; 0 when not known
  int column = 0;    // 1-based; 0 when not known
  std::string key;   // dotted path, e.g. storage.retention
  std::string message;
  // "file:line:column: key: message"; an unknown line/column or an empty key is left out
  // ("agent.yaml: cannot open: No such file or directory").
  std::string ToString() const;
};

struct ConfigLoadResult {
  Config config;
  std::vector<ConfigError> errors;
  // "key: message (line N)", e.g. a prototype key that was mapped or a section not yet
  // supported. Warnings never make a configuration invalid.
  std::vector<std::string> warnings;
  bool ok() const { return errors.empty(); }
};

// The built-in default configuration, with data_dir the absolute path of ./var.
Config DefaultConfig();

// Loads and validates a YAML or JSON file; config.source is path. An unreadable file is one
// error naming the path and the reason (strerror). Never throws; safe to call concurrently.
ConfigLoadResult LoadConfigFile(const std::string& path);

// Loads and validates configuration text; source_name appears in errors ("<string>" when
// empty) and becomes config.source. base_dir is used to resolve a relative data_dir (empty: the
// current directory; relative: taken from the current directory). Never throws.
ConfigLoadResult LoadConfigString(std::string_view text, std::string_view source_name,
                                  std::string_view base_dir = {});

// Parses a duration such as "250ms", "1s", "5m", "24h", "7d", "1h30m" or a plain number of
// seconds ("0.5"), rounded to milliseconds. A leading '-' gives a negative value (callers
// validate the range). Returns false on malformed input and leaves *out_ms unchanged.
bool ParseDurationMs(std::string_view text, int64_t* out_ms);
// Parses a size such as "512MiB", "64KiB", "1GB" (decimal) or "1048576" (bytes); units are
// matched without regard to case. Returns false on malformed input and leaves *out_bytes
// unchanged.
bool ParseSizeBytes(std::string_view text, uint64_t* out_bytes);

}  // namespace echomon::core
