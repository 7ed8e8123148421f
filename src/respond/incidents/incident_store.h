// IncidentStore: incidents, their timelines and every action's outcome in SQLite (the agent's
// echomon.db, WAL, synchronous=FULL). Schema in docs/incidents.md.
//
// Every write is one committed transaction before the call returns, so whatever the incident
// manager reports has already been made durable. An action is recorded as "started" before it
// runs and "finished" after; a row left "started" by a crash is marked "interrupted" on the next
// start (MarkUnfinishedInterrupted), never run again.
//
// Thread-safety: every method may be called from any thread (serialised by a mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "echomon/status.h"
#include "respond/action.h"

struct sqlite3;

namespace echomon::respond {

enum class IncidentState { kOpen, kActing, kVerifying, kEscalated, kResolved, kFailed };
const char* IncidentStateName(IncidentState s);  // "open", "acting", ...
bool ParseIncidentState(const std::string& text, IncidentState* out);
// Resolved and failed incidents are closed; the others are active.
inline bool IsClosed(IncidentState s) {
  return s == IncidentState::kResolved || s == IncidentState::kFailed;
}

struct Incident {
  std::string id;  // "inc-<13-digit ms>-<seq>": unique, sorts by opening time
  std::string fingerprint;
  std::string alert_id;
  std::string alertname;
  std::string severity;
  std::string priority;  // P0..P3
  std::string playbook;
  std::map<std::string, std::string> labels;
  double value = 0;
  std::string summary;
  IncidentState state = IncidentState::kOpen;
  bool dry_run = false;
  int step = 0;  // the step running / verified / to run next (0-based)
  int64_t opened_ms = 0;
  int64_t updated_ms = 0;
  int64_t closed_ms = 0;
  int64_t acked_ms = 0;
  std::string acked_by;
  int64_t verify_deadline_ms = 0;
  int64_t escalated_ms = 0;  // first escalation; 0: never escalated
  int escalation_level = 0;  // next level to notify
  int escalation_round = 0;  // times the levels were gone through
  int64_t next_escalation_ms = 0;
  std::string reason;  // why it is in its state ("alert resolved", "steps exhausted", ...)
};

struct IncidentEvent {
  int64_t seq = 0;
  std::string incident_id;
  int64_t at_ms = 0;
  std::string kind;  // opened, step_started, action_started, action_finished, ...
  int step = -1;
  std::string message;
  nlohmann::json detail;
};

struct ActionRecord {
  int64_t id = 0;
  std::string incident_id;
  int step = 0;
  int index = 0;
  std::string type;
  std::string name;
  std::string state;  // started, finished, interrupted
  bool ok = false;
  bool dry_run = false;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  nlohmann::json result;  // ActionResult::ToJson(); null while started
};

class IncidentStore {
 public:
  // Opens (creating the tables) path; empty or ":memory:" keeps everything in memory.
  static Result<std::unique_ptr<IncidentStore>> Open(const std::string& path);
  ~IncidentStore();

  // Inserts or replaces the incident and appends the events, in one transaction.
  Status Commit(const Incident& incident, const std::vector<IncidentEvent>& events);
  // Records an action as started (and an action_started event); returns its row id.
  Result<int64_t> ActionStarted(const Incident& incident, int index, const ActionSpec& spec,
                                bool dry_run, int64_t at_ms);
  // Records the outcome (and an action_finished event).
  Status ActionFinished(int64_t row, const std::string& incident_id, int step,
                        const ActionResult& result, int64_t at_ms);
  // Marks every action still "started" as interrupted (with an event each); returns them.
  Result<std::vector<ActionRecord>> MarkUnfinishedInterrupted(int64_t at_ms);

  Result<std::vector<Incident>> LoadActive();
  // Newest first; state empty: any; "active"/"closed" select groups.
  Result<std::vector<Incident>> List(const std::string& state, size_t limit);
  Result<std::optional<Incident>> Get(const std::string& id);
  Result<std::vector<IncidentEvent>> Events(const std::string& id);
  Result<std::vector<ActionRecord>> Actions(const std::string& id);
  // Every incident / action record (for statistics).
  Result<std::vector<Incident>> All();
  Result<std::vector<ActionRecord>> AllActions();
  // The largest incident id stored ("" when none).
  Result<std::string> MaxId();
  // Opening times of the playbook's incidents after since_ms.
  Result<std::vector<int64_t>> OpenedSince(const std::string& playbook, int64_t since_ms);
  // When the last incident of playbook for fingerprint closed (0: none).
  Result<int64_t> LastClosed(const std::string& playbook, const std::string& fingerprint);

 private:
  explicit IncidentStore(sqlite3* db) : db_(db) {}
  Status AddEventLocked(const IncidentEvent& e);
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace echomon::respond
