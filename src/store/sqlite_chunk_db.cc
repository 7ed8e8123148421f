#include "store/sqlite_chunk_db.h"

#include <sqlite3.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace echomon::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS series (
  id     INTEGER PRIMARY KEY,
  key    TEXT NOT NULL UNIQUE,
  name   TEXT NOT NULL,
  labels TEXT NOT NULL,
  type   TEXT NOT NULL,
  help   TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS chunks (
  series_id INTEGER NOT NULL REFERENCES series(id),
  min_t     INTEGER NOT NULL,
  max_t     INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  data      BLOB NOT NULL,
  PRIMARY KEY (series_id, min_t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_max_t ON chunks(max_t);
CREATE TABLE IF NOT EXISTS head_chunks (
  series_id INTEGER PRIMARY KEY REFERENCES series(id),
  min_t     INTEGER NOT NULL,
  max_t     INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  data      BLOB NOT NULL
);
)sql";

// Resets a statement when leaving scope, so an early return leaves it reusable.
class StmtReset {
 public:
  explicit StmtReset(sqlite3_stmt* s) : s_(s) {}
  ~StmtReset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite3_stmt* s_;
};

std::string LabelsToJson(const core::Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& l : labels.items()) j[l.name] = l.value;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool LabelsFromJson(const std::string& text, core::Labels* out) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return false;
    out->Set(k, v.get<std::string>());
  }
  return true;
}

std::string ColumnText(sqlite3_stmt* s, int col) {
  const unsigned char* p = sqlite3_column_text(s, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s, col)))
           : std::string();
}

void ReadChunkRow(sqlite3_stmt* s, SqliteChunkDb::ChunkRow* row) {
  row->series = static_cast<uint32_t>(sqlite3_column_int64(s, 0));
  row->min_t = sqlite3_column_int64(s, 1);
  row->max_t = sqlite3_column_int64(s, 2);
  row->count = static_cast<uint32_t>(sqlite3_column_int64(s, 3));
  const auto* blob = static_cast<const uint8_t*>(sqlite3_column_blob(s, 4));
  const int n = sqlite3_column_bytes(s, 4);
  row->data.assign(blob, blob + (blob ? n : 0));
}

}  // namespace

Result<std::unique_ptr<SqliteChunkDb>> SqliteChunkDb::Open(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Status::IoError("cannot create data directory '" + data_dir + "': " + ec.message());
  }
  std::unique_ptr<SqliteChunkDb> db(new SqliteChunkDb());
  db->path_ = data_dir + "/echomon.db";
  int rc =
      sqlite3_open_v2(db->path_.c_str(), &db->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return db->Error("cannot open database");
  sqlite3_busy_timeout(db->db_, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"}) {
    if (Status st = db->Exec(sql); !st.ok()) return st;
  }
  if (Status st = db->Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  if (Status st = db->Exec(kSchema); !st.ok()) {
    db->Exec("ROLLBACK");
    return st;
  }
  sqlite3_stmt* version = nullptr;
  if (Status st = db->Prepare("SELECT version FROM schema_version", &version); !st.ok()) {
    db->Exec("ROLLBACK");
    return st;
  }
  rc = sqlite3_step(version);
  const bool has_version = rc == SQLITE_ROW;
  const int64_t found = has_version ? sqlite3_column_int64(version, 0) : 0;
  sqlite3_finalize(version);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    Status st = db->Error("cannot read schema version");
    db->Exec("ROLLBACK");
    return st;
  }
  if (has_version && found != kSchemaVersion) {
    db->Exec("ROLLBACK");
    return Status::IoError("database '" + db->path_ + "' has schema version " +
                           std::to_string(found) + ", this build supports " +
                           std::to_string(kSchemaVersion));
  }
  if (!has_version) {
    const std::string sql =
        "INSERT INTO schema_version(version) VALUES(" + std::to_string(kSchemaVersion) + ")";
    if (Status st = db->Exec(sql.c_str()); !st.ok()) {
      db->Exec("ROLLBACK");
      return st;
    }
  }
  if (Status st = db->Exec("COMMIT"); !st.ok()) return st;

  struct {
    const char* sql;
    sqlite3_stmt** stmt;
  } const statements[] = {
      {"INSERT OR REPLACE INTO series(id, key, name, labels, type, help) VALUES(?,?,?,?,?,?)",
       &db->insert_series_},
      {"INSERT OR REPLACE INTO chunks(series_id, min_t, max_t, count, data) VALUES(?,?,?,?,?)",
       &db->insert_chunk_},
      {"INSERT OR REPLACE INTO head_chunks(series_id, min_t, max_t, count, data) "
       "VALUES(?,?,?,?,?)",
       &db->insert_head_},
      {"SELECT series_id, min_t, max_t, count, data FROM chunks WHERE series_id = ? AND "
       "max_t >= ? AND min_t <= ? AND max_t <= ? ORDER BY min_t",
       &db->read_chunks_},
  };
  for (const auto& s : statements) {
    if (Status st = db->Prepare(s.sql, s.stmt); !st.ok()) return st;
  }
  return db;
}

SqliteChunkDb::~SqliteChunkDb() {
  for (sqlite3_stmt* s : {insert_series_, insert_chunk_, insert_head_, read_chunks_}) {
    sqlite3_finalize(s);
  }
  sqlite3_close(db_);
}

Status SqliteChunkDb::Error(const char* what) const {
  return Status::IoError(std::string(what) + " '" + path_ +
                         "': " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

Status SqliteChunkDb::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::IoError("database '" + path_ + "': " + msg);
  }
  return Status::Ok();
}

Status SqliteChunkDb::Prepare(const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
    return Error("cannot prepare statement on database");
  }
  return Status::Ok();
}

Status SqliteChunkDb::Write(std::span<const SeriesRow> series, std::span<const ChunkView> chunks,
                            const std::vector<ChunkView>* heads) {
  std::lock_guard lock(mu_);
  if (Status st = Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  Status st = WriteLocked(series, chunks, heads);
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) Exec("ROLLBACK");
  return st;
}

Status SqliteChunkDb::WriteLocked(std::span<const SeriesRow> series,
                                  std::span<const ChunkView> chunks,
                                  const std::vector<ChunkView>* heads) {
  for (const SeriesRow& row : series) {
    StmtReset reset(insert_series_);
    const std::string labels = LabelsToJson(row.labels);
    sqlite3_bind_int64(insert_series_, 1, row.id);
    sqlite3_bind_text(insert_series_, 2, row.key.data(), static_cast<int>(row.key.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_series_, 3, row.name.data(), static_cast<int>(row.name.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_series_, 4, labels.data(), static_cast<int>(labels.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_series_, 5, core::MetricTypeName(row.type), -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_series_, 6, row.help.data(), static_cast<int>(row.help.size()),
                      SQLITE_STATIC);
    if (sqlite3_step(insert_series_) != SQLITE_DONE) return Error("cannot write series to");
  }
  auto write_chunk = [this](sqlite3_stmt* stmt, const ChunkView& c) {
    StmtReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, c.series);
    sqlite3_bind_int64(stmt, 2, c.min_t);
    sqlite3_bind_int64(stmt, 3, c.max_t);
    sqlite3_bind_int64(stmt, 4, c.count);
    sqlite3_bind_blob(stmt, 5, c.data.data(), static_cast<int>(c.data.size()), SQLITE_STATIC);
    return sqlite3_step(stmt) == SQLITE_DONE ? Status::Ok() : Error("cannot write chunk to");
  };
  for (const ChunkView& c : chunks) {
    if (Status st = write_chunk(insert_chunk_, c); !st.ok()) return st;
  }
  if (heads != nullptr) {
    if (Status st = Exec("DELETE FROM head_chunks"); !st.ok()) return st;
    for (const ChunkView& c : *heads) {
      if (Status st = write_chunk(insert_head_, c); !st.ok()) return st;
    }
  }
  return Status::Ok();
}

Status SqliteChunkDb::LoadAll(int64_t min_max_t, std::vector<SeriesRow>* series,
                              std::vector<ChunkRow>* chunks, std::vector<ChunkRow>* heads) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = nullptr;
  if (Status st = Prepare("SELECT id, key, name, labels, type, help FROM series ORDER BY id", &s);
      !st.ok()) {
    return st;
  }
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    SeriesRow row;
    row.id = static_cast<uint32_t>(sqlite3_column_int64(s, 0));
    row.key = ColumnText(s, 1);
    row.name = ColumnText(s, 2);
    if (!LabelsFromJson(ColumnText(s, 3), &row.labels)) {
      sqlite3_finalize(s);
      return Status::IoError("database '" + path_ + "': malformed labels of series " +
                             std::to_string(row.id));
    }
    row.type = core::MetricTypeFromName(ColumnText(s, 4));
    row.help = ColumnText(s, 5);
    series->push_back(std::move(row));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return Error("cannot read series from");

  for (auto [table, out] : {std::pair{"chunks", chunks}, std::pair{"head_chunks", heads}}) {
    const std::string sql = std::string("SELECT series_id, min_t, max_t, count, data FROM ") +
                            table + " WHERE max_t >= ? ORDER BY series_id, min_t";
    if (Status st = Prepare(sql.c_str(), &s); !st.ok()) return st;
    sqlite3_bind_int64(s, 1, min_max_t);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out->emplace_back();
      ReadChunkRow(s, &out->back());
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return Error("cannot read chunks from");
  }
  return Status::Ok();
}

Status SqliteChunkDb::ReadChunks(uint32_t series, int64_t start_ms, int64_t end_ms,
                                 int64_t through_ms, std::vector<ChunkRow>* out) {
  std::lock_guard lock(mu_);
  StmtReset reset(read_chunks_);
  sqlite3_bind_int64(read_chunks_, 1, series);
  sqlite3_bind_int64(read_chunks_, 2, start_ms);
  sqlite3_bind_int64(read_chunks_, 3, end_ms);
  sqlite3_bind_int64(read_chunks_, 4, through_ms);
  int rc;
  while ((rc = sqlite3_step(read_chunks_)) == SQLITE_ROW) {
    out->emplace_back();
    ReadChunkRow(read_chunks_, &out->back());
  }
  return rc == SQLITE_DONE ? Status::Ok() : Error("cannot read chunks from");
}

Status SqliteChunkDb::DeleteBefore(int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  const std::string c = std::to_string(cutoff_ms);
  const std::string sql = "BEGIN IMMEDIATE; DELETE FROM chunks WHERE max_t < " + c +
                          "; DELETE FROM head_chunks WHERE max_t < " + c + "; COMMIT;";
  Status st = Exec(sql.c_str());
  if (!st.ok()) Exec("ROLLBACK");
  return st;
}

}  // namespace echomon::store
