// SeriesStore: the in-memory time-series store with Gorilla-compressed chunks (store/chunk.h),
// retention, a memory budget, queries, and optional durability in SQLite
// (store/sqlite_chunk_db.h). docs/storage.md describes the life of a sample and what a crash
// can lose.
//
// Each series has one open head chunk; it is sealed after StoreOptions.chunk_samples samples
// (default 120, two minutes at 1 s) or when the next sample would make it span
// max_chunk_span_ms or more (default one hour). Sealed chunks are written to SQLite in one
// transaction at the end of every AppendBatch() (and in EnforceRetention(), Checkpoint() and
// Flush() for chunks sealed by Append()).
//
// Thread-safety: every public method may be called from any thread (one writer and many
// readers is the normal pattern: the collection thread appends, HTTP threads query). Writers
// take an exclusive lock, queries a shared one.
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
#include "store/chunk.h"  // Point

namespace echomon::store {

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
  // A head chunk is sealed when it holds chunk_samples samples (1..65535) ...
  uint32_t chunk_samples = 120;
  // ... or when the next sample is max_chunk_span_ms or more after its first one.
  int64_t max_chunk_span_ms = 3600LL * 1000;
};

struct StoreStats {
  uint64_t series = 0;
  uint64_t samples = 0;           // samples currently held in memory
  uint64_t samples_appended = 0;  // total appended since start
  uint64_t memory_bytes = 0;      // bytes used by chunks and series index (estimate)
  uint64_t chunk_bytes = 0;       // encoded bytes of the chunks in memory (sealed + heads)
  uint64_t chunks_in_memory = 0;
  uint64_t chunks_persisted = 0;  // sealed chunks written to SQLite since start
  uint64_t chunks_evicted = 0;    // dropped from memory by retention or the memory budget
  uint64_t append_errors = 0;     // out-of-order or invalid samples rejected
  uint64_t persist_errors = 0;
  int64_t oldest_ms = 0;  // oldest sample in memory, 0 when empty
};

class SeriesStore {
 public:
  explicit SeriesStore(StoreOptions options);
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // Opens the database in options.data_dir (creating it) and loads persisted history within
  // retention (sealed chunks, then the last head-chunk checkpoint), so that series keep their
  // ids and appends continue after the restored samples. A no-op without a data_dir. Fails with
  // an IoError naming the path on I/O errors or a database that is not ours; with
  // InvalidArgument when called twice or after series were resolved.
  Status Open(int64_t now_ms);

  // Finds or creates the series for name + labels (type and help are kept from the first
  // call). Never fails. Looking up an existing series does not allocate (after the first call
  // on a thread).
  SeriesId Resolve(std::string_view name, const core::Labels& labels,
                   core::MetricType type = core::MetricType::kGauge, std::string_view help = {});

  // Appends one sample. Rejects (and counts in append_errors) a timestamp not after the
  // series' last one with InvalidArgument, and an unknown id with NotFound.
  Status Append(SeriesId id, int64_t t_ms, double value);
  // Resolves and appends every sample of a batch at t_ms. Returns how many were stored.
  size_t AppendBatch(const core::SampleBatch& batch, int64_t t_ms);

  // The last appended sample, unless retention has dropped it; nullopt for unknown ids.
  std::optional<Point> Latest(SeriesId id) const;
  std::optional<SeriesInfo> Info(SeriesId id) const;
  // Series whose name equals name (any name when empty) and whose labels match all matchers.
  std::vector<SeriesInfo> Select(std::string_view name,
                                 const std::vector<core::LabelMatcher>& matchers) const;

  // Raw points with start_ms <= t <= end_ms, oldest first; includes persisted chunks that were
  // evicted from memory but are still within retention. InvalidArgument when start > end,
  // NotFound for an unknown id, IoError when the database cannot be read, ParseError on a
  // corrupt chunk.
  Result<std::vector<Point>> Range(SeriesId id, int64_t start_ms, int64_t end_ms) const;
  // One point per step bucket [start + k*step, start + (k+1)*step) that holds data, stamped at
  // the bucket's end (clamped to end_ms), aggregated with agg. Only points with
  // start_ms <= t <= end_ms count. avg is the arithmetic mean (a NaN sample makes it NaN),
  // min/max ignore NaN samples unless all are NaN, last is the newest sample. Errors as Range,
  // and InvalidArgument when step_ms <= 0.
  Result<std::vector<Point>> RangeStep(SeriesId id, int64_t start_ms, int64_t end_ms,
                                       int64_t step_ms, Aggregation agg) const;

  // Drops data older than now - retention (memory and database) and enforces the memory
  // budget (evicting the oldest sealed chunks; with a database only those already persisted).
  // Also persists chunks sealed by Append(). Call periodically (the agent calls it every tick;
  // it is cheap when idle: database rows are deleted at most once a minute).
  void EnforceRetention(int64_t now_ms);
  // Persists sealed chunks not yet written and the open head chunks (replacing the previous
  // checkpoint), so a crash loses at most the time since the last checkpoint. Ok without a
  // data_dir; IoError (also counted in persist_errors) when the database write fails.
  Status Checkpoint();
  // Persists everything (as Checkpoint(): head chunks are saved, not sealed, so a restart
  // continues them); call on clean shutdown.
  Status Flush();

  StoreStats Stats() const;
  // Number of series ever resolved (series are never removed); cheap, for cache invalidation.
  size_t SeriesCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::store
