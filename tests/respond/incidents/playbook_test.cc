#include "respond/incidents/playbook.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/labels.h"

namespace echomon::respond {
namespace {

std::map<std::string, std::string> L(
    std::initializer_list<std::pair<const std::string, std::string>> l) {
  return l;
}

TEST(PlaybookMatch, EveryOperatorOverAlertLabelsMatchingWholeValues) {
  std::vector<core::LabelMatcher> terms;
  std::string error;
  ASSERT_TRUE(core::ParseLabelMatchers(
      R"({alertname=~"disk_.*", severity!="info", mount!~"/boot.*"})", &terms, &error))
      << error;
  ASSERT_EQ(terms.size(), 3u);
  Playbook p;
  p.match = terms;
  EXPECT_TRUE(
      p.Matches(L({{"alertname", "disk_usage_high"}, {"severity", "critical"}, {"mount", "/"}})));
  EXPECT_FALSE(
      p.Matches(L({{"alertname", "disk_usage_high"}, {"severity", "info"}, {"mount", "/"}})));
  EXPECT_FALSE(p.Matches(
      L({{"alertname", "disk_usage_high"}, {"severity", "warning"}, {"mount", "/boot/efi"}})));
  // A regex matches the whole value, not a substring.
  EXPECT_FALSE(
      p.Matches(L({{"alertname", "big_disk_usage"}, {"severity", "warning"}, {"mount", "/"}})));
}

TEST(BuildPlaybooks, RejectsMalformedOrEmptyMatchNamingWhereAndWhy) {
  auto build = [](const std::string& match) {
    auto loaded = core::LoadConfigString(
        "response:\n  default_playbooks: false\nplaybooks:\n"
        "  - name: p\n    match: '" +
            match + "'\n    steps: [{actions: [{type: diagnose}]}]\n",
        "pb.yaml", "/tmp");
    if (!loaded.ok()) return loaded.errors.front().ToString();
    auto built = BuildPlaybooks(loaded.config);
    return built.ok() ? std::string() : built.status().message();
  };
  std::string error = build(R"(alertname=~"(unclosed")");
  EXPECT_NE(error.find("pb.yaml:5:"), std::string::npos) << error;
  EXPECT_NE(error.find("match: at offset 11: invalid regular expression"), std::string::npos)
      << error;
  error = build("{}");
  EXPECT_NE(error.find("match: no matchers"), std::string::npos) << error;
  EXPECT_EQ(build(R"(alertname=~"disk_.*")"), "");
}

TEST(BuildPlaybooks, ReadsConfiguredPlaybooksBeforeTheBuiltInOnes) {
  auto loaded = core::LoadConfigString(R"(
notifiers:
  - {type: log, name: ops}
  - {type: log, name: pager}
response:
  escalation:
    levels:
      - notifiers: [ops]
        delay: 0s
      - notifiers: [pager]
        delay: 10m
    repeat_interval: 1h
  priority: {critical: P0}
playbooks:
  - name: disk
    match:
      alertname: "disk_usage_high|disk_full_forecast"
    priority: {warning: P1}
    cooldown: 5m
    max_runs_per_hour: 2
    steps:
      - name: clean
        verify_after: 90s
        on_failure: escalate
        actions:
          - type: cleanup
            timeout: 20s
            params: {dirs: [/tmp/x], patterns: ["*.log"], min_age: 1h, recursive: true}
)",
                                       "agent.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().ToString();
  auto playbooks = BuildPlaybooks(loaded.config);
  ASSERT_TRUE(playbooks.ok()) << playbooks.status().ToString();
  ASSERT_EQ(playbooks->size(), 8u);  // 1 configured + 7 built-in
  const Playbook& p = playbooks->front();
  EXPECT_EQ(p.name, "disk");
  EXPECT_FALSE(p.builtin);
  EXPECT_TRUE(p.Matches(L({{"alertname", "disk_full_forecast"}})));
  EXPECT_EQ(p.PriorityFor("warning"), "P1");
  EXPECT_EQ(p.PriorityFor("critical"), "P0");
  EXPECT_EQ(p.PriorityFor("info"), "P3");
  EXPECT_EQ(p.cooldown_ms, 300'000);
  EXPECT_EQ(p.max_runs_per_hour, 2);
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].verify_after_ms, 90'000);
  EXPECT_TRUE(p.steps[0].escalate_on_failure);
  ASSERT_EQ(p.steps[0].actions.size(), 1u);
  const ActionSpec& a = p.steps[0].actions[0];
  EXPECT_EQ(a.type, "cleanup");
  EXPECT_EQ(a.timeout_ms, 20'000);
  EXPECT_EQ(a.params["dirs"][0], "/tmp/x");
  EXPECT_EQ(a.params["recursive"], true);
  EXPECT_EQ(a.params["min_age"], "1h");
  ASSERT_EQ(p.escalation.levels.size(), 2u);
  EXPECT_EQ(p.escalation.levels[1].notifiers, std::vector<std::string>{"pager"});
  EXPECT_EQ(p.escalation.levels[1].delay_ms, 600'000);
  EXPECT_EQ(p.escalation.repeat_interval_ms, 3600'000);
  std::vector<std::string> builtin;
  for (size_t i = 1; i < playbooks->size(); ++i) builtin.push_back((*playbooks)[i].name);
  EXPECT_EQ(builtin, (std::vector<std::string>{"high_cpu", "memory_pressure",
                                               "performance_degradation", "high_latency",
                                               "low_disk_space", "gpu", "evolution_convergence"}));
}

TEST(BuildPlaybooks, DefaultPlaybooksOnlyActBeyondDiagnosisWhereTheOperatorAllowed) {
  core::Config c = core::DefaultConfig();
  auto safe = BuildPlaybooks(c);
  ASSERT_TRUE(safe.ok());
  std::set<std::string> types;
  for (const auto& p : *safe) {
    ASSERT_FALSE(p.steps.empty());
    EXPECT_EQ(p.steps[0].actions[0].type, "diagnose") << p.name;
    for (const auto& s : p.steps) {
      for (const auto& a : s.actions) types.insert(a.type);
    }
  }
  // Without operator settings: nothing that touches other processes or the kernel's caches.
  EXPECT_EQ(types, (std::set<std::string>{"diagnose", "trim_memory", "cleanup", "rotate_logs"}));

  c.response.renice_cpu_offender = true;
  c.response.drop_caches = true;
  c.response.engine_service = "vllm";
  c.response.engine_url = "http://127.0.0.1:8000/reset";
  auto bold = BuildPlaybooks(c);
  ASSERT_TRUE(bold.ok());
  types.clear();
  for (const auto& p : *bold) {
    for (const auto& s : p.steps) {
      for (const auto& a : s.actions) types.insert(a.type);
    }
  }
  EXPECT_TRUE(types.count("renice") && types.count("drop_caches") && types.count("restart") &&
              types.count("http"));

  c.response.default_playbooks = false;
  auto none = BuildPlaybooks(c);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(BuildPlaybooks, ErrorsNameTheFileLineAndColumn) {
  auto loaded = core::LoadConfigString(R"(playbooks:
  - name: bad
    match: 'alertname=~"(x"'
    steps:
      - actions: [{type: diagnose}]
)",
                                       "agent.yaml");
  ASSERT_TRUE(loaded.ok());
  auto built = BuildPlaybooks(loaded.config);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().message().rfind("agent.yaml:3:12: playbook 'bad': match:", 0), 0u)
      << built.status().message();

  loaded = core::LoadConfigString(R"(playbooks:
  - name: bad
    match: 'alertname="x"'
    steps:
      - actions:
          - type: reboot_everything
)",
                                  "agent.yaml");
  ASSERT_TRUE(loaded.ok());
  built = BuildPlaybooks(loaded.config);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("agent.yaml:6:13: playbook 'bad': unknown action type"),
            std::string::npos)
      << built.status().message();

  // Shapes are checked at load with file:line:column.
  loaded = core::LoadConfigString(R"(playbooks:
  - name: bad
    match: 'alertname="x"'
    max_runs_per_hour: lots
    steps:
      - on_failure: panic
        actions: [{type: diagnose}]
response:
  max_concurrent: 0
)",
                                  "agent.yaml");
  ASSERT_FALSE(loaded.ok());
  std::vector<std::string> errors;
  for (const auto& e : loaded.errors) errors.push_back(e.ToString());
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].rfind("agent.yaml:4:24: playbooks[0].max_runs_per_hour:", 0), 0u)
      << errors[0];
  EXPECT_EQ(errors[1].rfind("agent.yaml:6:21: playbooks[0].steps[0].on_failure:", 0), 0u)
      << errors[1];
  EXPECT_EQ(errors[2].rfind("agent.yaml:9:19: response.max_concurrent:", 0), 0u) << errors[2];
}

TEST(BuildPlaybooks, EscalationNamesConfiguredNotifiers) {
  auto loaded = core::LoadConfigString(R"(notifiers:
  - {type: log, name: ops}
playbooks:
  - name: p
    match: 'alertname="x"'
    steps: [{actions: [{type: diagnose}]}]
    escalation: {levels: [{notifiers: [ops]}, {notifiers: [pagr]}]}
)",
                                       "agent.yaml");
  ASSERT_TRUE(loaded.ok());
  auto built = BuildPlaybooks(loaded.config);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().message(),
            "agent.yaml:4: playbook 'p': escalation: no notifier named 'pagr' (notifiers: ops)");
}

TEST(BuildPlaybooks, ValidatesConfiguredActionsAgainstTheLimits) {
  auto loaded = core::LoadConfigString(R"(playbooks:
  - name: web
    match: 'alertname="x"'
    steps:
      - actions:
          - type: http
            params: {url: "http://example.com/reset"}
)",
                                       "agent.yaml");
  ASSERT_TRUE(loaded.ok());
  ActionLimits limits;
  limits.http_allow = {"http://127.0.0.1:8000/"};
  auto built = BuildPlaybooks(loaded.config, &limits);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("agent.yaml:6:13: playbook 'web': action 'http':"),
            std::string::npos)
      << built.status().message();
}

TEST(BuildPlaybooks, OperatorSettingsForBuiltInPlaybooksMustBePossible) {
  core::Config c = core::DefaultConfig();
  ActionLimits limits;
  limits.http_allow = {"http://127.0.0.1:8000/"};
  limits.services["vllm"] = ServiceSpec{{"/bin/true"}, "", 1000};
  c.response.engine_service = "vllm";
  c.response.engine_url = "http://127.0.0.1:8000/reset";
  EXPECT_TRUE(BuildPlaybooks(c, &limits).ok());
  c.response.engine_service = "sglang";
  auto built = BuildPlaybooks(c, &limits);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("response.engine_service: no actions.services entry"),
            std::string::npos);
  c.response.engine_service = "vllm";
  c.response.engine_url = "http://10.0.0.1/reset";
  built = BuildPlaybooks(c, &limits);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("response.engine_url:"), std::string::npos);
}

TEST(BuildPlaybooks, TopCpuSelectorPassesValidation) {
  auto loaded = core::LoadConfigString(R"(playbooks:
  - name: cpu
    match: 'alertname="cpu_usage_high"'
    steps:
      - actions: [{type: renice, params: {pid: top_cpu, nice: 10}}]
)",
                                       "agent.yaml");
  ASSERT_TRUE(loaded.ok());
  ActionLimits limits;
  auto built = BuildPlaybooks(loaded.config, &limits);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->front().steps[0].actions[0].params["pid"], "top_cpu");
}

}  // namespace
}  // namespace echomon::respond
