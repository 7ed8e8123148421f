// Calibration for overhead figures: the same fixed computation (summing 1.6 MB of doubles five
// times) measured in thread CPU time back to back, and after one second of sleep — the duty
// cycle of a once-a-second agent. On virtual machines whose vCPUs are descheduled while idle
// the second is many times the first; every per-second agent's CPU % is inflated by the same
// effect, which is why docs/performance.md compares echomon with node_exporter in one run.
#include <benchmark/benchmark.h>
#include <time.h>

#include <chrono>
#include <thread>
#include <vector>

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double FixedWork() {
  static const std::vector<double> data(200'000, 1.0);
  double sum = 0;
  for (int r = 0; r < 5; ++r) {
    for (double x : data) sum += x * 1.0000001;
  }
  return sum;
}

void BM_FixedWork_BackToBack(benchmark::State& state) {
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    benchmark::DoNotOptimize(FixedWork());
    state.SetIterationTime(ThreadCpuSeconds() - t0);
  }
}
BENCHMARK(BM_FixedWork_BackToBack)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_FixedWork_AfterOneSecondIdle(benchmark::State& state) {
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double t0 = ThreadCpuSeconds();
    benchmark::DoNotOptimize(FixedWork());
    state.SetIterationTime(ThreadCpuSeconds() - t0);
  }
}
BENCHMARK(BM_FixedWork_AfterOneSecondIdle)
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
