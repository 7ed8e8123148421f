// MaintenanceScheduler: runs maintenance tasks on their schedules (interval or cron, plus
// jitter), off the caller's thread, with a timeout, and remembers every run in RunHistory so a
// restart neither loses the last run nor runs everything again at start-up.
//
// Scheduling (docs/maintenance.md):
//  - a task seen for the first time is due one period from now (its next cron time), plus
//    jitter; the due time is persisted at once, so restarts do not postpone it;
//  - a persisted due time in the future is kept; one that passed while the agent was down
//    makes the task run once, startup_delay after start, overdue tasks staggered
//    startup_stagger apart (no start-up storm, no catch-up of every missed period);
//  - after a run the next due time is the schedule's next time after the run finished, plus
//    a fresh jitter in [0, jitter];
//  - a manual run (RunNow) does not move the schedule.
//
// Thread-safety: every public method may be called from any thread. Tick() only dispatches;
// tasks run on their own threads, at most one run per task at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"
#include "maintenance/run_history.h"
#include "maintenance/schedule.h"

namespace echomon::maintenance {

// Handed to a task's run function.
struct TaskRunContext {
  std::string task;
  std::string trigger;  // "schedule" or "manual"
  int64_t started_ms = 0;
  int64_t timeout_ms = 0;
  // Milliseconds left before the task's timeout (at least 1): cap blocking work with it.
  std::function<int64_t()> remaining_ms;
};

struct TaskOutcome {
  bool ok = false;
  std::string summary;
  std::string error;
  nlohmann::json results = nlohmann::json::array();
};

struct MaintenanceTask {
  std::string name;
  std::string description;
  Schedule schedule = Schedule::Every(3'600'000);
  int64_t jitter_ms = 0;
  int64_t timeout_ms = 5 * 60'000;
  bool enabled = true;
  bool builtin = false;
  bool dry_run = false;
  nlohmann::json actions = nlohmann::json::array();  // for listing
  std::function<TaskOutcome(const TaskRunContext&)> run;
};

struct SchedulerOptions {
  int64_t startup_delay_ms = 60'000;    // overdue tasks wait this long after start ...
  int64_t startup_stagger_ms = 30'000;  // ... and this much more each
  uint64_t seed = 0;                    // jitter random seed; 0: random
};

class MaintenanceScheduler {
 public:
  // clock and history must outlive the scheduler.
  MaintenanceScheduler(Clock* clock, RunHistory* history, SchedulerOptions options = {});
  ~MaintenanceScheduler();  // Stop()
  MaintenanceScheduler(const MaintenanceScheduler&) = delete;
  MaintenanceScheduler& operator=(const MaintenanceScheduler&) = delete;

  // Installs the tasks and schedules them from the persisted state (see above). Fails when
  // the history cannot be read or two tasks share a name.
  Status Start(std::vector<MaintenanceTask> tasks);
  // Replaces the task definitions (configuration reload); state is kept by name. A task whose
  // run is in progress finishes with its old definition.
  Status SetTasks(std::vector<MaintenanceTask> tasks);
  // Starts every enabled task that is due at now_ms on its own thread. Cheap when nothing is
  // due.
  void Tick(int64_t now_ms);
  // Runs a task now on the calling thread and returns the record. NotFound for an unknown
  // task, Unavailable while it is already running.
  Result<RunRecord> RunNow(const std::string& name);
  // Waits until no run is in progress (tests).
  void WaitIdle();
  // Waits for running tasks to finish; no new runs start afterwards.
  void Stop();

  // {"tasks": [...], "recent_runs": [...]} as served by GET /api/v1/maintenance.
  nlohmann::json ToJson(size_t recent = 20) const;
  nlohmann::json TaskJson(const std::string& name) const;  // null when unknown
  void AppendSelfMetrics(core::SampleBatch& out) const;
  // Counts of runs that could not be recorded in the history.
  uint64_t record_errors() const { return record_errors_.load(); }

 private:
  struct Entry {
    MaintenanceTask task;
    TaskState state;
    bool running = false;
  };
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  int64_t Jitter(int64_t jitter_ms);
  void ScheduleInitial(Entry& e, int64_t now, int* overdue_index);
  RunRecord Execute(const MaintenanceTask& task, const std::string& trigger);
  void Finish(const std::string& name, RunRecord* run, bool scheduled);
  void ReapWorkers();
  nlohmann::json EntryJson(const Entry& e) const;

  Clock* clock_;
  RunHistory* history_;
  SchedulerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;  // names in definition order
  std::vector<Worker> workers_;
  int running_ = 0;
  bool stopped_ = false;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> record_errors_{0};
};

}  // namespace echomon::maintenance
