// Remote-write encoding cost: one tick's worth of samples (1000 series with realistic
// labels, one sample each, as the agent sends at 1 Hz) encoded as a snappy-compressed WriteRequest,
// against two baselines: the same protobuf without snappy (BM_RemoteWrite_SerializeOnly) and
// the same samples as JSON with nlohmann (BM_RemoteWrite_JsonBaseline). BM_RemoteWrite_Ratios
// runs the three interleaved and reports the cost ratios (x_serialize, x_json).
// BM_RemoteWriteFeed_Tick: what the remote_write extension's per-tick read of the store
// costs for 1000 series (Latest() for each, then Range() over the new points).
#include <benchmark/benchmark.h>
#include <time.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/remote_write_codec.h"
#include "store/series_store.h"

namespace {

namespace rw = echomon::remote_write;
using echomon::core::Labels;

constexpr int64_t kT0 = 1'700'000'000'000;

std::vector<rw::WriteSeries> TickOfSamples(size_t series, size_t samples_per_series) {
  std::vector<rw::WriteSeries> out;
  const char* names[] = {"node_cpu_seconds_total", "node_network_receive_bytes_total",
                         "vllm:num_requests_running", "echomon_collector_duration_seconds"};
  for (size_t i = 0; i < series; ++i) {
    rw::WriteSeries s;
    s.labels = Labels{{"__name__", names[i % 4]},
                      {"cpu", std::to_string(i % 64)},
                      {"mode", i % 2 ? "user" : "system"},
                      {"instance", "gpu-host-01:9470"},
                      {"cluster", "lab"}};
    s.labels.Set("series", std::to_string(i));
    for (size_t k = 0; k < samples_per_series; ++k) {
      s.samples.push_back({kT0 + static_cast<int64_t>(k) * 1000,
                           12345.0 + static_cast<double>(i) * 0.25 + static_cast<double>(k)});
    }
    out.push_back(std::move(s));
  }
  return out;
}

size_t SampleCount(const std::vector<rw::WriteSeries>& s) {
  size_t n = 0;
  for (const auto& x : s) n += x.samples.size();
  return n;
}

// The JSON baseline: {"labels": {...}, "samples": [[t, v], ...]} per series.
std::string JsonEncode(const std::vector<rw::WriteSeries>& series) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : series) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& l : s.labels.items()) labels[l.name] = l.value;
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& p : s.samples) samples.push_back({p.t_ms, p.value});
    out.push_back({{"labels", std::move(labels)}, {"samples", std::move(samples)}});
  }
  return out.dump();
}

// Thread CPU time, so the ratios hold on a busy machine.
double CpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void BM_RemoteWrite_SerializeOnly(benchmark::State& state) {
  const auto series = TickOfSamples(1000, static_cast<size_t>(state.range(0)));
  const size_t n = SampleCount(series);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = rw::SerializeWriteRequest(series);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_RemoteWrite_JsonBaseline(benchmark::State& state) {
  const auto series = TickOfSamples(1000, static_cast<size_t>(state.range(0)));
  const size_t n = SampleCount(series);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = JsonEncode(series);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_RemoteWrite_EncodeSnappy(benchmark::State& state) {
  const auto series = TickOfSamples(1000, static_cast<size_t>(state.range(0)));
  const size_t n = SampleCount(series);
  const size_t raw = rw::SerializeWriteRequest(series).size();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = rw::EncodeWriteRequest(series);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.counters["compression"] = static_cast<double>(raw) / static_cast<double>(bytes);
}

// The ratios, robust to a busy machine: each iteration runs all three encodings back to back
// and times each with the thread's CPU clock, so load hits them alike. Counters: CPU ns per
// sample for each, and x_serialize / x_json = protobuf+snappy cost over the baseline's.
void BM_RemoteWrite_Ratios(benchmark::State& state) {
  const auto series = TickOfSamples(1000, static_cast<size_t>(state.range(0)));
  const size_t n = SampleCount(series);
  double encode = 0, serialize = 0, json = 0;
  for (auto _ : state) {
    double t = CpuNanos();
    std::string a = rw::EncodeWriteRequest(series);
    benchmark::DoNotOptimize(a);
    double u = CpuNanos();
    encode += u - t;
    std::string b = rw::SerializeWriteRequest(series);
    benchmark::DoNotOptimize(b);
    t = CpuNanos();
    serialize += t - u;
    std::string c = JsonEncode(series);
    benchmark::DoNotOptimize(c);
    json += CpuNanos() - t;
  }
  const double per = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.counters["encode_ns"] = encode / per;
  state.counters["serialize_ns"] = serialize / per;
  state.counters["json_ns"] = json / per;
  state.counters["x_serialize"] = encode / serialize;
  state.counters["x_json"] = encode / json;
}
BENCHMARK(BM_RemoteWrite_Ratios)->Arg(1)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RemoteWrite_SerializeOnly)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RemoteWrite_JsonBaseline)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RemoteWrite_EncodeSnappy)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RemoteWrite_SerializeOnly)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RemoteWrite_JsonBaseline)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RemoteWrite_EncodeSnappy)->Arg(10)->Unit(benchmark::kMicrosecond);

// The extension's feed: 1000 series holding 60 s of 1 Hz history, one new sample each per
// tick; per tick, Latest() on every series and Range() over what is new.
void BM_RemoteWriteFeed_Tick(benchmark::State& state) {
  echomon::store::StoreOptions o;
  echomon::store::SeriesStore store(o);
  constexpr int kSeries = 1000;
  std::vector<echomon::store::SeriesId> ids;
  for (int i = 0; i < kSeries; ++i) {
    ids.push_back(store.Resolve("m", Labels{{"series", std::to_string(i)}}));
  }
  int64_t t = kT0;
  for (int k = 0; k < 60; ++k, t += 1000) {
    for (auto id : ids) (void)store.Append(id, t, static_cast<double>(k));
  }
  std::vector<int64_t> last_sent(ids.size(), t - 1000);
  size_t points = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (auto id : ids) (void)store.Append(id, t, 1.0);
    state.ResumeTiming();
    for (size_t i = 0; i < ids.size(); ++i) {
      auto latest = store.Latest(ids[i]);
      if (!latest || latest->t_ms <= last_sent[i]) continue;
      auto r = store.Range(ids[i], last_sent[i] + 1, latest->t_ms);
      if (r.ok()) points += r->size();
      last_sent[i] = latest->t_ms;
    }
    t += 1000;
  }
  benchmark::DoNotOptimize(points);
  state.SetItemsProcessed(state.iterations() * kSeries);
}
BENCHMARK(BM_RemoteWriteFeed_Tick)->Unit(benchmark::kMicrosecond)->Iterations(500);

}  // namespace

BENCHMARK_MAIN();
