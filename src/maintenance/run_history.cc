#include "maintenance/run_history.h"

#include <sqlite3.h>

namespace echomon::maintenance {
namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS maintenance_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task TEXT NOT NULL,
  trigger TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  timed_out INTEGER NOT NULL DEFAULT 0,
  summary TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  results TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS maintenance_runs_task ON maintenance_runs(task, id);
CREATE TABLE IF NOT EXISTS maintenance_tasks (
  name TEXT PRIMARY KEY,
  next_run_ms INTEGER NOT NULL DEFAULT 0,
  last_run_ms INTEGER NOT NULL DEFAULT 0,
  last_success_ms INTEGER NOT NULL DEFAULT 0,
  last_duration_ms INTEGER NOT NULL DEFAULT 0,
  last_ok INTEGER NOT NULL DEFAULT 0,
  last_summary TEXT NOT NULL DEFAULT '',
  runs INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0
);
)";

Status SqlError(sqlite3* db, const std::string& what) {
  return Status::IoError(what + ": " + sqlite3_errmsg(db));
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  std::string ColText(int i) {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

nlohmann::json RunRecord::ToJson() const {
  return {{"id", id},
          {"task", task},
          {"trigger", trigger},
          {"started", static_cast<double>(started_ms) / 1000.0},
          {"finished", static_cast<double>(finished_ms) / 1000.0},
          {"duration_ms", finished_ms - started_ms},
          {"ok", ok},
          {"timed_out", timed_out},
          {"summary", summary},
          {"error", error},
          {"results", results}};
}

Result<std::unique_ptr<RunHistory>> RunHistory::Open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<RunHistory>(new RunHistory(nullptr));
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message =
        "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::IoError(message);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") + kSchema;
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message =
        "cannot initialise maintenance tables in " + path + ": " + (err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::IoError(message);
  }
  return std::unique_ptr<RunHistory>(new RunHistory(db));
}

RunHistory::~RunHistory() {
  if (db_) sqlite3_close(db_);
}

Result<std::map<std::string, TaskState>> RunHistory::LoadStates() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, TaskState> out;
  if (!db_) return out;
  Stmt s(db_,
         "SELECT name, next_run_ms, last_run_ms, last_success_ms, last_duration_ms, last_ok, "
         "last_summary, runs, failures FROM maintenance_tasks");
  if (!s.ok()) return SqlError(db_, "read maintenance_tasks");
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    TaskState t;
    t.next_run_ms = s.ColInt(1);
    t.last_run_ms = s.ColInt(2);
    t.last_success_ms = s.ColInt(3);
    t.last_duration_ms = s.ColInt(4);
    t.last_ok = s.ColInt(5) != 0;
    t.last_summary = s.ColText(6);
    t.runs = s.ColInt(7);
    t.failures = s.ColInt(8);
    out[s.ColText(0)] = t;
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read maintenance_tasks");
  return out;
}

Status RunHistory::SaveStateLocked(const std::string& task, const TaskState& t) {
  Stmt s(db_,
         "INSERT INTO maintenance_tasks (name, next_run_ms, last_run_ms, last_success_ms, "
         "last_duration_ms, last_ok, last_summary, runs, failures) VALUES (?,?,?,?,?,?,?,?,?) "
         "ON CONFLICT(name) DO UPDATE SET next_run_ms=excluded.next_run_ms, "
         "last_run_ms=excluded.last_run_ms, last_success_ms=excluded.last_success_ms, "
         "last_duration_ms=excluded.last_duration_ms, last_ok=excluded.last_ok, "
         "last_summary=excluded.last_summary, runs=excluded.runs, failures=excluded.failures");
  if (!s.ok()) return SqlError(db_, "save maintenance task state");
  s.Text(1, task);
  s.Int(2, t.next_run_ms);
  s.Int(3, t.last_run_ms);
  s.Int(4, t.last_success_ms);
  s.Int(5, t.last_duration_ms);
  s.Int(6, t.last_ok ? 1 : 0);
  s.Text(7, t.last_summary);
  s.Int(8, t.runs);
  s.Int(9, t.failures);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db_, "save maintenance task state");
  return Status::Ok();
}

Status RunHistory::SaveState(const std::string& task, const TaskState& state) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!db_) return Status::Ok();
  return SaveStateLocked(task, state);
}

Status RunHistory::Record(RunRecord* run, const TaskState& state, int keep_per_task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!db_) {
    static int64_t next_id = 0;
    run->id = ++next_id;
    return Status::Ok();
  }
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqlError(db_, "begin maintenance transaction");
  }
  auto rollback = [&](Status s) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  {
    Stmt s(db_,
           "INSERT INTO maintenance_runs (task, trigger, started_ms, finished_ms, ok, timed_out, "
           "summary, error, results) VALUES (?,?,?,?,?,?,?,?,?)");
    if (!s.ok()) return rollback(SqlError(db_, "record maintenance run"));
    s.Text(1, run->task);
    s.Text(2, run->trigger);
    s.Int(3, run->started_ms);
    s.Int(4, run->finished_ms);
    s.Int(5, run->ok ? 1 : 0);
    s.Int(6, run->timed_out ? 1 : 0);
    s.Text(7, run->summary);
    s.Text(8, run->error);
    s.Text(9, run->results.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (sqlite3_step(s.get()) != SQLITE_DONE) {
      return rollback(SqlError(db_, "record maintenance run"));
    }
    run->id = sqlite3_last_insert_rowid(db_);
  }
  Status st = SaveStateLocked(run->task, state);
  if (!st.ok()) return rollback(st);
  {
    Stmt s(db_,
           "DELETE FROM maintenance_runs WHERE task = ? AND id <= (SELECT id FROM "
           "maintenance_runs WHERE task = ? ORDER BY id DESC LIMIT 1 OFFSET ?)");
    if (s.ok()) {
      s.Text(1, run->task);
      s.Text(2, run->task);
      s.Int(3, keep_per_task);
      sqlite3_step(s.get());
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return rollback(SqlError(db_, "commit maintenance run"));
  }
  return Status::Ok();
}

Result<std::vector<RunRecord>> RunHistory::Recent(const std::string& task, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RunRecord> out;
  if (!db_) return out;
  Stmt s(db_, task.empty()
                  ? "SELECT id, task, trigger, started_ms, finished_ms, ok, timed_out, summary, "
                    "error, results FROM maintenance_runs ORDER BY id DESC LIMIT ?"
                  : "SELECT id, task, trigger, started_ms, finished_ms, ok, timed_out, summary, "
                    "error, results FROM maintenance_runs WHERE task = ? ORDER BY id DESC LIMIT ?");
  if (!s.ok()) return SqlError(db_, "read maintenance_runs");
  if (task.empty()) {
    s.Int(1, static_cast<int64_t>(limit));
  } else {
    s.Text(1, task);
    s.Int(2, static_cast<int64_t>(limit));
  }
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    RunRecord r;
    r.id = s.ColInt(0);
    r.task = s.ColText(1);
    r.trigger = s.ColText(2);
    r.started_ms = s.ColInt(3);
    r.finished_ms = s.ColInt(4);
    r.ok = s.ColInt(5) != 0;
    r.timed_out = s.ColInt(6) != 0;
    r.summary = s.ColText(7);
    r.error = s.ColText(8);
    r.results = nlohmann::json::parse(s.ColText(9), nullptr, false);
    if (r.results.is_discarded()) r.results = nlohmann::json::array();
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read maintenance_runs");
  return out;
}

}  // namespace echomon::maintenance
