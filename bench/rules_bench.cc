// Rule evaluation cost and alert latency.
//
//   BM_Rules_Evaluate/1000/1000    1,000 threshold rules, each selecting one of 1,000 series
//   BM_Rules_Evaluate/10/1000      10 rules, each over all 1,000 series
//   BM_Rules_LatestBaseline/1000   the floor: reading the latest sample of 1,000 series
//   BM_Alert_CrossingToHandler     from CollectOnce() with a crossing value to the in-process
//                                  handler call (through tracker, SQLite journal, dispatcher)
#include <benchmark/benchmark.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include "analyze/rules/rules.h"
#include "echomon/monitor.h"
#include "store/series_store.h"

namespace {

using namespace echomon;

constexpr int64_t kT0 = 1'700'000'000'000;

void Fill(store::SeriesStore& store, int series, int points) {
  for (int i = 0; i < series; ++i) {
    auto id = store.Resolve("gpu_memory_used_percent", core::Labels{{"gpu", std::to_string(i)}});
    for (int p = 0; p < points; ++p) (void)store.Append(id, kT0 + p * 1000, 50 + (i + p) % 40);
  }
}

void BM_Rules_Evaluate(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  const int series = static_cast<int>(state.range(1));
  store::SeriesStore store{store::StoreOptions{}};
  Fill(store, series, 60);
  std::vector<analyze::RuleSpec> specs;
  for (int r = 0; r < rules; ++r) {
    analyze::RuleSpec s;
    s.name = "rule" + std::to_string(r);
    s.metric = "gpu_memory_used_percent";
    if (rules >= series) {
      s.matchers = {{"gpu", core::LabelMatcher::Op::kEqual, std::to_string(r % series)}};
    }
    s.levels = {{Severity::kWarning, 85, 80}, {Severity::kCritical, 95, 90}};
    if (r % 2) {  // half of them aggregate over a window
      s.aggregation = analyze::WindowAggregation::kAvg;
      s.window_ms = 30'000;
    }
    specs.push_back(s);
  }
  analyze::RuleEvaluator ev(&store);
  if (!ev.SetRules(specs).ok()) state.SkipWithError("invalid rules");
  size_t evaluated = 0;
  for (auto _ : state) {
    auto results = ev.Evaluate(kT0 + 59'000);
    for (const auto& r : results) evaluated += r.series.size();
    benchmark::DoNotOptimize(results);
  }
  state.counters["series_evaluations_per_tick"] =
      static_cast<double>(evaluated) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Rules_Evaluate)->Args({1000, 1000})->Args({10, 1000})->Unit(benchmark::kMicrosecond);

void BM_Rules_LatestBaseline(benchmark::State& state) {
  store::SeriesStore store{store::StoreOptions{}};
  Fill(store, static_cast<int>(state.range(0)), 60);
  auto all = store.Select({}, {});
  for (auto _ : state) {
    double sum = 0;
    for (const auto& s : all) sum += store.Latest(s.id)->v > 85;
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_Rules_LatestBaseline)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_Alert_CrossingToHandler(benchmark::State& state) {
  const std::string dir = std::filesystem::temp_directory_path() / "echomon-bench-alert";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/agent.yaml";
  {
    FILE* f = std::fopen(config.c_str(), "w");
    std::fputs(
        "host: {enabled: false}\nalerting: {default_rules: false}\nnotifiers: []\n"
        "rules:\n  - name: hot\n    metric: temp\n    warning: 80\n",
        f);
    std::fclose(f);
  }
  ManualClock clock(kT0);
  MonitorOptions o;
  o.clock = &clock;
  o.config_file = config;
  o.data_dir = dir + "/data";
  o.serve_http = false;
  o.run_loop = false;
  auto m = Monitor::Create(o);
  if (!m.ok()) {
    state.SkipWithError(m.status().ToString().c_str());
    return;
  }
  double value = 20;
  (*m)->RegisterCollector("sensor", [&value] {
    return std::map<std::string, double>{{"temp", value}};
  });
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  (*m)->RegisterAlertHandler([&](const Alert&) {
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    cv.notify_all();
  });
  if (!(*m)->Start().ok()) state.SkipWithError("start failed");
  for (auto _ : state) {
    // Each iteration: a crossing (firing) then a recovery (resolved), two handler calls.
    for (double v : {90.0, 20.0}) {
      const int before = calls;
      value = v;
      clock.Advance(1000);
      (*m)->CollectOnce();
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return calls > before; });
    }
  }
  state.counters["handler_calls"] = calls;
  (*m)->Stop();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Alert_CrossingToHandler)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
