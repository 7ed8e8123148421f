// The maintenance tasks the agent runs: the four built-in ones (system_cleanup 6h,
// memory_optimization 4h, health_check 1h, log_rotation daily) and the operator's tasks from
// the `maintenance:` section, each made of actions from the action library.
//
// Thread-safety: BuildTasks is a pure function; HealthReport is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "maintenance/scheduler.h"
#include "respond/action.h"
#include "store/series_store.h"

namespace echomon::maintenance {

// The last health check's result, for self-metrics (echomon_maintenance_health_ok{target}).
class HealthReport {
 public:
  void Set(int64_t checked_ms, std::map<std::string, bool> targets);
  void AppendSelfMetrics(core::SampleBatch& out) const;

 private:
  mutable std::mutex mu_;
  int64_t checked_ms_ = 0;
  std::map<std::string, bool> targets_;  // "agent" or a URL -> healthy
};

// What the tasks need from the agent. Pointers must outlive the tasks.
struct TaskDeps {
  core::Config config;
  respond::ActionLimits limits;
  const store::SeriesStore* store = nullptr;
  Clock* clock = nullptr;
  std::string data_dir;                    // health.json goes here; empty: not written
  std::function<nlohmann::json()> status;  // the agent's /api/v1/status body; may be empty
  HealthReport* health = nullptr;          // may be null
};

// Names of the built-in tasks, in order.
extern const std::vector<std::string> kBuiltinTasks;

// The task list: built-ins (unless maintenance.builtin_tasks is false), with settings of a
// configured task of the same name applied, then the operator's tasks. Fails with a message
// naming the task and its line when a schedule or action is invalid.
Result<std::vector<MaintenanceTask>> BuildTasks(const core::MaintenanceConfig& config,
                                                const TaskDeps& deps);

// Runs a list of actions in order as one task (used by built-in and operator tasks): every
// action's timeout is capped by the time left; the task is ok when every action is.
TaskOutcome RunActions(const std::vector<respond::ActionSpec>& actions, bool dry_run,
                       const TaskDeps& deps, const TaskRunContext& context);

// The health check: the agent's own status plus each URL (GET, 2xx is healthy); writes
// <data_dir>/health.json (docs/maintenance.md) and updates deps.health.
TaskOutcome RunHealthCheck(const std::vector<std::string>& urls, const TaskDeps& deps,
                           const TaskRunContext& context);

}  // namespace echomon::maintenance
