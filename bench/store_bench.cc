// Store benchmarks.
//
// BM_Store_Append / BM_Store_AppendBaseline: samples/s appending a host collector's tick
// (300 series, 1 s apart) into the compressed store vs. into an uncompressed
// std::vector<Point> per series; compare their items_per_second for the ratio.
// BM_Store_AppendBatch: the same through AppendBatch (resolving name + labels per sample).
// BM_Store_HostHour: bytes per sample on real host metrics recorded by
// scripts/record_host_metrics.sh; set ECHOMON_HOST_HOUR to the CSV (skipped otherwise).
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "store/chunk.h"
#include "store/series_store.h"

namespace {

using echomon::store::Point;
using echomon::store::SeriesId;
using echomon::store::SeriesStore;

constexpr int kSeries = 300;
constexpr int kTicks = 3600;
constexpr int64_t kT0 = 1700000000000;

// Values shaped like a host collector's: a third monotonic counters with small increments,
// a third slowly drifting gauges, a third mostly constant.
const std::vector<double>& TickValues() {
  static const std::vector<double> values = [] {
    std::vector<double> v(static_cast<size_t>(kSeries) * kTicks);
    std::mt19937_64 rng(42);
    for (int s = 0; s < kSeries; ++s) {
      double x = static_cast<double>(rng() % 1000000);
      for (int t = 0; t < kTicks; ++t) {
        switch (s % 3) {
          case 0:
            x += static_cast<double>(rng() % 4096);
            break;
          case 1:
            x = std::round(x + static_cast<double>(static_cast<int>(rng() % 201) - 100));
            break;
          case 2:
            if (rng() % 60 == 0) x += 1;
            break;
        }
        v[static_cast<size_t>(t) * kSeries + s] = x;
      }
    }
    return v;
  }();
  return values;
}

void BM_Store_Append(benchmark::State& state) {
  const auto& values = TickValues();
  echomon::store::StoreOptions options;
  options.max_memory_bytes = 1ULL << 40;
  SeriesStore store(options);
  std::vector<SeriesId> ids;
  for (int s = 0; s < kSeries; ++s) {
    ids.push_back(store.Resolve("host_metric", {{"index", std::to_string(s)}}));
  }
  int64_t tick = 0;
  for (auto _ : state) {
    const double* row = &values[static_cast<size_t>(tick % kTicks) * kSeries];
    const int64_t t = kT0 + tick * 1000;
    for (int s = 0; s < kSeries; ++s) {
      benchmark::DoNotOptimize(store.Append(ids[static_cast<size_t>(s)], t, row[s]).ok());
    }
    ++tick;
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
  const auto stats = store.Stats();
  state.counters["bytes_per_sample"] =
      static_cast<double>(stats.chunk_bytes) / static_cast<double>(stats.samples);
}
BENCHMARK(BM_Store_Append);

void BM_Store_AppendBaseline(benchmark::State& state) {
  const auto& values = TickValues();
  std::vector<std::vector<Point>> series(kSeries);
  int64_t tick = 0;
  for (auto _ : state) {
    const double* row = &values[static_cast<size_t>(tick % kTicks) * kSeries];
    const int64_t t = kT0 + tick * 1000;
    for (int s = 0; s < kSeries; ++s) series[static_cast<size_t>(s)].push_back(Point{t, row[s]});
    benchmark::ClobberMemory();
    ++tick;
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
  state.counters["bytes_per_sample"] = static_cast<double>(sizeof(Point));
}
BENCHMARK(BM_Store_AppendBaseline);

void BM_Store_AppendBatch(benchmark::State& state) {
  const auto& values = TickValues();
  echomon::store::StoreOptions options;
  options.max_memory_bytes = 1ULL << 40;
  SeriesStore store(options);
  echomon::core::SampleBatch batch(kSeries);
  for (int s = 0; s < kSeries; ++s) {
    batch[static_cast<size_t>(s)].name = "node_cpu_seconds_total";
    batch[static_cast<size_t>(s)].labels.Set("cpu", std::to_string(s / 10));
    batch[static_cast<size_t>(s)].labels.Set("mode", "mode" + std::to_string(s % 10));
  }
  int64_t tick = 0;
  for (auto _ : state) {
    const double* row = &values[static_cast<size_t>(tick % kTicks) * kSeries];
    for (int s = 0; s < kSeries; ++s) batch[static_cast<size_t>(s)].value = row[s];
    benchmark::DoNotOptimize(store.AppendBatch(batch, kT0 + tick * 1000));
    ++tick;
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
}
BENCHMARK(BM_Store_AppendBatch);

struct HostRecording {
  // One entry per series key: its points in time order.
  std::map<std::string, std::vector<Point>> series;
  size_t samples = 0;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};

// Reads "t_ms,series_key,value" lines (the key may itself contain commas).
// Plain or gzip-compressed (zlib reads both).
bool LoadRecording(const char* path, HostRecording* out) {
  gzFile in = gzopen(path, "rb");
  if (in == nullptr) return false;
  std::string line;
  char buf[4096];
  while (gzgets(in, buf, sizeof(buf)) != nullptr) {
    line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    const size_t first = line.find(',');
    const size_t last = line.rfind(',');
    if (first == std::string::npos || last <= first) continue;
    const int64_t t = std::strtoll(line.c_str(), nullptr, 10);
    const double v = std::strtod(line.c_str() + last + 1, nullptr);
    auto& points = out->series[line.substr(first + 1, last - first - 1)];
    if (!points.empty() && points.back().t_ms >= t) continue;
    points.push_back(Point{t, v});
    if (out->samples == 0) out->first_ms = t;
    out->last_ms = std::max(out->last_ms, t);
    ++out->samples;
  }
  gzclose(in);
  return out->samples > 0;
}

// Appends the recording tick by tick (as the agent would) and reports encoded chunk bytes per
// sample. range(0) == 1 rounds timestamps to the second, as a tick-stamped collector would.
void BM_Store_HostHour(benchmark::State& state) {
  // Default: the hour of this project's build machine checked in as bench/data/host_hour.csv.gz.
  const char* env = std::getenv("ECHOMON_HOST_HOUR");
  const char* path = env ? env : ECHOMON_SOURCE_DIR "/bench/data/host_hour.csv.gz";
  static HostRecording recording;
  static bool loaded = false;
  if (path == nullptr || (!loaded && !(loaded = LoadRecording(path, &recording)))) {
    state.SkipWithError(
        "no recording: set ECHOMON_HOST_HOUR to a CSV from scripts/record_host_metrics.sh");
    return;
  }
  const bool align = state.range(0) == 1;
  echomon::store::StoreStats stats;
  for (auto _ : state) {
    echomon::store::StoreOptions options;
    options.max_memory_bytes = 1ULL << 40;
    SeriesStore store(options);
    for (const auto& [key, points] : recording.series) {
      const SeriesId id = store.Resolve(key, {});
      for (const Point& p : points) {
        const int64_t t = align ? (p.t_ms + 500) / 1000 * 1000 : p.t_ms;
        benchmark::DoNotOptimize(store.Append(id, t, p.v).ok());
      }
    }
    stats = store.Stats();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(recording.samples));
  state.counters["series"] = static_cast<double>(recording.series.size());
  state.counters["minutes"] = static_cast<double>(recording.last_ms - recording.first_ms) / 60000.0;
  state.counters["bytes_per_sample"] =
      static_cast<double>(stats.chunk_bytes) / static_cast<double>(stats.samples);
  state.counters["append_errors"] = static_cast<double>(stats.append_errors);
}
BENCHMARK(BM_Store_HostHour)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
