// SeriesStore: the in-memory time-series store with Gorilla-compressed chunks, retention,
// a memory budget, queries, and optional durability through a ChunkPersistence (SQLite).
//
// Thread-safety: every public method may be called from any thread (one writer and many
// readers is the normal pattern: the collection thread appends, HTTP threads query).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/metric.h"
#include "echomon/status.h"

namespace echomon::store {

struct Point {
  int64_t t_ms;
  double v;
  bool operator==(const Point&) const = default;
};

enum class Aggregation { kAvg, kMin, kMax, kLast };
// Parses "avg", "min", "max", "last". Returns false otherwise.
bool ParseAggregation(std::string_view text, Aggregation* out);

using SeriesId = uint32_t;

struct SeriesInfo {
  SeriesId id = 0;
  std::string name;
  core::Labels labels;
  core::MetricType type = core::MetricType::kGauge;
  std::string help;
};

struct StoreOptions {
  int64_t retention_ms = 24LL * 3600 * 1000;
  uint64_t max_memory_bytes = 256ULL << 20;
  // Data directory for the SQLite database (<data_dir>/echomon.db); empty: memory only.
  std::string data_dir;
};

struct StoreStats {
  uint64_t series = 0;
  uint64_t samples = 0;            // samples currently held in memory
  uint64_t samples_appended = 0;   // total appended since start
  uint64_t memory_bytes = 0;       // bytes used by chunks and series index (estimate)
  uint64_t chunks_in_memory = 0;
  uint64_t chunks_persisted = 0;   // sealed chunks written to SQLite since start
  uint64_t chunks_evicted = 0;     // dropped from memory by retention or the memory budget
  uint64_t append_errors = 0;      // out-of-order or invalid samples rejected
  uint64_t persist_errors = 0;
  int64_t oldest_ms = 0;           // oldest sample in memory, 0 when empty
};

class SeriesStore {
 public:
  explicit SeriesStore(StoreOptions options);
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // Opens the database in options.data_dir (creating it) and loads persisted history within
  // retention. A no-op without a data_dir. Fails with a Status naming the path on I/O errors.
  Status Open(int64_t now_ms);

  // Finds or creates the series for name + labels.
  SeriesId Resolve(std::string_view name, const core::Labels& labels,
                   core::MetricType type = core::MetricType::kGauge, std::string_view help = {});

  // Appends one sample. Rejects (and counts) a timestamp not after the series' last one.
  Status Append(SeriesId id, int64_t t_ms, double value);
  // Resolves and appends every sample of a batch at t_ms. Returns how many were stored.
  size_t AppendBatch(const core::SampleBatch& batch, int64_t t_ms);

  std::optional<Point> Latest(SeriesId id) const;
  std::optional<SeriesInfo> Info(SeriesId id) const;
  // Series whose name equals name (any name when empty) and whose labels match all matchers.
  std::vector<SeriesInfo> Select(std::string_view name,
                                 const std::vector<core::LabelMatcher>& matchers) const;

  // Raw points with start_ms <= t <= end_ms, oldest first; includes persisted chunks that were
  // evicted from memory but are still within retention.
  Result<std::vector<Point>> Range(SeriesId id, int64_t start_ms, int64_t end_ms) const;
  // One point per step bucket [start + k*step, start + (k+1)*step) that holds data, stamped at
  // the bucket's end (clamped to end_ms), aggregated with agg.
  Result<std::vector<Point>> RangeStep(SeriesId id, int64_t start_ms, int64_t end_ms,
                                       int64_t step_ms, Aggregation agg) const;

  // Drops data older than now - retention (memory and database) and enforces the memory
  // budget. Call periodically (the agent calls it every tick; it is cheap when idle).
  void EnforceRetention(int64_t now_ms);
  // Persists open head chunks so a crash loses at most the time since the last checkpoint.
  Status Checkpoint();
  // Seals and persists everything; call on clean shutdown.
  Status Flush();

  StoreStats Stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::store
