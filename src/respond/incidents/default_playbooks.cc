// The built-in playbooks for the prototype's seven incident types, matched to the built-in rule
// names (docs/rules.md). Every one starts with `diagnose`; what comes after is safe by default
// and only goes further where the operator said so in `response:` (docs/incidents.md).
#include <nlohmann/json.hpp>

#include "respond/incidents/playbook.h"

namespace echomon::respond {
namespace {

using nlohmann::json;

core::PlaybookActionConfig Action(std::string type, json params = json::object(),
                                  int64_t timeout_ms = 30'000) {
  core::PlaybookActionConfig a;
  a.type = std::move(type);
  a.params_json = params.dump();
  a.timeout_ms = timeout_ms;
  return a;
}

core::PlaybookStepConfig Step(std::string name, std::vector<core::PlaybookActionConfig> actions,
                              int64_t verify_after_ms) {
  core::PlaybookStepConfig s;
  s.name = std::move(name);
  s.actions = std::move(actions);
  s.verify_after_ms = verify_after_ms;
  return s;
}

core::PlaybookConfig MakePlaybook(std::string name, std::string match,
                                  std::map<std::string, std::string> priority) {
  core::PlaybookConfig p;
  p.name = std::move(name);
  p.match = std::move(match);
  p.priority = std::move(priority);
  p.cooldown_ms = 15 * 60'000;
  p.max_runs_per_hour = 4;
  return p;
}

constexpr int64_t kMinute = 60'000;
// What the agent itself leaves behind in its directories: rotated logs, reports, alert files.
const json kCleanupPatterns = json::array({"*.gz", "*.log.*", "*.json", "*.html", "*.tmp"});

}  // namespace

std::vector<core::PlaybookConfig> DefaultPlaybookConfigs(const core::Config& config) {
  const core::ResponseConfig& r = config.response;
  std::vector<core::PlaybookConfig> out;

  // Engine remedies the operator configured: an admin endpoint to call, then a restart.
  auto engine_steps = [&r](core::PlaybookConfig* p) {
    if (!r.engine_url.empty()) {
      p->steps.push_back(Step(
          "call the engine's endpoint",
          {Action("http", {{"url", r.engine_url}, {"method", "POST"}, {"expect_status", 200}})},
          5 * kMinute));
    }
    if (!r.engine_service.empty()) {
      p->steps.push_back(Step("restart the engine",
                              {Action("restart", {{"service", r.engine_service}}, 5 * kMinute)},
                              5 * kMinute));
    }
  };

  // 1. High CPU: evidence first; renice the busiest process that is not the agent only when
  // the operator enabled it.
  {
    auto p = MakePlaybook("high_cpu", "alertname=\"cpu_usage_high\"",
                          {{"warning", "P2"}, {"critical", "P1"}});
    p.steps.push_back(Step("diagnose", {Action("diagnose")}, 2 * kMinute));
    if (r.renice_cpu_offender) {
      p.steps.push_back(Step("renice the top CPU consumer",
                             {Action("renice", {{"pid", "top_cpu"}, {"nice", 10}})}, 2 * kMinute));
    }
    out.push_back(std::move(p));
  }
  // 2. Memory pressure: give back the agent's own free heap, then (if permitted) drop the page
  // cache and compact memory.
  {
    auto p =
        MakePlaybook("memory_pressure",
                     "alertname=~\"memory_usage_high|memory_pressure_high|swap_activity_high\"",
                     {{"warning", "P2"}, {"critical", "P0"}});
    p.steps.push_back(Step("diagnose and trim the agent's memory",
                           {Action("diagnose"), Action("trim_memory")}, 2 * kMinute));
    if (r.drop_caches) {
      p.steps.push_back(Step("drop caches and compact memory",
                             {Action("drop_caches"), Action("compact_memory")}, 2 * kMinute));
    }
    out.push_back(std::move(p));
  }
  // 3. Low token throughput / performance degradation.
  {
    auto p = MakePlaybook("performance_degradation",
                          "alertname=~\"token_throughput_low|token_throughput_degradation\"",
                          {{"warning", "P2"}, {"critical", "P1"}});
    p.steps.push_back(Step("diagnose the engine", {Action("diagnose")}, 3 * kMinute));
    engine_steps(&p);
    out.push_back(std::move(p));
  }
  // 4. High request latency (and a full KV cache, its usual cause).
  {
    auto p = MakePlaybook("high_latency", "alertname=~\"request_latency_high|kv_cache_usage_high\"",
                          {{"warning", "P2"}, {"critical", "P1"}});
    p.steps.push_back(Step("diagnose the engine", {Action("diagnose")}, 3 * kMinute));
    engine_steps(&p);
    out.push_back(std::move(p));
  }
  // 5. Low disk space: clean the agent's own directories, then rotate its logs.
  {
    auto p = MakePlaybook("low_disk_space", "alertname=~\"disk_usage_high|disk_full_forecast\"",
                          {{"warning", "P2"}, {"critical", "P0"}});
    p.steps.push_back(Step("diagnose and clean the agent's directories",
                           {Action("diagnose"), Action("cleanup", {{"patterns", kCleanupPatterns},
                                                                   {"min_age", "24h"},
                                                                   {"recursive", true}})},
                           2 * kMinute));
    p.steps.push_back(Step("rotate logs", {Action("rotate_logs")}, 2 * kMinute));
    out.push_back(std::move(p));
  }
  // 6. GPU utilisation / GPU memory: evidence (GPU processes), then people.
  {
    auto p = MakePlaybook("gpu", "alertname=~\"gpu_.*\"", {{"warning", "P2"}, {"critical", "P1"}});
    p.steps.push_back(Step("diagnose the GPUs", {Action("diagnose")}, 5 * kMinute));
    out.push_back(std::move(p));
  }
  // 7. Evolution convergence: an application metric the agent cannot fix; evidence, then people.
  {
    auto p = MakePlaybook("evolution_convergence", "alertname=\"evolution_convergence_low\"",
                          {{"warning", "P3"}, {"critical", "P2"}});
    p.steps.push_back(Step("diagnose", {Action("diagnose")}, 5 * kMinute));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace echomon::respond
