// Cost of the streaming anomaly detector per sample, on a real NAB series, against a bare EWMA
// mean/variance z-score measured in the same run (the ratio is reported as a counter), plus the
// detector's state size per series.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "analyze/anomaly_detector.h"
#include "analyze/replay.h"

namespace {

namespace ea = echomon::analyze;

#ifndef ECHOMON_SHARED_DATA_DIR
#define ECHOMON_SHARED_DATA_DIR "../shared/data"
#endif

const ea::ReplayedSeries& Series() {
  static const ea::ReplayedSeries series = [] {
    auto r = ea::ReplayCsvToMemory(
        std::string(ECHOMON_SHARED_DATA_DIR) + "/nab/data/realKnownCause/nyc_taxi.csv",
        ea::AnomalyConfig{});
    if (!r.ok()) {
      // Fall back to a synthetic daily series when the shared data is not there.
      ea::ReplayedSeries s;
      for (int i = 0; i < 10320; ++i) {
        s.t_ms.push_back(int64_t{i} * 1800000);
        s.values.push_back(15000 + 8000 * std::sin(i * 2 * M_PI / 48) + (i * 7919 % 1000));
      }
      return s;
    }
    return std::move(*r);
  }();
  return series;
}

double g_ewma_ns = 0;  // per point, from BM_Anomaly_EwmaBaseline in this run

void BM_Anomaly_EwmaBaseline(benchmark::State& state) {
  const auto& s = Series();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    double mean = 0, var = 0, sum = 0;
    const double alpha = 0.01;
    for (double x : s.values) {
      const double d = x - mean;
      const double z = var > 0 ? std::abs(d) / std::sqrt(var) : 0;
      sum += 0.5 * std::erfc(z / std::sqrt(2.0));
      mean += alpha * d;
      var = (1 - alpha) * (var + alpha * d * d);
    }
    benchmark::DoNotOptimize(sum);
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  g_ewma_ns = ns / (static_cast<double>(state.iterations()) * static_cast<double>(s.values.size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(s.values.size()));
}
BENCHMARK(BM_Anomaly_EwmaBaseline)->Unit(benchmark::kMicrosecond);

// Arg 1: the defaults; arg 0: without the seasonal profiles (the round-3 detector), to show
// what they cost.
void BM_Anomaly_Update(benchmark::State& state) {
  const auto& s = Series();
  ea::AnomalyConfig config;
  if (state.range(0) == 0) config.weight_daily = config.weight_weekly = 0;
  size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    ea::AnomalyDetector d{config};
    double sum = 0;
    for (size_t i = 0; i < s.values.size(); ++i) sum += d.Update(s.t_ms[i], s.values[i]);
    benchmark::DoNotOptimize(sum);
    bytes = d.StateBytes();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(s.values.size()));
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
      (static_cast<double>(state.iterations()) * static_cast<double>(s.values.size()));
  state.counters["state_bytes"] = static_cast<double>(bytes);
  // Cost relative to the bare EWMA z-score (run first, in the same process).
  if (g_ewma_ns > 0) state.counters["x_ewma"] = ns / g_ewma_ns;
}
BENCHMARK(BM_Anomaly_Update)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

void BM_Anomaly_WindowedGaussian(benchmark::State& state) {
  const auto& s = Series();
  for (auto _ : state) {
    ea::WindowedGaussianDetector d;
    double sum = 0;
    for (double x : s.values) sum += d.Update(x);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(s.values.size()));
}
BENCHMARK(BM_Anomaly_WindowedGaussian)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
