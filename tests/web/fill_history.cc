// fill_history: writes hours of 1-second history into <data_dir>/echomon.db, ending now, for
// the dashboard's browser test (dashboard.test.mjs) to start the real agent on a day of data.
//
//   fill_history DATA_DIR [HOURS]
//
// The series are ones the dashboard charts (CPU, memory, network, engine), with plausible
// shapes; the agent restores them at start and keeps appending live samples after them.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "store/series_store.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: fill_history DATA_DIR [HOURS]\n");
    return 2;
  }
  const double hours = argc == 3 ? std::atof(argv[2]) : 24;
  if (!(hours > 0 && hours <= 48)) {
    std::fprintf(stderr, "fill_history: HOURS must be in (0, 48]\n");
    return 2;
  }
  echomon::SystemClock clock;
  const int64_t now = clock.NowMillis() / 1000 * 1000;
  echomon::store::StoreOptions options;
  options.data_dir = argv[1];
  options.retention_ms = 48LL * 3600 * 1000;
  echomon::store::SeriesStore store(options);
  if (auto s = store.Open(now); !s.ok()) {
    std::fprintf(stderr, "fill_history: %s\n", s.ToString().c_str());
    return 1;
  }
  using echomon::core::Labels;
  using echomon::core::MetricType;
  struct Series {
    echomon::store::SeriesId id;
    int kind;  // 0 percent wave, 1 counter, 2 small gauge
    double phase;
  };
  std::vector<Series> series = {
      {store.Resolve("echomon_cpu_usage_percent", Labels{{"cpu", "total"}}), 0, 0.0},
      {store.Resolve("echomon_memory_used_percent", Labels{}), 0, 1.0},
      {store.Resolve("echomon_swap_used_percent", Labels{}), 2, 0.0},
      {store.Resolve("echomon_network_receive_bytes_total", Labels{{"interface", "eth9"}},
                     MetricType::kCounter),
       1, 0.0},
      {store.Resolve("echomon_network_transmit_bytes_total", Labels{{"interface", "eth9"}},
                     MetricType::kCounter),
       1, 0.5},
      {store.Resolve("echomon_engine_generation_tokens_per_second",
                     Labels{{"engine", "history"}, {"model", "m"}}),
       0, 2.0},
      {store.Resolve("echomon_engine_kv_cache_usage_percent",
                     Labels{{"engine", "history"}, {"model", "m"}}),
       0, 3.0},
      {store.Resolve("echomon_engine_requests_waiting",
                     Labels{{"engine", "history"}, {"model", "m"}}),
       2, 0.0},
  };
  const int64_t count = static_cast<int64_t>(hours * 3600);
  const int64_t first = now - 2000 - (count - 1) * 1000;
  std::vector<double> counters(series.size(), 0);
  uint64_t appended = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t t = first + i * 1000;
    const double x = static_cast<double>(i);
    for (size_t k = 0; k < series.size(); ++k) {
      const Series& s = series[k];
      double v = 0;
      const double noise = std::sin(x * 12.9898 + static_cast<double>(k) * 78.233) * 0.5 + 0.5;
      if (s.kind == 0) {
        v = 40 + 25 * std::sin(x / 3600.0 + s.phase) + 10 * noise;
      } else if (s.kind == 1) {
        counters[k] += 1e5 + 5e4 * std::sin(x / 1800.0 + s.phase) + 1e4 * noise;
        v = counters[k];
      } else {
        v = std::floor(3 + 3 * std::sin(x / 900.0) + 2 * noise);
      }
      if (store.Append(s.id, t, v).ok()) ++appended;
    }
  }
  if (auto s = store.Flush(); !s.ok()) {
    std::fprintf(stderr, "fill_history: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("fill_history: %llu samples in %zu series, %lld s each, ending %lld\n",
              static_cast<unsigned long long>(appended), series.size(),
              static_cast<long long>(count), static_cast<long long>(first / 1000 + count - 1));
  return 0;
}
