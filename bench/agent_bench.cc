// One whole agent tick (collect, store, rules, alerting) on the live host, as the agent runs it
// every second, next to the host collectors alone (the floor).
//
//   BM_Agent_Tick/1   built-in rules on       BM_Agent_Tick/0   no rules
//   BM_Agent_CollectorsOnly                   the collection part of a tick by itself
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>

#include "collect/collector.h"
#include "echomon/monitor.h"

namespace {

using namespace echomon;

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void BM_Agent_Tick(benchmark::State& state) {
  const std::string dir = std::filesystem::temp_directory_path() / "echomon-bench-agent";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/agent.yaml";
  FILE* f = std::fopen(config.c_str(), "w");
  std::fprintf(f, "alerting: {default_rules: %s}\n", state.range(0) ? "true" : "false");
  std::fclose(f);
  ManualClock clock(1'700'000'000'000);
  MonitorOptions o;
  o.clock = &clock;
  o.config_file = config;
  o.data_dir = dir + "/data";
  o.serve_http = false;
  o.run_loop = false;
  auto m = Monitor::Create(o);
  if (!m.ok() || !(*m)->Start().ok()) {
    state.SkipWithError("cannot start the agent");
    return;
  }
  const double cpu0 = CpuSeconds();
  for (auto _ : state) {
    clock.Advance(1000);
    (*m)->CollectOnce();
  }
  state.counters["process_cpu_us_per_tick"] =
      (CpuSeconds() - cpu0) * 1e6 / static_cast<double>(state.iterations());
  (*m)->Stop();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Agent_Tick)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Agent_CollectorsOnly(benchmark::State& state) {
  collect::CollectorRunner runner(SystemClock::Get(), collect::RunnerOptions{500});
  for (auto& c : collect::MakeHostCollectors({})) runner.Add(std::move(c));
  core::SampleBatch batch;
  const double cpu0 = CpuSeconds();
  for (auto _ : state) {
    batch.clear();
    runner.RunOnce(batch);
  }
  state.counters["process_cpu_us_per_tick"] =
      (CpuSeconds() - cpu0) * 1e6 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Agent_CollectorsOnly)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
