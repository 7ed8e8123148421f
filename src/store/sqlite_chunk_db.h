// SqliteChunkDb: the durable side of the series store, one SQLite database
// (<data_dir>/echomon.db, WAL mode) holding series identities, sealed chunks and the latest
// checkpoint of every open head chunk. The schema is documented in docs/storage.md.
//
// Thread-safety: every method may be called from any thread; calls are serialised internally.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/metric.h"
#include "echomon/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace echomon::store {

class SqliteChunkDb {
 public:
  static constexpr int kSchemaVersion = 1;

  struct SeriesRow {
    uint32_t id = 0;
    std::string key;  // core::SeriesKey(name, labels)
    std::string name;
    core::Labels labels;
    core::MetricType type = core::MetricType::kGauge;
    std::string help;
  };
  // A chunk to write; data must stay valid during the call.
  struct ChunkView {
    uint32_t series = 0;
    int64_t min_t = 0;
    int64_t max_t = 0;
    uint32_t count = 0;
    std::span<const uint8_t> data;
  };
  struct ChunkRow {
    uint32_t series = 0;
    int64_t min_t = 0;
    int64_t max_t = 0;
    uint32_t count = 0;
    std::vector<uint8_t> data;
  };

  // Creates data_dir if needed and opens (or creates) data_dir/echomon.db with the current
  // schema. Fails with IoError naming the path when the directory cannot be created, the file
  // cannot be opened or is not a database, or the schema version is unknown.
  static Result<std::unique_ptr<SqliteChunkDb>> Open(const std::string& data_dir);
  ~SqliteChunkDb();
  SqliteChunkDb(const SqliteChunkDb&) = delete;
  SqliteChunkDb& operator=(const SqliteChunkDb&) = delete;

  const std::string& path() const { return path_; }

  // In one transaction: inserts the series rows, inserts (or replaces) the chunks, and when
  // heads is non-null replaces every head checkpoint with *heads. On failure nothing is written.
  Status Write(std::span<const SeriesRow> series, std::span<const ChunkView> chunks,
               const std::vector<ChunkView>* heads);

  // Every series row; chunks and head checkpoints with max_t >= min_max_t, ordered by series
  // then min_t.
  Status LoadAll(int64_t min_max_t, std::vector<SeriesRow>* series, std::vector<ChunkRow>* chunks,
                 std::vector<ChunkRow>* heads);

  // Chunks of one series overlapping [start_ms, end_ms] whose max_t <= through_ms, oldest first.
  Status ReadChunks(uint32_t series, int64_t start_ms, int64_t end_ms, int64_t through_ms,
                    std::vector<ChunkRow>* out);

  // Deletes chunks and head checkpoints whose newest sample is older than cutoff_ms.
  Status DeleteBefore(int64_t cutoff_ms);

 private:
  SqliteChunkDb() = default;
  Status Exec(const char* sql);
  Status Prepare(const char* sql, sqlite3_stmt** stmt);
  Status Error(const char* what) const;
  Status WriteLocked(std::span<const SeriesRow> series, std::span<const ChunkView> chunks,
                     const std::vector<ChunkView>* heads);

  std::mutex mu_;
  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_series_ = nullptr;
  sqlite3_stmt* insert_chunk_ = nullptr;
  sqlite3_stmt* insert_head_ = nullptr;
  sqlite3_stmt* read_chunks_ = nullptr;
};

}  // namespace echomon::store
