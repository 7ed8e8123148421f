#include "maintenance/scheduler.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <set>

#include "core/log.h"

namespace echomon::maintenance {
namespace {

nlohmann::json Seconds(int64_t ms) {
  return ms > 0 ? nlohmann::json(static_cast<double>(ms) / 1000.0) : nlohmann::json(nullptr);
}

}  // namespace

MaintenanceScheduler::MaintenanceScheduler(Clock* clock, RunHistory* history,
                                           SchedulerOptions options)
    : clock_(clock), history_(history), options_(options) {
  rng_.seed(options.seed != 0 ? options.seed : std::random_device{}());
}

MaintenanceScheduler::~MaintenanceScheduler() { Stop(); }

int64_t MaintenanceScheduler::Jitter(int64_t jitter_ms) {
  if (jitter_ms <= 0) return 0;
  std::uniform_int_distribution<int64_t> d(0, jitter_ms);
  return d(rng_);
}

void MaintenanceScheduler::ScheduleInitial(Entry& e, int64_t now, int* overdue_index) {
  const MaintenanceTask& t = e.task;
  if (!t.enabled) return;
  TaskState& s = e.state;
  int64_t fresh = t.schedule.NextAfter(now);
  if (fresh < 0) {
    // A cron with no date in the coming years: never due (0), not due at once.
    s.next_run_ms = 0;
    return;
  }
  fresh += Jitter(t.jitter_ms);
  if (s.next_run_ms <= 0) {
    s.next_run_ms = fresh > 0 ? fresh : 0;
  } else if (s.next_run_ms <= now) {
    // Overdue while the agent was down: once, soon, staggered.
    s.next_run_ms = now + options_.startup_delay_ms +
                    options_.startup_stagger_ms * (*overdue_index)++ + Jitter(t.jitter_ms);
  } else if (!t.schedule.is_cron() &&
             s.next_run_ms > t.schedule.NextAfter(now) + std::max<int64_t>(0, t.jitter_ms)) {
    // The interval was shortened since the due time was computed.
    s.next_run_ms = fresh;
  }
}

Status MaintenanceScheduler::Start(std::vector<MaintenanceTask> tasks) {
  std::map<std::string, TaskState> states;
  if (history_) {
    auto loaded = history_->LoadStates();
    if (!loaded.ok()) return loaded.status();
    states = std::move(loaded.value());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
    order_.clear();
    stopped_ = false;
  }
  for (auto& t : tasks) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.count(t.name)) {
      return Status::InvalidArgument("maintenance task \"" + t.name + "\" is defined twice");
    }
    Entry e;
    auto it = states.find(t.name);
    if (it != states.end()) e.state = it->second;
    e.task = std::move(t);
    order_.push_back(e.task.name);
    entries_[e.task.name] = std::move(e);
  }
  const int64_t now = clock_->NowMillis();
  int overdue = 0;
  std::vector<std::pair<std::string, TaskState>> to_save;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& name : order_) {
      Entry& e = entries_[name];
      int64_t before = e.state.next_run_ms;
      ScheduleInitial(e, now, &overdue);
      if (e.state.next_run_ms != before) to_save.emplace_back(name, e.state);
    }
  }
  for (const auto& [name, state] : to_save) {
    if (history_) {
      Status s = history_->SaveState(name, state);
      if (!s.ok()) {
        ++record_errors_;
        core::WarnOnce("maintenance.history", "maintenance history: " + s.ToString());
      }
    }
  }
  return Status::Ok();
}

Status MaintenanceScheduler::SetTasks(std::vector<MaintenanceTask> tasks) {
  std::set<std::string> seen;
  for (const auto& t : tasks) {
    if (!seen.insert(t.name).second) {
      return Status::InvalidArgument("maintenance task \"" + t.name + "\" is defined twice");
    }
  }
  const int64_t now = clock_->NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, Entry> next;
  std::vector<std::string> order;
  int overdue = 0;
  for (auto& t : tasks) {
    Entry e;
    auto it = entries_.find(t.name);
    if (it != entries_.end()) {
      e.state = it->second.state;
      e.running = it->second.running;
    }
    bool was_enabled = it != entries_.end() && it->second.task.enabled;
    e.task = std::move(t);
    if (!was_enabled || e.state.next_run_ms <= 0) {
      if (e.state.next_run_ms <= now) e.state.next_run_ms = 0;
      ScheduleInitial(e, now, &overdue);
    } else if (!e.task.schedule.is_cron()) {
      int64_t fresh = e.task.schedule.NextAfter(now) + e.task.jitter_ms;
      if (e.state.next_run_ms > fresh) e.state.next_run_ms = fresh;
    } else {
      int64_t fresh = e.task.schedule.NextAfter(now);  // -1: never matches from now on
      e.state.next_run_ms = fresh >= 0 ? fresh + Jitter(e.task.jitter_ms) : 0;
    }
    order.push_back(e.task.name);
    next[e.task.name] = std::move(e);
  }
  // Runs in progress of removed tasks keep their entry until they finish.
  for (auto& [name, e] : entries_) {
    if (e.running && !next.count(name)) {
      e.task.enabled = false;
      next[name] = std::move(e);
    }
  }
  entries_ = std::move(next);
  order_ = std::move(order);
  return Status::Ok();
}

RunRecord MaintenanceScheduler::Execute(const MaintenanceTask& task, const std::string& trigger) {
  RunRecord run;
  run.task = task.name;
  run.trigger = trigger;
  run.started_ms = clock_->NowMillis();
  const int64_t start_mono = clock_->MonotonicNanos() / 1'000'000;
  const int64_t real_start = SystemClock::Get()->MonotonicNanos() / 1'000'000;
  TaskRunContext ctx;
  ctx.task = task.name;
  ctx.trigger = trigger;
  ctx.started_ms = run.started_ms;
  ctx.timeout_ms = task.timeout_ms;
  ctx.remaining_ms = [real_start, timeout = task.timeout_ms] {
    int64_t used = SystemClock::Get()->MonotonicNanos() / 1'000'000 - real_start;
    return std::max<int64_t>(1, timeout - used);
  };
  TaskOutcome outcome;
  try {
    if (task.run) {
      outcome = task.run(ctx);
    } else {
      outcome.error = "task has nothing to run";
    }
  } catch (const std::exception& e) {
    outcome.ok = false;
    outcome.error = std::string("internal error: ") + e.what();
  } catch (...) {
    outcome.ok = false;
    outcome.error = "internal error";
  }
  (void)start_mono;
  int64_t real_duration = SystemClock::Get()->MonotonicNanos() / 1'000'000 - real_start;
  run.finished_ms = std::max(clock_->NowMillis(), run.started_ms);
  // With the system clock the wall times already differ; a manual clock does not move during
  // the run, so the real duration is added.
  if (run.finished_ms - run.started_ms < real_duration) {
    run.finished_ms = run.started_ms + real_duration;
  }
  run.ok = outcome.ok;
  run.summary = outcome.summary;
  run.error = outcome.error;
  run.results = outcome.results.is_array() ? outcome.results : nlohmann::json::array();
  if (real_duration > task.timeout_ms) {
    run.timed_out = true;
    run.ok = false;
    if (run.error.empty()) {
      run.error = "exceeded the task timeout of " + FormatDurationMs(task.timeout_ms);
    } else {
      run.error += " (exceeded the task timeout of " + FormatDurationMs(task.timeout_ms) + ")";
    }
  }
  if (!run.ok && run.error.empty()) run.error = "failed";
  if (run.summary.empty()) run.summary = run.ok ? "ok" : run.error;
  return run;
}

void MaintenanceScheduler::Finish(const std::string& name, RunRecord* run, bool scheduled) {
  TaskState state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    e.running = false;
    TaskState& s = e.state;
    s.last_run_ms = run->started_ms;
    s.last_duration_ms = run->finished_ms - run->started_ms;
    s.last_ok = run->ok;
    s.last_summary = run->ok ? run->summary : run->error;
    ++s.runs;
    if (run->ok) {
      s.last_success_ms = run->started_ms;
    } else {
      ++s.failures;
    }
    if (scheduled && e.task.enabled) {
      // The period counts from the start; a run that overran it waits a period from its end.
      int64_t next = e.task.schedule.NextAfter(run->started_ms);
      int64_t finished = std::max(run->finished_ms, clock_->NowMillis());
      if (next >= 0 && next <= finished) next = e.task.schedule.NextAfter(finished);
      s.next_run_ms = next >= 0 ? next + Jitter(e.task.jitter_ms) : 0;
    }
    state = s;
  }
  if (history_) {
    Status st = history_->Record(run, state);
    if (!st.ok()) {
      ++record_errors_;
      core::WarnOnce("maintenance.history", "maintenance history: " + st.ToString());
    } else {
      core::ResetOnce("maintenance.history");
    }
  }
  if (!run->ok) {
    core::WarnOnce("maintenance.task." + name,
                   "maintenance task " + name + " failed: " + run->error);
  } else {
    core::ResetOnce("maintenance.task." + name);
  }
}

void MaintenanceScheduler::ReapWorkers() {
  std::vector<Worker> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        finished.push_back(std::move(*it));
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& w : finished) w.thread.join();
}

void MaintenanceScheduler::Tick(int64_t now_ms) {
  ReapWorkers();
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  for (const auto& name : order_) {
    Entry& e = entries_[name];
    if (!e.task.enabled || e.running || e.state.next_run_ms <= 0 || e.state.next_run_ms > now_ms) {
      continue;
    }
    e.running = true;
    ++running_;
    auto done = std::make_shared<std::atomic<bool>>(false);
    MaintenanceTask task = e.task;
    Worker w;
    w.done = done;
    w.thread = std::thread([this, task = std::move(task), done] {
      RunRecord run = Execute(task, "schedule");
      Finish(task.name, &run, true);
      {
        std::lock_guard<std::mutex> l(mu_);
        --running_;
      }
      idle_cv_.notify_all();
      done->store(true);
    });
    workers_.push_back(std::move(w));
  }
}

Result<RunRecord> MaintenanceScheduler::RunNow(const std::string& name) {
  MaintenanceTask task;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string list;
      for (const auto& n : order_) list += (list.empty() ? "" : ", ") + n;
      return Status::NotFound("no maintenance task \"" + name + "\" (tasks: " + list + ")");
    }
    if (it->second.running) {
      return Status::Unavailable("maintenance task \"" + name + "\" is already running");
    }
    if (stopped_) return Status::Unavailable("the maintenance scheduler is stopped");
    it->second.running = true;
    ++running_;
    task = it->second.task;
  }
  RunRecord run = Execute(task, "manual");
  Finish(name, &run, false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
  idle_cv_.notify_all();
  return run;
}

void MaintenanceScheduler::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return running_ == 0; });
}

void MaintenanceScheduler::Stop() {
  std::vector<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    workers = std::move(workers_);
    workers_.clear();
  }
  for (auto& w : workers) {
    if (w.thread.joinable()) w.thread.join();
  }
}

nlohmann::json MaintenanceScheduler::EntryJson(const Entry& e) const {
  const MaintenanceTask& t = e.task;
  const TaskState& s = e.state;
  nlohmann::json last = nullptr;
  if (s.runs > 0) {
    last = {{"ok", s.last_ok},
            {"summary", s.last_summary},
            {"started", Seconds(s.last_run_ms)},
            {"duration_ms", s.last_duration_ms}};
  }
  return {{"name", t.name},
          {"description", t.description},
          {"builtin", t.builtin},
          {"enabled", t.enabled},
          {"dry_run", t.dry_run},
          {"schedule", t.schedule.ToString()},
          {"interval_ms", t.schedule.is_cron() ? nlohmann::json(nullptr)
                                               : nlohmann::json(t.schedule.interval_ms())},
          {"jitter_ms", t.jitter_ms},
          {"timeout_ms", t.timeout_ms},
          {"running", e.running},
          {"next_run", t.enabled ? Seconds(s.next_run_ms) : nlohmann::json(nullptr)},
          {"last_run", Seconds(s.last_run_ms)},
          {"last_success", Seconds(s.last_success_ms)},
          {"last_result", last},
          {"runs", s.runs},
          {"failures", s.failures},
          {"actions", t.actions}};
}

nlohmann::json MaintenanceScheduler::ToJson(size_t recent) const {
  nlohmann::json tasks = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& name : order_) tasks.push_back(EntryJson(entries_.at(name)));
  }
  nlohmann::json runs = nlohmann::json::array();
  if (history_ && recent > 0) {
    auto r = history_->Recent("", recent);
    if (r.ok()) {
      for (const auto& run : r.value()) runs.push_back(run.ToJson());
    }
  }
  return {{"tasks", tasks}, {"recent_runs", runs}};
}

nlohmann::json MaintenanceScheduler::TaskJson(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return nullptr;
  return EntryJson(it->second);
}

void MaintenanceScheduler::AppendSelfMetrics(core::SampleBatch& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& name : order_) {
    const Entry& e = entries_.at(name);
    core::Labels labels{{"task", name}};
    out.push_back({"echomon_maintenance_runs_total", labels, static_cast<double>(e.state.runs),
                   core::MetricType::kCounter, "Maintenance task runs (scheduled and manual)."});
    out.push_back({"echomon_maintenance_failures_total", labels,
                   static_cast<double>(e.state.failures), core::MetricType::kCounter,
                   "Maintenance task runs that failed or timed out."});
    out.push_back({"echomon_maintenance_last_success_timestamp_seconds", labels,
                   static_cast<double>(e.state.last_success_ms) / 1000.0, core::MetricType::kGauge,
                   "When the task last succeeded (Unix seconds; 0: never)."});
    out.push_back({"echomon_maintenance_last_duration_seconds", labels,
                   static_cast<double>(e.state.last_duration_ms) / 1000.0, core::MetricType::kGauge,
                   "How long the task's last run took."});
    out.push_back({"echomon_maintenance_running", labels, e.running ? 1.0 : 0.0,
                   core::MetricType::kGauge, "1 while the task runs."});
  }
}

}  // namespace echomon::maintenance
