#include "respond/incidents/incident_store.h"

#include <sqlite3.h>

namespace echomon::respond {
namespace {

using nlohmann::json;

constexpr auto kReplace = json::error_handler_t::replace;

// s as valid UTF-8: invalid bytes (e.g. process output cut in the middle of a character) become
// U+FFFD, so every stored text can be served as JSON.
std::string ValidUtf8(const std::string& s) {
  return json::parse(json(s).dump(-1, ' ', false, kReplace)).get<std::string>();
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS incidents (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  alertname TEXT NOT NULL,
  severity TEXT NOT NULL,
  priority TEXT NOT NULL,
  playbook TEXT NOT NULL,
  labels TEXT NOT NULL,
  value REAL,
  summary TEXT NOT NULL,
  state TEXT NOT NULL,
  dry_run INTEGER NOT NULL,
  step INTEGER NOT NULL,
  opened_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  closed_ms INTEGER NOT NULL,
  acked_ms INTEGER NOT NULL,
  acked_by TEXT NOT NULL,
  verify_deadline_ms INTEGER NOT NULL,
  escalated_ms INTEGER NOT NULL,
  escalation_level INTEGER NOT NULL,
  escalation_round INTEGER NOT NULL,
  next_escalation_ms INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_state ON incidents(state);
CREATE INDEX IF NOT EXISTS incidents_playbook ON incidents(playbook, opened_ms);
CREATE TABLE IF NOT EXISTS incident_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step INTEGER NOT NULL,
  message TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events(incident_id, seq);
CREATE TABLE IF NOT EXISTS incident_actions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id TEXT NOT NULL,
  step INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  ok INTEGER NOT NULL,
  dry_run INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  result TEXT NOT NULL,
  UNIQUE(incident_id, step, idx)
);
CREATE INDEX IF NOT EXISTS incident_actions_state ON incident_actions(state);
)sql";

constexpr const char* kIncidentColumns =
    "id, fingerprint, alert_id, alertname, severity, priority, playbook, labels, value, summary, "
    "state, dry_run, step, opened_ms, updated_ms, closed_ms, acked_ms, acked_by, "
    "verify_deadline_ms, escalated_ms, escalation_level, escalation_round, next_escalation_ms, "
    "reason";

constexpr const char* kActionColumns =
    "id, incident_id, step, idx, type, name, state, ok, dry_run, started_ms, finished_ms, result";

Status SqlError(sqlite3* db, const std::string& what) {
  return Status::IoError("incident database: " + what + ": " + sqlite3_errmsg(db));
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return s_ != nullptr; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(s_, i, v); }
  int Step() { return sqlite3_step(s_); }
  std::string ColText(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }
  double ColReal(int i) { return sqlite3_column_double(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool ok() const { return ok_; }
  bool Commit() {
    done_ = true;
    return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
};

Incident ReadIncident(Stmt& s) {
  Incident i;
  i.id = s.ColText(0);
  i.fingerprint = s.ColText(1);
  i.alert_id = s.ColText(2);
  i.alertname = s.ColText(3);
  i.severity = s.ColText(4);
  i.priority = s.ColText(5);
  i.playbook = s.ColText(6);
  json labels = json::parse(s.ColText(7), nullptr, false);
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) i.labels[k] = v.get<std::string>();
    }
  }
  i.value = s.ColReal(8);
  i.summary = s.ColText(9);
  ParseIncidentState(s.ColText(10), &i.state);
  i.dry_run = s.ColInt(11) != 0;
  i.step = static_cast<int>(s.ColInt(12));
  i.opened_ms = s.ColInt(13);
  i.updated_ms = s.ColInt(14);
  i.closed_ms = s.ColInt(15);
  i.acked_ms = s.ColInt(16);
  i.acked_by = s.ColText(17);
  i.verify_deadline_ms = s.ColInt(18);
  i.escalated_ms = s.ColInt(19);
  i.escalation_level = static_cast<int>(s.ColInt(20));
  i.escalation_round = static_cast<int>(s.ColInt(21));
  i.next_escalation_ms = s.ColInt(22);
  i.reason = s.ColText(23);
  return i;
}

ActionRecord ReadAction(Stmt& s) {
  ActionRecord a;
  a.id = s.ColInt(0);
  a.incident_id = s.ColText(1);
  a.step = static_cast<int>(s.ColInt(2));
  a.index = static_cast<int>(s.ColInt(3));
  a.type = s.ColText(4);
  a.name = s.ColText(5);
  a.state = s.ColText(6);
  a.ok = s.ColInt(7) != 0;
  a.dry_run = s.ColInt(8) != 0;
  a.started_ms = s.ColInt(9);
  a.finished_ms = s.ColInt(10);
  a.result = json::parse(s.ColText(11), nullptr, false);
  if (a.result.is_discarded()) a.result = nullptr;
  return a;
}

}  // namespace

const char* IncidentStateName(IncidentState s) {
  switch (s) {
    case IncidentState::kOpen:
      return "open";
    case IncidentState::kActing:
      return "acting";
    case IncidentState::kVerifying:
      return "verifying";
    case IncidentState::kEscalated:
      return "escalated";
    case IncidentState::kResolved:
      return "resolved";
    case IncidentState::kFailed:
      return "failed";
  }
  return "open";
}

bool ParseIncidentState(const std::string& text, IncidentState* out) {
  for (auto s : {IncidentState::kOpen, IncidentState::kActing, IncidentState::kVerifying,
                 IncidentState::kEscalated, IncidentState::kResolved, IncidentState::kFailed}) {
    if (text == IncidentStateName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

Result<std::unique_ptr<IncidentStore>> IncidentStore::Open(const std::string& path) {
  const std::string p = path.empty() ? ":memory:" : path;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message = "cannot open " + p + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::IoError(message);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") + kSchema;
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = "cannot initialise " + p + ": " + (err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::IoError(message);
  }
  return std::unique_ptr<IncidentStore>(new IncidentStore(db));
}

IncidentStore::~IncidentStore() { sqlite3_close(db_); }

Status IncidentStore::AddEventLocked(const IncidentEvent& e) {
  Stmt s(db_,
         "INSERT INTO incident_events (incident_id, at_ms, kind, step, message, detail) VALUES "
         "(?,?,?,?,?,?)");
  if (!s.ok()) return SqlError(db_, "prepare event");
  s.Text(1, e.incident_id);
  s.Int(2, e.at_ms);
  s.Text(3, e.kind);
  s.Int(4, e.step);
  s.Text(5, ValidUtf8(e.message));
  s.Text(6, e.detail.is_null() ? std::string("{}") : e.detail.dump(-1, ' ', false, kReplace));
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert event");
  return Status::Ok();
}

Status IncidentStore::Commit(const Incident& i, const std::vector<IncidentEvent>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "begin");
  Stmt s(db_, std::string("INSERT OR REPLACE INTO incidents (") + kIncidentColumns +
                  ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!s.ok()) return SqlError(db_, "prepare incident");
  json labels = json::object();
  for (const auto& [k, v] : i.labels) labels[k] = v;
  s.Text(1, i.id);
  s.Text(2, i.fingerprint);
  s.Text(3, i.alert_id);
  s.Text(4, i.alertname);
  s.Text(5, i.severity);
  s.Text(6, i.priority);
  s.Text(7, i.playbook);
  s.Text(8, labels.dump(-1, ' ', false, kReplace));
  s.Real(9, i.value);
  s.Text(10, ValidUtf8(i.summary));
  s.Text(11, IncidentStateName(i.state));
  s.Int(12, i.dry_run ? 1 : 0);
  s.Int(13, i.step);
  s.Int(14, i.opened_ms);
  s.Int(15, i.updated_ms);
  s.Int(16, i.closed_ms);
  s.Int(17, i.acked_ms);
  s.Text(18, ValidUtf8(i.acked_by));
  s.Int(19, i.verify_deadline_ms);
  s.Int(20, i.escalated_ms);
  s.Int(21, i.escalation_level);
  s.Int(22, i.escalation_round);
  s.Int(23, i.next_escalation_ms);
  s.Text(24, ValidUtf8(i.reason));
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "write incident " + i.id);
  for (const auto& e : events) {
    if (Status st = AddEventLocked(e); !st.ok()) return st;
  }
  if (!tx.Commit()) return SqlError(db_, "commit incident " + i.id);
  return Status::Ok();
}

Result<int64_t> IncidentStore::ActionStarted(const Incident& i, int index, const ActionSpec& spec,
                                             bool dry_run, int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "begin");
  Stmt s(db_,
         "INSERT INTO incident_actions (incident_id, step, idx, type, name, state, ok, dry_run, "
         "started_ms, finished_ms, result) VALUES (?,?,?,?,?,'started',0,?,?,0,'null')");
  if (!s.ok()) return SqlError(db_, "prepare action");
  s.Text(1, i.id);
  s.Int(2, i.step);
  s.Int(3, index);
  s.Text(4, spec.type);
  s.Text(5, spec.name.empty() ? spec.type : spec.name);
  s.Int(6, dry_run ? 1 : 0);
  s.Int(7, at_ms);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "record action start");
  const int64_t row = sqlite3_last_insert_rowid(db_);
  IncidentEvent e;
  e.incident_id = i.id;
  e.at_ms = at_ms;
  e.kind = "action_started";
  e.step = i.step;
  e.message = (dry_run ? "planning " : "running ") + (spec.name.empty() ? spec.type : spec.name);
  e.detail = {{"action", row}, {"type", spec.type}, {"index", index}, {"params", spec.params}};
  if (Status st = AddEventLocked(e); !st.ok()) return st;
  if (!tx.Commit()) return SqlError(db_, "commit action start");
  return row;
}

Status IncidentStore::ActionFinished(int64_t row, const std::string& incident_id, int step,
                                     const ActionResult& r, int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "begin");
  Stmt s(db_,
         "UPDATE incident_actions SET state='finished', ok=?, finished_ms=?, result=? WHERE id=?");
  if (!s.ok()) return SqlError(db_, "prepare action result");
  s.Int(1, r.ok ? 1 : 0);
  s.Int(2, at_ms);
  s.Text(3, r.ToJson().dump(-1, ' ', false, kReplace));
  s.Int(4, row);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "record action result");
  IncidentEvent e;
  e.incident_id = incident_id;
  e.at_ms = at_ms;
  e.kind = "action_finished";
  e.step = step;
  e.message = (r.name.empty() ? r.type : r.name) + (r.ok ? ": " : " failed: ") +
              (r.ok ? r.summary : (r.error.empty() ? r.summary : r.error));
  e.detail = {{"action", row}, {"ok", r.ok}, {"dry_run", r.dry_run}};
  if (Status st = AddEventLocked(e); !st.ok()) return st;
  if (!tx.Commit()) return SqlError(db_, "commit action result");
  return Status::Ok();
}

Result<std::vector<ActionRecord>> IncidentStore::MarkUnfinishedInterrupted(int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return SqlError(db_, "begin");
  std::vector<ActionRecord> out;
  {
    Stmt s(db_, std::string("SELECT ") + kActionColumns +
                    " FROM incident_actions WHERE state='started' ORDER BY id");
    if (!s.ok()) return SqlError(db_, "prepare unfinished actions");
    while (s.Step() == SQLITE_ROW) out.push_back(ReadAction(s));
  }
  for (auto& a : out) {
    ActionResult r;
    r.type = a.type;
    r.name = a.name;
    r.ok = false;
    r.dry_run = a.dry_run;
    r.started_ms = a.started_ms;
    r.error = "interrupted: the agent stopped while this action ran; it is not run again";
    r.summary = "interrupted";
    a.state = "interrupted";
    a.finished_ms = at_ms;
    a.result = r.ToJson();
    Stmt u(db_,
           "UPDATE incident_actions SET state='interrupted', ok=0, finished_ms=?, result=? "
           "WHERE id=?");
    u.Int(1, at_ms);
    u.Text(2, a.result.dump(-1, ' ', false, kReplace));
    u.Int(3, a.id);
    if (u.Step() != SQLITE_DONE) return SqlError(db_, "mark action interrupted");
    IncidentEvent e;
    e.incident_id = a.incident_id;
    e.at_ms = at_ms;
    e.kind = "action_interrupted";
    e.step = a.step;
    e.message = a.name + " was interrupted by an agent stop; not run again";
    e.detail = {{"action", a.id}};
    if (Status st = AddEventLocked(e); !st.ok()) return st;
  }
  if (!tx.Commit()) return SqlError(db_, "commit interrupted actions");
  return out;
}

namespace {
Result<std::vector<Incident>> QueryIncidents(sqlite3* db, const std::string& where,
                                             const std::vector<std::string>& args, size_t limit,
                                             bool newest_first) {
  std::string sql = std::string("SELECT ") + kIncidentColumns + " FROM incidents " + where +
                    (newest_first ? " ORDER BY id DESC" : " ORDER BY id") +
                    (limit ? " LIMIT " + std::to_string(limit) : std::string());
  Stmt s(db, sql);
  if (!s.ok()) return SqlError(db, "prepare incidents query");
  for (size_t i = 0; i < args.size(); ++i) s.Text(static_cast<int>(i + 1), args[i]);
  std::vector<Incident> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadIncident(s));
  if (rc != SQLITE_DONE) return SqlError(db, "read incidents");
  return out;
}
}  // namespace

Result<std::vector<Incident>> IncidentStore::LoadActive() {
  std::lock_guard<std::mutex> lock(mu_);
  return QueryIncidents(db_, "WHERE state NOT IN ('resolved','failed')", {}, 0, false);
}

Result<std::vector<Incident>> IncidentStore::List(const std::string& state, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state.empty()) return QueryIncidents(db_, "", {}, limit, true);
  if (state == "active") {
    return QueryIncidents(db_, "WHERE state NOT IN ('resolved','failed')", {}, limit, true);
  }
  if (state == "closed") {
    return QueryIncidents(db_, "WHERE state IN ('resolved','failed')", {}, limit, true);
  }
  return QueryIncidents(db_, "WHERE state = ?", {state}, limit, true);
}

Result<std::optional<Incident>> IncidentStore::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = QueryIncidents(db_, "WHERE id = ?", {id}, 1, false);
  if (!r.ok()) return r.status();
  if (r->empty()) return std::optional<Incident>();
  return std::optional<Incident>(r->front());
}

Result<std::vector<IncidentEvent>> IncidentStore::Events(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT seq, incident_id, at_ms, kind, step, message, detail FROM incident_events "
         "WHERE incident_id = ? ORDER BY seq");
  if (!s.ok()) return SqlError(db_, "prepare events");
  s.Text(1, id);
  std::vector<IncidentEvent> out;
  while (s.Step() == SQLITE_ROW) {
    IncidentEvent e;
    e.seq = s.ColInt(0);
    e.incident_id = s.ColText(1);
    e.at_ms = s.ColInt(2);
    e.kind = s.ColText(3);
    e.step = static_cast<int>(s.ColInt(4));
    e.message = s.ColText(5);
    e.detail = json::parse(s.ColText(6), nullptr, false);
    if (e.detail.is_discarded()) e.detail = json::object();
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<ActionRecord>> IncidentStore::Actions(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, std::string("SELECT ") + kActionColumns +
                  " FROM incident_actions WHERE incident_id = ? ORDER BY id");
  if (!s.ok()) return SqlError(db_, "prepare actions");
  s.Text(1, id);
  std::vector<ActionRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadAction(s));
  return out;
}

Result<std::vector<Incident>> IncidentStore::All() {
  std::lock_guard<std::mutex> lock(mu_);
  return QueryIncidents(db_, "", {}, 0, false);
}

Result<std::vector<ActionRecord>> IncidentStore::AllActions() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, std::string("SELECT ") + kActionColumns + " FROM incident_actions ORDER BY id");
  if (!s.ok()) return SqlError(db_, "prepare actions");
  std::vector<ActionRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadAction(s));
  return out;
}

Result<std::string> IncidentStore::MaxId() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT MAX(id) FROM incidents");
  if (!s.ok()) return SqlError(db_, "prepare max id");
  if (s.Step() == SQLITE_ROW) return s.ColText(0);
  return std::string();
}

Result<std::vector<int64_t>> IncidentStore::OpenedSince(const std::string& playbook,
                                                        int64_t since_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT opened_ms FROM incidents WHERE playbook = ? AND opened_ms > ?");
  if (!s.ok()) return SqlError(db_, "prepare runs query");
  s.Text(1, playbook);
  s.Int(2, since_ms);
  std::vector<int64_t> out;
  while (s.Step() == SQLITE_ROW) out.push_back(s.ColInt(0));
  return out;
}

Result<int64_t> IncidentStore::LastClosed(const std::string& playbook,
                                          const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT MAX(closed_ms) FROM incidents WHERE playbook = ? AND fingerprint = ? AND "
         "state IN ('resolved','failed')");
  if (!s.ok()) return SqlError(db_, "prepare cooldown query");
  s.Text(1, playbook);
  s.Text(2, fingerprint);
  if (s.Step() == SQLITE_ROW) return s.ColInt(0);
  return int64_t{0};
}

}  // namespace echomon::respond
