// RunHistory: maintenance runs and per-task state in SQLite (tables maintenance_runs and
// maintenance_tasks in the agent's echomon.db; schema in docs/maintenance.md), so the last run,
// the next due time and the counts survive a restart.
//
// Without a path (persistence off) it keeps nothing and every call succeeds.
//
// Thread-safety: all methods may be called from any thread (serialised by a mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "echomon/status.h"

struct sqlite3;

namespace echomon::maintenance {

// One finished run.
struct RunRecord {
  int64_t id = 0;  // assigned by Record
  std::string task;
  std::string trigger;  // "schedule" or "manual"
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  bool ok = false;
  bool timed_out = false;
  std::string summary;
  std::string error;
  nlohmann::json results = nlohmann::json::array();  // ActionResult JSON of each action

  nlohmann::json ToJson() const;
};

// What the scheduler remembers of a task between runs.
struct TaskState {
  int64_t next_run_ms = 0;  // 0: not scheduled yet
  int64_t last_run_ms = 0;  // start of the last run
  int64_t last_success_ms = 0;
  int64_t last_duration_ms = 0;
  bool last_ok = false;
  std::string last_summary;
  int64_t runs = 0;
  int64_t failures = 0;
};

class RunHistory {
 public:
  // Opens (creating the tables in) the database at path; an empty path keeps nothing. Fails
  // with IoError naming the path.
  static Result<std::unique_ptr<RunHistory>> Open(const std::string& path);
  ~RunHistory();
  RunHistory(const RunHistory&) = delete;
  RunHistory& operator=(const RunHistory&) = delete;

  // Every task's persisted state, by name.
  Result<std::map<std::string, TaskState>> LoadStates();
  // Stores the task's next due time (e.g. when first scheduled).
  Status SaveState(const std::string& task, const TaskState& state);
  // Commits the run and the task's new state in one transaction; keeps the newest
  // keep_per_task runs of the task. Fills run->id.
  Status Record(RunRecord* run, const TaskState& state, int keep_per_task = 200);
  // The newest runs (of one task, or all when task is empty), newest first.
  Result<std::vector<RunRecord>> Recent(const std::string& task, size_t limit);

 private:
  explicit RunHistory(sqlite3* db) : db_(db) {}
  Status SaveStateLocked(const std::string& task, const TaskState& state);
  std::mutex mu_;
  sqlite3* db_;  // null: memory only
};

}  // namespace echomon::maintenance
