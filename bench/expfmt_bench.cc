// Exposition-parser throughput: MB/s and samples/s on a ~10 MB body built from the real vLLM
// capture (../shared/data/exposition/vllm_v0_sample.txt), each copy with its own family prefix
// and model_name, in Prometheus text and (converted) OpenMetrics form.
//
// The Prometheus-text body is also written to $EXPFMT_BENCH_FILE (default /tmp/expfmt_bench.txt)
// so bench/expfmt_python_baseline.py can parse the very same bytes with python3-prometheus-client
// and the two MB/s figures can be compared.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>

#include "collect/expfmt/parser.h"

namespace {

using echomon::collect::expfmt::Format;
using echomon::collect::expfmt::Parse;

#ifndef ECHOMON_SHARED_DATA_DIR
#define ECHOMON_SHARED_DATA_DIR "../shared/data"
#endif

constexpr size_t kTargetBytes = 10u << 20;

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

std::string LoadCapture() {
  const char* dir = std::getenv("ECHOMON_SHARED_DATA_DIR");
  const std::string path =
      std::string(dir ? dir : ECHOMON_SHARED_DATA_DIR) + "/exposition/vllm_v0_sample.txt";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s (set ECHOMON_SHARED_DATA_DIR)\n", path.c_str());
    std::exit(1);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Repeats the capture with distinct family names and label values up to ~10 MB.
const std::string& PrometheusBody() {
  static const std::string body = [] {
    const std::string capture = LoadCapture();
    std::string out;
    out.reserve(kTargetBytes + capture.size() * 2);
    for (int i = 0; out.size() < kTargetBytes; ++i) {
      std::string copy = ReplaceAll(capture, "vllm:", "vllm" + std::to_string(i) + ":");
      out += ReplaceAll(copy, "Qwen/Qwen3-0.6B", "model-" + std::to_string(i));
    }
    const char* file = std::getenv("EXPFMT_BENCH_FILE");
    std::ofstream(file ? file : "/tmp/expfmt_bench.txt", std::ios::binary) << out;
    return out;
  }();
  return body;
}

// The same body as OpenMetrics: counter metadata names lose their _total suffix, "# EOF" ends it.
const std::string& OpenMetricsBody() {
  static const std::string body = [] {
    const std::string& prom = PrometheusBody();
    std::set<std::string, std::less<>> counters;
    size_t pos = 0;
    while ((pos = prom.find("# TYPE ", pos)) != std::string::npos) {
      const size_t end = prom.find('\n', pos);
      const std::string_view line(prom.data() + pos, end - pos);
      if (line.ends_with(" counter")) counters.emplace(line.substr(7, line.size() - 15));
      pos = end;
    }
    std::string out;
    out.reserve(prom.size() + 16);
    size_t start = 0;
    while (start < prom.size()) {
      const size_t end = prom.find('\n', start);
      std::string_view line(prom.data() + start, end - start);
      start = end + 1;
      if (line.starts_with("# ")) {
        const size_t name_start = 7;
        const size_t name_end = line.find(' ', name_start);
        const std::string_view name = line.substr(name_start, name_end - name_start);
        if (counters.count(name) > 0 && name.ends_with("_total")) {
          out.append(line.substr(0, name_end - 6));
          out.append(line.substr(name_end));
          out += '\n';
          continue;
        }
      }
      out.append(line);
      out += '\n';
    }
    out += "# EOF\n";
    return out;
  }();
  return body;
}

void RunParse(benchmark::State& state, const std::string& body, Format format) {
  echomon::collect::expfmt::ParseLimits limits;
  limits.max_samples = 10'000'000;  // the body holds ~105k samples, over the default bound
  size_t samples = 0;
  for (auto _ : state) {
    auto result = Parse(body, format, limits);
    if (!result.ok()) {
      state.SkipWithError(result.status().message().c_str());
      return;
    }
    samples = 0;
    for (const auto& f : *result) samples += f.samples.size();
    benchmark::DoNotOptimize(samples);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(samples) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["body_MB"] = static_cast<double>(body.size()) / 1e6;
  state.counters["samples"] = static_cast<double>(samples);
}

void BM_Expfmt_ParsePrometheusText(benchmark::State& state) {
  RunParse(state, PrometheusBody(), Format::kPrometheusText);
}
BENCHMARK(BM_Expfmt_ParsePrometheusText)->Unit(benchmark::kMillisecond);

void BM_Expfmt_ParseOpenMetrics(benchmark::State& state) {
  RunParse(state, OpenMetricsBody(), Format::kOpenMetrics);
}
BENCHMARK(BM_Expfmt_ParseOpenMetrics)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
