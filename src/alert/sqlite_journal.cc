#include "alert/sqlite_journal.h"

#include <sqlite3.h>

namespace echomon::alert {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS alert_transitions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  labels TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  severity TEXT NOT NULL,
  value REAL,
  at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_transitions_at ON alert_transitions(at_ms);
CREATE TABLE IF NOT EXISTS alerts_active (
  fingerprint TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  rule TEXT NOT NULL,
  labels TEXT NOT NULL,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  value REAL,
  threshold REAL,
  summary TEXT NOT NULL,
  active_since_ms INTEGER NOT NULL,
  firing_since_ms INTEGER NOT NULL,
  last_true_ms INTEGER NOT NULL
);
)sql";

Status SqlError(sqlite3* db, const std::string& what) {
  return Status::IoError(what + ": " + sqlite3_errmsg(db));
}

// RAII prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  sqlite3_stmt* get() { return stmt_; }
  bool ok() const { return stmt_ != nullptr; }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  std::string ColText(int i) {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

AlertState StateFromName(const std::string& s) {
  if (s == "pending") return AlertState::kPending;
  if (s == "firing") return AlertState::kFiring;
  if (s == "resolved") return AlertState::kResolved;
  return AlertState::kInactive;
}

core::Labels LabelsFromString(const std::string& text) {
  std::vector<core::LabelMatcher> matchers;
  std::string error;
  core::Labels labels;
  if (core::ParseLabelMatchers(text, &matchers, &error)) {
    for (auto& m : matchers) labels.Set(std::move(m.name), std::move(m.value));
  }
  return labels;
}

}  // namespace

Result<std::unique_ptr<SqliteAlertJournal>> SqliteAlertJournal::Open(const std::string& path) {
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
    std::string message = "cannot initialise " + path + ": " + (err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::IoError(message);
  }
  return std::unique_ptr<SqliteAlertJournal>(new SqliteAlertJournal(db));
}

SqliteAlertJournal::~SqliteAlertJournal() { sqlite3_close(db_); }

Status SqliteAlertJournal::Commit(const std::vector<Transition>& transitions,
                                  const std::vector<AlertRecord>& changed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqlError(db_, "begin alert transaction");
  }
  auto rollback = [this](const std::string& what) {
    Status s = SqlError(db_, what);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  {
    Stmt ins(db_,
             "INSERT INTO alert_transitions (alert_id, fingerprint, rule, labels, from_state, "
             "to_state, severity, value, at_ms) VALUES (?,?,?,?,?,?,?,?,?)");
    if (!ins.ok()) return rollback("prepare transition insert");
    for (const auto& t : transitions) {
      sqlite3_reset(ins.get());
      ins.Text(1, t.alert_id);
      ins.Text(2, t.fingerprint);
      ins.Text(3, t.rule);
      ins.Text(4, t.labels.ToString());
      ins.Text(5, AlertStateName(t.from));
      ins.Text(6, AlertStateName(t.to));
      ins.Text(7, SeverityName(t.severity));
      ins.Real(8, t.value);
      ins.Int(9, t.at_ms);
      if (sqlite3_step(ins.get()) != SQLITE_DONE) return rollback("insert alert transition");
    }
  }
  {
    Stmt up(db_,
            "INSERT OR REPLACE INTO alerts_active (fingerprint, alert_id, rule, labels, state, "
            "severity, value, threshold, summary, active_since_ms, firing_since_ms, last_true_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    Stmt del(db_, "DELETE FROM alerts_active WHERE fingerprint = ?");
    if (!up.ok() || !del.ok()) return rollback("prepare active alert statements");
    for (const auto& a : changed) {
      if (a.state == AlertState::kPending || a.state == AlertState::kFiring) {
        sqlite3_reset(up.get());
        up.Text(1, a.fingerprint);
        up.Text(2, a.id);
        up.Text(3, a.rule);
        up.Text(4, a.labels.ToString());
        up.Text(5, AlertStateName(a.state));
        up.Text(6, SeverityName(a.severity));
        up.Real(7, a.value);
        up.Real(8, a.threshold);
        up.Text(9, a.summary);
        up.Int(10, a.active_since_ms);
        up.Int(11, a.firing_since_ms);
        up.Int(12, a.last_true_ms);
        if (sqlite3_step(up.get()) != SQLITE_DONE) return rollback("save active alert");
      } else {
        sqlite3_reset(del.get());
        del.Text(1, a.fingerprint);
        if (sqlite3_step(del.get()) != SQLITE_DONE) return rollback("remove ended alert");
      }
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return rollback("commit alert transaction");
  }
  return Status::Ok();
}

Result<std::vector<AlertRecord>> SqliteAlertJournal::LoadActive() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "SELECT fingerprint, alert_id, rule, labels, state, severity, value, threshold, summary, "
         "active_since_ms, firing_since_ms, last_true_ms FROM alerts_active ORDER BY alert_id");
  if (!q.ok()) return SqlError(db_, "load active alerts");
  std::vector<AlertRecord> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    AlertRecord a;
    a.fingerprint = q.ColText(0);
    a.id = q.ColText(1);
    a.rule = q.ColText(2);
    a.labels = LabelsFromString(q.ColText(3));
    a.state = StateFromName(q.ColText(4));
    ParseSeverity(q.ColText(5), &a.severity);
    a.value = sqlite3_column_double(q.get(), 6);
    a.threshold = sqlite3_column_double(q.get(), 7);
    a.summary = q.ColText(8);
    a.active_since_ms = sqlite3_column_int64(q.get(), 9);
    a.firing_since_ms = sqlite3_column_int64(q.get(), 10);
    a.last_true_ms = sqlite3_column_int64(q.get(), 11);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "load active alerts");
  return out;
}

Result<std::vector<Transition>> SqliteAlertJournal::History(int64_t since_ms, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "SELECT alert_id, fingerprint, rule, labels, from_state, to_state, severity, value, at_ms "
         "FROM alert_transitions WHERE at_ms >= ? ORDER BY seq LIMIT ?");
  if (!q.ok()) return SqlError(db_, "read alert history");
  q.Int(1, since_ms);
  q.Int(2, static_cast<int64_t>(limit));
  std::vector<Transition> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    Transition t;
    t.alert_id = q.ColText(0);
    t.fingerprint = q.ColText(1);
    t.rule = q.ColText(2);
    t.labels = LabelsFromString(q.ColText(3));
    t.from = StateFromName(q.ColText(4));
    t.to = StateFromName(q.ColText(5));
    ParseSeverity(q.ColText(6), &t.severity);
    t.value = sqlite3_column_double(q.get(), 7);
    t.at_ms = sqlite3_column_int64(q.get(), 8);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read alert history");
  return out;
}

}  // namespace echomon::alert
