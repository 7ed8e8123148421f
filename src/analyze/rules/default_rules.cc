#include "analyze/rules/rules.h"

namespace echomon::analyze {
namespace {

RuleSpec Threshold(std::string name, std::string metric, Comparison cmp,
                   std::vector<SeverityLevel> levels, int64_t for_ms, std::string summary) {
  RuleSpec r;
  r.name = std::move(name);
  r.kind = RuleKind::kThreshold;
  r.metric = std::move(metric);
  r.comparison = cmp;
  r.levels = std::move(levels);
  r.for_ms = for_ms;
  r.summary = std::move(summary);
  return r;
}

core::LabelMatcher Eq(std::string name, std::string value) {
  return core::LabelMatcher{std::move(name), core::LabelMatcher::Op::kEqual, std::move(value)};
}

}  // namespace

std::vector<RuleSpec> DefaultRules() {
  using enum Severity;
  std::vector<RuleSpec> rules;

  // The prototype's thresholds (WARNING above / CRITICAL below), on the series that now carry
  // real values.
  auto cpu = Threshold("cpu_usage_high", "echomon_cpu_usage_percent", Comparison::kAbove,
                       {{kWarning, 85, 80}}, 60'000, "CPU usage {value}% above {threshold}%");
  cpu.matchers = {Eq("cpu", "total")};
  rules.push_back(cpu);
  rules.push_back(Threshold("memory_usage_high", "echomon_memory_used_percent", Comparison::kAbove,
                            {{kWarning, 90, 87}, {kCritical, 97, 95}}, 30'000,
                            "memory usage {value}% above {threshold}%"));
  rules.push_back(Threshold("gpu_utilization_high", "echomon_gpu_utilization_percent",
                            Comparison::kAbove, {{kWarning, 95, 90}}, 60'000,
                            "GPU {labels} utilisation {value}% above {threshold}%"));
  auto latency = Threshold("request_latency_high", "echomon_engine_request_latency_seconds",
                           Comparison::kAbove, {{kWarning, 1.0, 0.9}}, 30'000,
                           "p95 request latency {value} s above {threshold} s (1000 ms)");
  latency.matchers = {Eq("quantile", "0.95")};
  rules.push_back(latency);
  rules.push_back(Threshold("sensory_motor_latency_high", "sensory_motor_latency_ms",
                            Comparison::kAbove, {{kWarning, 100, 90}}, 10'000,
                            "sensory-motor latency {value} ms above {threshold} ms"));
  rules.push_back(Threshold("token_throughput_low", "echomon_engine_generation_tokens_per_second",
                            Comparison::kBelow, {{kCritical, 50, 55}}, 60'000,
                            "token throughput {value} tokens/s below {threshold}"));
  rules.push_back(Threshold("evolution_convergence_low", "evolution_convergence",
                            Comparison::kBelow, {{kCritical, 0.7, 0.72}}, 0,
                            "evolution convergence {value} below {threshold}"));
  rules.push_back(Threshold("proprioceptive_accuracy_low", "proprioceptive_accuracy",
                            Comparison::kBelow, {{kCritical, 0.8, 0.82}}, 0,
                            "proprioceptive accuracy {value} below {threshold}"));

  // The prototype's degradation detection (window 10 samples, 15 % decline) on throughput.
  RuleSpec degradation;
  degradation.name = "token_throughput_degradation";
  degradation.kind = RuleKind::kDegradation;
  degradation.metric = "echomon_engine_generation_tokens_per_second";
  degradation.samples = 10;
  degradation.window_ms = 10 * 60'000;
  degradation.levels = {{kWarning, 0.15, std::nullopt}};
  degradation.summary = "token throughput fell {value} (fraction) over the last 10 samples";
  rules.push_back(degradation);

  // What the prototype lacked.
  auto disk = Threshold("disk_usage_high", "echomon_filesystem_usage_percent", Comparison::kAbove,
                        {{kWarning, 85, 82}, {kCritical, 95, 93}}, 60'000,
                        "filesystem {labels} {value}% full");
  rules.push_back(disk);
  RuleSpec disk_full;
  disk_full.name = "disk_full_forecast";
  disk_full.kind = RuleKind::kForecast;
  disk_full.metric = "echomon_filesystem_avail_bytes";
  disk_full.comparison = Comparison::kBelow;
  disk_full.window_ms = 3600'000;
  disk_full.ahead_ms = 4 * 3600'000;
  disk_full.levels = {{kWarning, 0, std::nullopt}};
  disk_full.for_ms = 5 * 60'000;
  disk_full.summary = "filesystem {labels} predicted full within 4 h";
  rules.push_back(disk_full);
  rules.push_back(Threshold("kv_cache_usage_high", "echomon_engine_kv_cache_usage_percent",
                            Comparison::kAbove, {{kWarning, 90, 85}, {kCritical, 98, 95}}, 30'000,
                            "KV cache {value}% used"));
  auto pressure = Threshold("memory_pressure_high", "echomon_pressure_stall_percent",
                            Comparison::kAbove, {{kWarning, 10, 8}, {kCritical, 25, 20}}, 60'000,
                            "tasks stalled on memory {value}% of the time (avg60)");
  pressure.matchers = {Eq("resource", "memory"), Eq("kind", "some"), Eq("window", "avg60")};
  rules.push_back(pressure);
  auto swap =
      Threshold("swap_activity_high", "echomon_vmstat_swap_out_pages_total", Comparison::kAbove,
                {{kWarning, 50, 20}}, 60'000, "swapping out {value} pages/s");
  swap.aggregation = WindowAggregation::kRate;
  swap.window_ms = 60'000;
  rules.push_back(swap);
  // Many watched series anomalous at once: the host as a whole is behaving unlike itself.
  rules.push_back(Threshold("host_anomaly_rate_high", "echomon_anomaly_rate", Comparison::kAbove,
                            {{kWarning, 0.3, 0.2}}, 2 * 60'000,
                            "{value} of the watched series are anomalous"));

  // Custom components (docs/components.md): series pushed or run by the components collector.
  // Without a component reporting them these rules have no data and never fire.
  rules.push_back(Threshold("component_down", "echomon_component_up", Comparison::kBelow,
                            {{kWarning, 1, std::nullopt}}, 60'000,
                            "component {labels} is not reporting (stale, or its last push or "
                            "run failed)"));
  rules.push_back(Threshold("dtesn_reservoir_unstable", "dtesn_reservoir_spectral_radius",
                            Comparison::kAbove, {{kWarning, 1.0, 0.98}}, 60'000,
                            "DTESN reservoir {labels} spectral radius {value} above "
                            "{threshold}: echo state property lost"));
  rules.push_back(Threshold("dtesn_membrane_evolution_stalled", "dtesn_membrane_evolution_rate",
                            Comparison::kBelow, {{kWarning, 0.001, 0.01}}, 5 * 60'000,
                            "DTESN membranes {labels} evolving at {value}/s"));
  auto transitions =
      Threshold("dtesn_psystem_transitions_stalled", "dtesn_psystem_transitions_total",
                Comparison::kBelow, {{kWarning, 0.001, 0.01}}, 5 * 60'000,
                "P-system {labels} applied {value} rules/s over 5 minutes");
  transitions.aggregation = WindowAggregation::kRate;
  transitions.window_ms = 5 * 60'000;
  rules.push_back(transitions);
  rules.push_back(Threshold("echo_self_fitness_regressing", "echo_self_fitness_improvement",
                            Comparison::kBelow, {{kWarning, -0.05, 0}}, 5 * 60'000,
                            "Echo-Self {labels} best fitness changing by {value} per generation"));
  rules.push_back(Threshold("echo_self_agent_performance_low", "echo_self_agent_performance",
                            Comparison::kBelow, {{kWarning, 0.5, 0.55}}, 5 * 60'000,
                            "Echo-Self agent {labels} performance {value} below {threshold}"));
  return rules;
}

}  // namespace echomon::analyze
