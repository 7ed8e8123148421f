// Playbooks: which alerts the agent answers and how (docs/incidents.md).
//
// A Playbook matches alerts by label matchers over the alert's labels plus `alertname` and
// `severity` (core::LabelMatcher: =, !=, =~, !~; regular expressions match the whole value), maps
// the alert's severity to a priority P0..P3, and lists steps: each step runs its actions, waits
// verify_after for the alert to resolve, and otherwise goes on to the next step; when the steps
// are exhausted (or a failed step says so) the incident escalates through the levels.
//
// BuildPlaybooks turns the configuration (`playbooks:` then, unless response.default_playbooks
// is false, the built-in playbooks of default_playbooks.cc) into Playbooks; errors name the file,
// line and column. Playbooks are immutable values; share them freely between threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/labels.h"
#include "echomon/status.h"
#include "respond/action.h"

namespace echomon::respond {

struct PlaybookStep {
  std::string name;
  std::vector<ActionSpec> actions;
  int64_t verify_after_ms = 60'000;
  bool escalate_on_failure = false;  // on_failure: escalate
};

struct EscalationLevel {
  std::vector<std::string> notifiers;  // empty: every configured notifier
  int64_t delay_ms = 0;                // after the previous level (the first: after escalating)
};

struct EscalationPolicy {
  std::vector<EscalationLevel> levels;
  int64_t repeat_interval_ms = 3600'000;  // after the last level, start again after this
};

struct Playbook {
  std::string name;
  std::string match_text;
  std::vector<core::LabelMatcher> match;        // never empty (core::ParseLabelMatchers)
  std::map<std::string, std::string> priority;  // severity -> P0..P3
  std::vector<PlaybookStep> steps;
  int64_t cooldown_ms = 10 * 60'000;
  int max_runs_per_hour = 6;
  bool dry_run = false;
  bool builtin = false;
  EscalationPolicy escalation;

  // labels: the alert's labels plus alertname and severity.
  bool Matches(const std::map<std::string, std::string>& labels) const;
  // The priority for a severity ("P3" when unmapped).
  std::string PriorityFor(const std::string& severity) const;
};

// The playbooks of the configuration: the configured ones first (in order; the first match
// wins), then the built-in ones whose names were not configured. When limits is given, every
// action is checked with ValidateAction. Errors name file:line:column and the playbook.
Result<std::vector<Playbook>> BuildPlaybooks(const core::Config& config,
                                             const ActionLimits* limits = nullptr);

// The built-in playbooks for the prototype's seven incident types (docs/incidents.md), shaped
// by the response settings (renice_cpu_offender, drop_caches, engine_service, engine_url).
std::vector<core::PlaybookConfig> DefaultPlaybookConfigs(const core::Config& config);

}  // namespace echomon::respond
