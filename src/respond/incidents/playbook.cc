#include "respond/incidents/playbook.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace echomon::respond {
namespace {

std::string Where(const core::Config& c, int line, int column) {
  std::string out = c.source.empty() ? "<built-in>" : c.source;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out + ": ";
}

}  // namespace

bool Playbook::Matches(const std::map<std::string, std::string>& labels) const {
  return core::MatchesAll(match, labels);
}

std::string Playbook::PriorityFor(const std::string& severity) const {
  auto it = priority.find(severity);
  return it == priority.end() ? "P3" : it->second;
}

Result<std::vector<Playbook>> BuildPlaybooks(const core::Config& config,
                                             const ActionLimits* limits) {
  std::vector<core::PlaybookConfig> configs = config.playbooks;
  if (config.response.default_playbooks) {
    std::set<std::string> names;
    for (const auto& p : configs) names.insert(p.name);
    for (auto& p : DefaultPlaybookConfigs(config)) {
      if (!names.count(p.name)) configs.push_back(std::move(p));
    }
  }
  // What the built-in playbooks do on the operator's behalf must be possible.
  const std::string where = Where(config, 0, 0);
  if (limits && config.response.default_playbooks) {
    const core::ResponseConfig& r = config.response;
    if (!r.engine_service.empty() && !limits->services.count(r.engine_service)) {
      return Status::InvalidArgument(where +
                                     "response.engine_service: no actions.services entry "
                                     "named '" +
                                     r.engine_service + "'");
    }
    if (!r.engine_url.empty()) {
      ActionSpec http;
      http.type = "http";
      http.params = {{"url", r.engine_url}, {"method", "POST"}};
      if (Status s = ValidateAction(http, *limits); !s.ok()) {
        return Status::InvalidArgument(where + "response.engine_url: " + s.message());
      }
    }
  }
  // Escalation targets: the configured notifiers, or the default log and file ones.
  std::set<std::string> notifiers;
  for (const auto& n : config.alerting.notifiers) notifiers.insert(n.name);
  if (notifiers.empty()) notifiers = {"log", "file"};
  const size_t configured = config.playbooks.size();
  std::vector<Playbook> out;
  for (size_t n = 0; n < configs.size(); ++n) {
    const core::PlaybookConfig& pc = configs[n];
    const bool builtin = n >= configured;
    auto fail = [&](int line, int column, const std::string& why) -> Status {
      const std::string where = builtin ? "<built-in playbooks>: " : Where(config, line, column);
      return Status::InvalidArgument(where + "playbook '" + pc.name + "': " + why);
    };
    if (!pc.enabled) continue;
    Playbook p;
    p.name = pc.name;
    p.builtin = builtin;
    p.match_text = pc.match;
    std::string error;
    if (!core::ParseLabelMatchers(pc.match, &p.match, &error)) {
      return fail(pc.match_line ? pc.match_line : pc.line, pc.match_column, "match: " + error);
    }
    if (p.match.empty()) {
      return fail(pc.match_line ? pc.match_line : pc.line, pc.match_column,
                  "match: no matchers (give at least one, e.g. alertname=\"disk_full\")");
    }
    p.priority = config.response.priority;
    for (const auto& [sev, pri] : pc.priority) p.priority[sev] = pri;
    p.cooldown_ms = pc.cooldown_ms;
    p.max_runs_per_hour = pc.max_runs_per_hour;
    p.dry_run = pc.dry_run;
    const core::EscalationConfig& ec =
        pc.escalation.set ? pc.escalation : config.response.escalation;
    if (ec.set) {
      for (const auto& l : ec.levels) {
        for (const auto& n : l.notifiers) {
          if (!notifiers.count(n)) {
            std::string known;
            for (const auto& k : notifiers) known += (known.empty() ? "" : ", ") + k;
            return fail(pc.escalation.set ? pc.line : 0, 0,
                        std::string(pc.escalation.set ? "escalation" : "response.escalation") +
                            ": no notifier named '" + n + "' (notifiers: " + known + ")");
          }
        }
        p.escalation.levels.push_back({l.notifiers, l.delay_ms});
      }
      p.escalation.repeat_interval_ms = ec.repeat_interval_ms;
    } else {
      p.escalation.levels.push_back({{}, 0});  // every notifier, at once
      p.escalation.repeat_interval_ms = ec.repeat_interval_ms;
    }
    for (size_t s = 0; s < pc.steps.size(); ++s) {
      const core::PlaybookStepConfig& sc = pc.steps[s];
      PlaybookStep step;
      step.name = sc.name.empty() ? fmt::format("step {}", s + 1) : sc.name;
      step.verify_after_ms = sc.verify_after_ms;
      step.escalate_on_failure = sc.on_failure == "escalate";
      for (const auto& ac : sc.actions) {
        ActionSpec spec;
        spec.type = ac.type;
        spec.name = ac.name.empty() ? ac.type : ac.name;
        spec.timeout_ms = ac.timeout_ms;
        spec.params = nlohmann::json::parse(ac.params_json, nullptr, false);
        if (spec.params.is_discarded()) {
          return fail(ac.line, ac.column, "action '" + spec.name + "': params are not valid");
        }
        if (std::find(kActionTypes.begin(), kActionTypes.end(), spec.type) == kActionTypes.end()) {
          std::string list;
          for (auto t : kActionTypes) list += (list.empty() ? "" : ", ") + std::string(t);
          return fail(ac.line, ac.column,
                      "unknown action type '" + spec.type + "' (expected one of " + list + ")");
        }
        if (limits && !builtin) {  // built-in ones fail at run time, honestly, if at all
          ActionSpec check = spec;
          if (check.params.is_object() && check.params.contains("pid") &&
              check.params["pid"] == "top_cpu") {
            check.params["pid"] = 2;  // resolved when the action runs
          }
          if (Status s = ValidateAction(check, *limits); !s.ok()) {
            return fail(ac.line, ac.column, "action '" + spec.name + "': " + s.message());
          }
        }
        step.actions.push_back(std::move(spec));
      }
      p.steps.push_back(std::move(step));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace echomon::respond
