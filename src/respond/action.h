// Actions: the things incident playbooks and maintenance tasks really do (run a program, send a
// signal, renice, limit CPU, call an allow-listed URL, clean up files, rotate logs, drop
// caches, trim the agent's memory, capture diagnostics, restart a service).
//
// This header is the contract between the action library (respond/actions/*.cc, which
// implements RunAction for every type in kActionTypes) and its users (the incident manager and
// the maintenance scheduler). Parameters per type are documented in docs/actions.md.
//
// Safety (DESIGN.md): no shell is ever involved; every action has a timeout; cleanup and
// rotate_logs only touch files under ActionLimits::writable_dirs and never follow a symlink out
// of them; http only calls URLs under ActionLimits::http_allow; in a dry run nothing is changed
// and the result says what would have been done.
//
// Thread-safety: RunAction and ValidateAction are thread-safe (actions for different incidents
// run concurrently).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "echomon/clock.h"
#include "echomon/status.h"
#include "store/series_store.h"

namespace echomon::respond {

// exec, signal, renice, cpu_limit, http, cleanup, rotate_logs, drop_caches, compact_memory,
// trim_memory, diagnose, restart.
extern const std::vector<std::string_view> kActionTypes;

// One action as written in a playbook step or a maintenance task.
struct ActionSpec {
  std::string type;
  std::string name;       // label in records; empty: the type
  nlohmann::json params;  // type-specific object (docs/actions.md); null = {}
  int64_t timeout_ms = 30'000;
};

// A service `restart` may restart: its argv and the URL that says it is healthy again.
struct ServiceSpec {
  std::vector<std::string> restart_command;
  std::string health_url;
  int64_t health_timeout_ms = 60'000;
};

// What the operator allows actions to touch (from the configuration).
struct ActionLimits {
  // Directories cleanup/rotate_logs may delete or rewrite files in (absolute, resolved). Default:
  // the agent's own directories (logs, reports, alert files) and nothing else.
  std::vector<std::string> writable_dirs;
  // URL prefixes http may call (scheme://host:port/path-prefix).
  std::vector<std::string> http_allow;
  std::map<std::string, ServiceSpec> services;  // name -> how to restart it
  size_t max_output_bytes = 64 * 1024;          // captured stdout/stderr per action
  int64_t max_timeout_ms = 10 * 60 * 1000;      // cap on any action's timeout
  // Where processes and cgroups are read/written (tests and containers may point elsewhere).
  std::string proc_root = "/proc";
  std::string cgroup_root = "/sys/fs/cgroup";  // cgroup v2 mount; cpu_limit stays under it
  std::string vm_sysctl_dir = "/proc/sys/vm";  // drop_caches, compact_memory
};

// The alert/incident an action runs for, and the agent around it.
struct ActionContext {
  std::string incident_id;  // empty for maintenance tasks
  std::string alertname;
  std::string severity;
  std::map<std::string, std::string> labels;  // the alert's labels
  double value = 0;                           // the alert's value
  bool dry_run = false;                       // plan and record, change nothing
  const ActionLimits* limits = nullptr;       // never null when running
  const store::SeriesStore* store = nullptr;  // for diagnose (recent values); may be null
  Clock* clock = nullptr;                     // may be null: the system clock
};

// What happened, as recorded in the incident timeline / maintenance history.
struct ActionResult {
  std::string type;
  std::string name;
  bool ok = false;
  bool dry_run = false;
  std::string summary;               // one line for people: "freed 12.0 MiB in 31 files"
  std::string error;                 // why it failed; empty when ok
  std::vector<std::string> command;  // argv run, if any
  int exit_status = -1;              // of the command; -1 when none ran / killed
  int64_t started_ms = 0;
  int64_t duration_ms = 0;
  std::string output;  // captured output, capped at limits->max_output_bytes
  bool output_truncated = false;
  uint64_t bytes_freed = 0;
  uint64_t files_touched = 0;  // deleted / rotated
  std::vector<int> pids;       // processes signalled / reniced / limited
  nlohmann::json details;      // type-specific evidence (diagnose output, RSS before/after)

  nlohmann::json ToJson() const;
  static ActionResult FromJson(const nlohmann::json& j);
};

// The limits of the `actions:` configuration section. Without writable_dirs: the agent's own
// directories <data_dir>/logs, <data_dir>/reports and the alert files' directory
// (alerting.alert_dir, default <data_dir>/alerts); none of them is created here.
ActionLimits ActionLimitsFromConfig(const core::Config& config);

// Checks a spec without running it: known type, parameters of the right shape, paths and URLs
// within the limits. The message names the parameter and the problem.
Status ValidateAction(const ActionSpec& spec, const ActionLimits& limits);

// Runs (or, in a dry run, plans) the action. Never throws; a failure is a result with ok=false
// and the reason in error.
ActionResult RunAction(const ActionSpec& spec, const ActionContext& context);

}  // namespace echomon::respond
