#include "respond/incidents/incident_manager.h"

#include <dirent.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "alert/alert_tracker.h"
#include "core/labels.h"

namespace echomon::respond {
namespace {

using nlohmann::json;

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json TimeOrNull(int64_t ms) { return ms > 0 ? json(Seconds(ms)) : json(); }

const char* SeverityText(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "warning";
}

Severity SeverityFrom(const std::string& s) {
  if (s == "info") return Severity::kInfo;
  if (s == "critical") return Severity::kCritical;
  return Severity::kWarning;
}

// utime+stime (clock ticks) of every process under proc_root.
std::map<int, uint64_t> CpuTicks(const std::string& proc_root) {
  std::map<int, uint64_t> out;
  DIR* dir = ::opendir(proc_root.c_str());
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 1) continue;
    std::ifstream f(proc_root + "/" + e->d_name + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    // Fields after the name: state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime(15).
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
      if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    out[static_cast<int>(pid)] = utime + stime;
  }
  ::closedir(dir);
  return out;
}

// The process (not the agent, not pid 1, not a kernel thread) that used the most CPU over a
// short sample; 0 when none did.
int TopCpuPid(const std::string& proc_root) {
  auto before = CpuTicks(proc_root);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = CpuTicks(proc_root);
  const int self = static_cast<int>(::getpid());
  int best = 0;
  uint64_t best_delta = 0;
  for (const auto& [pid, ticks] : after) {
    if (pid == self) continue;
    auto it = before.find(pid);
    if (it == before.end() || ticks < it->second) continue;
    std::ifstream cmdline(proc_root + "/" + std::to_string(pid) + "/cmdline");
    if (cmdline.peek() == std::ifstream::traits_type::eof()) continue;  // kernel thread
    const uint64_t delta = ticks - it->second;
    if (delta > best_delta) {
      best_delta = delta;
      best = pid;
    }
  }
  return best;
}

struct WorkerPool {
  std::mutex mu;
  std::condition_variable cv;
  std::condition_variable idle_cv;
  std::deque<std::function<void()>> jobs;
  size_t busy = 0;
  bool stop = false;
  std::atomic<uint64_t> job_errors{0};  // jobs that threw (caught; the worker goes on)
  std::vector<std::thread> threads;

  void Start(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    stop = false;
    for (size_t i = threads.size(); i < n; ++i) threads.emplace_back([this] { Loop(); });
  }
  void Post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu);
      jobs.push_back(std::move(job));
    }
    cv.notify_one();
  }
  void Loop() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return stop || !jobs.empty(); });
        if (jobs.empty()) return;  // stopping and drained
        job = std::move(jobs.front());
        jobs.pop_front();
        ++busy;
      }
      try {
        job();
      } catch (const std::exception& e) {
        ++job_errors;
        spdlog::error("incident worker: job failed: {}", e.what());
      } catch (...) {
        ++job_errors;
        spdlog::error("incident worker: job failed with an unknown exception");
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        --busy;
      }
      idle_cv.notify_all();
    }
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu);
    idle_cv.wait(lock, [this] { return jobs.empty() && busy == 0; });
  }
  // Drops what is queued (nothing of it was recorded as started), waits for the running jobs,
  // then ends the threads.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      jobs.clear();
    }
    cv.notify_all();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    threads.clear();
  }
};

}  // namespace

struct IncidentManager::Impl {
  struct Active {
    Incident inc;
    std::shared_ptr<const Playbook> playbook;
    bool alert_resolved = false;  // the alert resolved while actions ran
    bool running = false;         // a step job is queued or running
    std::string muted_by;         // non-empty: held because the alert is muted by this
  };

  Clock* clock = nullptr;
  std::unique_ptr<IncidentStore> store;
  ActionRunner runner;
  EscalationSender send_escalation;
  std::function<std::optional<std::set<std::string>>()> active_fingerprints;
  std::function<std::map<std::string, std::string>()> muted_alerts;
  const store::SeriesStore* series = nullptr;
  std::string proc_root;

  mutable std::mutex mu;  // guards everything below
  std::vector<std::shared_ptr<const Playbook>> playbooks;
  bool enabled = true;
  bool dry_run = false;
  int max_concurrent = 3;
  std::shared_ptr<const ActionLimits> limits;
  std::map<std::string, Active> active;      // by incident id
  std::map<std::string, std::string> by_fp;  // fingerprint -> incident id
  std::map<std::string, Alert> deferred;     // fingerprint -> alert held back by a guard
  int acting = 0;
  int64_t last_id_ms = 0;
  int seq = 0;
  std::string max_id;
  bool started = false;
  std::atomic<bool> stopping{false};  // Stop() called: running steps end after their action

  // Self-metrics since start.
  uint64_t opened_total = 0;
  std::map<std::string, uint64_t> closed_total;                           // by state
  std::map<std::string, uint64_t> suppressed_total;                       // by reason
  std::map<std::pair<std::string, std::string>, uint64_t> actions_total;  // type, outcome
  uint64_t escalations_total = 0;
  uint64_t escalation_failures = 0;
  uint64_t store_errors = 0;
  uint64_t internal_errors = 0;  // step jobs that failed with an exception

  WorkerPool pool;

  int64_t Now() const { return clock->NowMillis(); }

  std::string NewId(int64_t now) {
    if (now != last_id_ms) {
      last_id_ms = now;
      seq = 0;
    }
    std::string id;
    do {
      id = fmt::format("inc-{:013d}-{:03d}", now, seq++);
    } while (id <= max_id);
    max_id = id;
    return id;
  }

  IncidentEvent Event(const Incident& inc, std::string kind, std::string message,
                      json detail = json::object()) {
    IncidentEvent e;
    e.incident_id = inc.id;
    e.at_ms = Now();
    e.kind = std::move(kind);
    e.step = inc.step;
    e.message = std::move(message);
    e.detail = std::move(detail);
    return e;
  }

  // Commits the incident with events; logs each event after the commit.
  bool Persist(Incident& inc, std::vector<IncidentEvent> events) {
    inc.updated_ms = Now();
    Status s = store->Commit(inc, events);
    if (!s.ok()) {
      ++store_errors;
      spdlog::error("incident {}: {}", inc.id, s.ToString());
      return false;
    }
    for (const auto& e : events) spdlog::info("incident {}: {}", inc.id, e.message);
    return true;
  }

  std::shared_ptr<const Playbook> FindPlaybook(const std::string& name) const {
    for (const auto& p : playbooks) {
      if (p->name == name) return p;
    }
    return nullptr;
  }

  void Close(Active& a, IncidentState state, const std::string& reason, json detail = {}) {
    Incident& inc = a.inc;
    inc.state = state;
    inc.closed_ms = Now();
    inc.reason = reason;
    if (detail.is_null()) detail = json::object();
    Persist(inc, {Event(inc, IncidentStateName(state), reason, detail)});
    closed_total[IncidentStateName(state)]++;
    const std::string id = inc.id;
    by_fp.erase(inc.fingerprint);
    active.erase(id);  // a is gone after this
  }

  // Opens an incident for alert with playbook pb when the guards allow; otherwise returns the
  // reason it was held back.
  std::optional<std::string> TryOpen(const Alert& alert, const std::string& fp,
                                     const std::shared_ptr<const Playbook>& pb) {
    const int64_t now = Now();
    auto last = store->LastClosed(pb->name, fp);
    if (last.ok() && *last > 0 && now - *last < pb->cooldown_ms) return "cooldown";
    auto runs = store->OpenedSince(pb->name, now - 3600'000);
    if (runs.ok() && static_cast<int>(runs->size()) >= pb->max_runs_per_hour) return "rate_limit";
    Active a;
    a.playbook = pb;
    Incident& inc = a.inc;
    inc.id = NewId(now);
    inc.fingerprint = fp;
    inc.alert_id = alert.id;
    inc.alertname = alert.rule;
    inc.severity = SeverityText(alert.severity);
    inc.priority = pb->PriorityFor(inc.severity);
    inc.playbook = pb->name;
    inc.labels = alert.labels;
    inc.value = alert.value;
    inc.summary = alert.message;
    inc.state = IncidentState::kOpen;
    inc.dry_run = dry_run || pb->dry_run;
    inc.opened_ms = now;
    inc.reason = "alert firing";
    json detail = {{"playbook", pb->name},    {"priority", inc.priority}, {"alert_id", alert.id},
                   {"alertname", alert.rule}, {"severity", inc.severity}, {"value", alert.value},
                   {"dry_run", inc.dry_run},  {"steps", pb->steps.size()}};
    if (!Persist(inc, {Event(inc, "opened",
                             fmt::format("opened ({}) for {} {} with playbook {}{}", inc.priority,
                                         alert.rule, inc.severity, pb->name,
                                         inc.dry_run ? " (dry run)" : ""),
                             detail)})) {
      return "database_error";
    }
    ++opened_total;
    const std::string id = inc.id;
    by_fp[fp] = id;
    active.emplace(id, std::move(a));
    return std::nullopt;
  }

  void HandleFiring(const Alert& alert, const std::string& fp) {
    if (auto it = by_fp.find(fp); it != by_fp.end()) {
      Active& a = active.at(it->second);
      const std::string sev = SeverityText(alert.severity);
      a.alert_resolved = false;
      if (sev != a.inc.severity) {
        a.inc.severity = sev;
        a.inc.priority = a.playbook->PriorityFor(sev);
        a.inc.value = alert.value;
        Persist(a.inc, {Event(a.inc, "alert_updated",
                              fmt::format("alert is now {} ({})", sev, a.inc.priority),
                              {{"severity", sev}, {"value", alert.value}})});
      }
      return;  // one incident per alert
    }
    std::map<std::string, std::string> labels = alert.labels;
    labels["alertname"] = alert.rule;
    labels["severity"] = SeverityText(alert.severity);
    std::shared_ptr<const Playbook> pb;
    for (const auto& p : playbooks) {
      if (p->Matches(labels)) {
        pb = p;
        break;
      }
    }
    if (!pb) return;
    if (auto held = TryOpen(alert, fp, pb)) {
      if (!deferred.count(fp)) {
        spdlog::info("alert {} matches playbook {} but is held back ({})", alert.rule, pb->name,
                     *held);
        suppressed_total[*held]++;
      }
      deferred[fp] = alert;
      return;
    }
    deferred.erase(fp);
  }

  void StartStep(Active& a) {
    Incident& inc = a.inc;
    const PlaybookStep& step = a.playbook->steps[static_cast<size_t>(inc.step)];
    inc.state = IncidentState::kActing;
    inc.reason = "running " + step.name;
    Persist(inc, {Event(inc, "step_started",
                        fmt::format("step {}/{} started: {}", inc.step + 1,
                                    a.playbook->steps.size(), step.name),
                        {{"step_name", step.name}, {"actions", step.actions.size()}})});
    a.running = true;
    ++acting;
    Incident snapshot = inc;
    auto pb = a.playbook;
    auto lim = limits;
    pool.Post([this, snapshot, pb, lim] {
      try {
        RunStep(snapshot, pb, lim);
      } catch (const std::exception& e) {
        StepCrashed(snapshot.id, e.what());
      } catch (...) {
        StepCrashed(snapshot.id, "unknown exception");
      }
    });
  }

  // A step job threw: count it, free its slot and fail the incident instead of losing the agent.
  void StepCrashed(const std::string& id, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    ++internal_errors;
    spdlog::error("incident {}: step failed with an internal error: {}", id, what);
    auto it = active.find(id);
    if (it == active.end()) return;
    Active& a = it->second;
    if (!a.running) return;  // the step had already ended
    a.running = false;
    --acting;
    try {
      Close(a, IncidentState::kFailed, "internal error while running the step: " + what);
    } catch (const std::exception& e) {
      spdlog::error("incident {}: could not record the failure: {}", id, e.what());
    }
  }

  ActionSpec Resolve(ActionSpec spec) {
    if (spec.params.is_object() && spec.params.contains("pid") && spec.params["pid"] == "top_cpu") {
      spec.params["pid"] = TopCpuPid(proc_root);
    }
    return spec;
  }

  void RunStep(const Incident& inc, std::shared_ptr<const Playbook> pb,
               std::shared_ptr<const ActionLimits> lim) {
    const PlaybookStep& step = pb->steps[static_cast<size_t>(inc.step)];
    bool all_ok = true;
    int failed = 0;
    for (size_t i = 0; i < step.actions.size(); ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        auto it = active.find(inc.id);
        if (it == active.end() || it->second.alert_resolved) break;
      }
      if (stopping) {  // the agent stops: the step stays "acting" and is resumed at start
        std::lock_guard<std::mutex> lock(mu);
        --acting;
        if (auto it = active.find(inc.id); it != active.end()) it->second.running = false;
        return;
      }
      ActionSpec spec = step.actions[i];
      if (spec.name.empty()) spec.name = spec.type;
      auto row = store->ActionStarted(inc, static_cast<int>(i), spec, inc.dry_run, Now());
      if (!row.ok()) {
        // Not recorded, so not run: an unrecorded action could run twice after a crash.
        std::lock_guard<std::mutex> lock(mu);
        ++store_errors;
        spdlog::error("incident {}: not running {}: {}", inc.id, spec.name,
                      row.status().ToString());
        all_ok = false;
        ++failed;
        continue;
      }
      if (spec.params.is_object() && spec.params.contains("pid") &&
          spec.params["pid"] == "top_cpu") {
        spec = Resolve(std::move(spec));
      }
      ActionContext ctx;
      ctx.incident_id = inc.id;
      ctx.alertname = inc.alertname;
      ctx.severity = inc.severity;
      ctx.labels = inc.labels;
      ctx.value = inc.value;
      ctx.dry_run = inc.dry_run;
      ctx.limits = lim.get();
      ctx.store = series;
      ctx.clock = clock;
      ActionResult r;
      try {
        r = runner(spec, ctx);
      } catch (const std::exception& e) {
        r.ok = false;
        r.error = std::string("action threw: ") + e.what();
      }
      if (r.type.empty()) r.type = spec.type;
      if (r.name.empty()) r.name = spec.name;
      if (inc.dry_run) r.dry_run = true;
      Status s;
      try {
        s = store->ActionFinished(*row, inc.id, inc.step, r, Now());
      } catch (const std::exception& e) {
        s = Status::Internal(std::string("recording the action result failed: ") + e.what());
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok()) {
        ++store_errors;
        spdlog::error("incident {}: {}", inc.id, s.ToString());
      }
      actions_total[{spec.type, r.dry_run ? "dry_run" : (r.ok ? "ok" : "failed")}]++;
      spdlog::info("incident {}: {} {}: {}", inc.id, spec.name, r.ok ? "done" : "failed",
                   r.ok ? r.summary : r.error);
      if (!r.ok) {
        all_ok = false;
        ++failed;
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    --acting;
    auto it = active.find(inc.id);
    if (it == active.end()) return;
    Active& a = it->second;
    a.running = false;
    FinishStep(a, all_ok, failed);
  }

  void FinishStep(Active& a, bool all_ok, int failed) {
    Incident& inc = a.inc;
    const PlaybookStep& step = a.playbook->steps[static_cast<size_t>(inc.step)];
    if (a.alert_resolved) {
      Close(a, IncidentState::kResolved, "alert resolved");
      return;
    }
    if (!all_ok && step.escalate_on_failure) {
      Escalate(a, fmt::format("step {} failed ({} action(s) failed)", inc.step + 1, failed));
      return;
    }
    inc.state = IncidentState::kVerifying;
    inc.verify_deadline_ms = Now() + step.verify_after_ms;
    inc.reason = fmt::format("waiting for the alert to resolve after {}", step.name);
    Persist(
        inc,
        {Event(inc, "step_finished",
               fmt::format("step {} finished ({}); verifying for {} s", inc.step + 1,
                           all_ok ? "all actions ok" : fmt::format("{} action(s) failed", failed),
                           step.verify_after_ms / 1000),
               {{"ok", all_ok},
                {"failed_actions", failed},
                {"verify_until", Seconds(inc.verify_deadline_ms)}})});
  }

  void Escalate(Active& a, const std::string& why) {
    Incident& inc = a.inc;
    const EscalationPolicy& policy = a.playbook->escalation;
    if (policy.levels.empty()) {
      Close(a, IncidentState::kFailed, why + "; no escalation levels configured");
      return;
    }
    inc.state = IncidentState::kEscalated;
    inc.escalated_ms = Now();
    inc.escalation_level = 0;
    inc.escalation_round = 0;
    inc.next_escalation_ms = Now() + policy.levels[0].delay_ms;
    inc.reason = why;
    Persist(inc,
            {Event(inc, "escalated", "escalated: " + why, {{"levels", policy.levels.size()}})});
    SendDueEscalation(a, Now());
  }

  void SendDueEscalation(Active& a, int64_t now) {
    Incident& inc = a.inc;
    const EscalationPolicy& policy = a.playbook->escalation;
    if (inc.acked_ms > 0 || policy.levels.empty() || now < inc.next_escalation_ms) return;
    if (HoldIfMuted(a, MutedNow())) return;
    const size_t level = static_cast<size_t>(inc.escalation_level) % policy.levels.size();
    const EscalationLevel& l = policy.levels[level];
    const int round = inc.escalation_round;
    // Advance before sending, so a slow notifier never causes a double send.
    if (level + 1 < policy.levels.size()) {
      inc.escalation_level = static_cast<int>(level + 1);
      inc.next_escalation_ms = now + policy.levels[level + 1].delay_ms;
    } else {
      inc.escalation_level = 0;
      inc.escalation_round = round + 1;
      inc.next_escalation_ms = now + policy.repeat_interval_ms + policy.levels[0].delay_ms;
    }
    std::string targets;
    for (const auto& n : l.notifiers) targets += (targets.empty() ? "" : ", ") + n;
    if (targets.empty()) targets = "every notifier";
    if (!Persist(
            inc,
            {Event(inc, "escalation_sent",
                   fmt::format("escalation level {}/{} (round {}) to {}", level + 1,
                               policy.levels.size(), round + 1, targets),
                   {{"level", level + 1}, {"round", round + 1}, {"notifiers", l.notifiers}})})) {
      return;
    }
    ++escalations_total;
    EscalationMessage m;
    m.alert.id = inc.alert_id;
    m.alert.rule = inc.alertname;
    m.alert.labels = inc.labels;
    m.alert.severity = SeverityFrom(inc.severity);
    m.alert.value = inc.value;
    m.alert.message = fmt::format("[{}] incident {} escalated (level {}): {} could not resolve {}",
                                  inc.priority, inc.id, level + 1, inc.playbook, inc.alertname);
    m.alert.timestamp_ms = now;
    m.annotations = {{"summary", m.alert.message},
                     {"description", inc.reason + (inc.summary.empty() ? "" : "; " + inc.summary)},
                     {"incident_id", inc.id},
                     {"incident_state", IncidentStateName(inc.state)},
                     {"priority", inc.priority},
                     {"playbook", inc.playbook},
                     {"escalation_level", std::to_string(level + 1)},
                     {"escalation_round", std::to_string(round + 1)}};
    if (!send_escalation) return;
    const std::string id = inc.id;
    const int step = inc.step;
    auto notifiers = l.notifiers;
    pool.Post([this, id, step, notifiers, m, level, round] {
      Status s;
      try {
        s = send_escalation(notifiers, m);
      } catch (const std::exception& e) {
        s = Status::Internal(e.what());
      }
      IncidentEvent e;
      e.incident_id = id;
      e.at_ms = Now();
      e.step = step;
      e.kind = s.ok() ? "escalation_delivered" : "escalation_failed";
      e.message =
          s.ok() ? fmt::format("escalation level {} delivered", level + 1)
                 : fmt::format("escalation level {} not delivered: {}", level + 1, s.message());
      e.detail = {{"level", level + 1}, {"round", round + 1}};
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok()) ++escalation_failures;
      auto it = active.find(id);
      Incident snapshot;
      if (it != active.end()) {
        snapshot = it->second.inc;
      } else if (auto got = store->Get(id); got.ok() && got->has_value()) {
        snapshot = **got;
      } else {
        return;
      }
      Persist(snapshot, {e});
      if (it != active.end()) it->second.inc.updated_ms = snapshot.updated_ms;
    });
  }

  // What mutes each active alert now (fingerprint -> "silence <id>" / "maintenance window ..").
  std::map<std::string, std::string> MutedNow() const {
    if (!muted_alerts) return {};
    try {
      return muted_alerts();
    } catch (const std::exception& e) {
      spdlog::error("incidents: cannot read the muted alerts: {}", e.what());
      return {};
    }
  }

  // Holds a's incident while its alert is muted (records "suppressed" once per muting), and
  // records "unsuppressed" when the mute ended. Returns true while held.
  bool HoldIfMuted(Active& a, const std::map<std::string, std::string>& muted) {
    Incident& inc = a.inc;
    auto m = muted.find(inc.fingerprint);
    if (m != muted.end()) {
      if (a.muted_by != m->second) {
        a.muted_by = m->second;
        suppressed_total["silenced"]++;
        Persist(inc, {Event(inc, "suppressed",
                            fmt::format("suppressed: silenced by {}; no step or escalation runs "
                                        "until it ends",
                                        m->second),
                            {{"silenced_by", m->second}})});
      }
      return true;
    }
    if (!a.muted_by.empty()) {
      Persist(inc, {Event(inc, "unsuppressed",
                          fmt::format("no longer silenced by {}; the response goes on", a.muted_by),
                          {{"silenced_by", a.muted_by}})});
      a.muted_by.clear();
    }
    return false;
  }

  void TickLocked(int64_t now) {
    if (!started) return;
    std::optional<std::map<std::string, std::string>> muted_cache;
    auto muted = [&]() -> const std::map<std::string, std::string>& {
      if (!muted_cache) muted_cache = MutedNow();
      return *muted_cache;
    };
    std::optional<std::set<std::string>> firing;
    bool asked = false;
    auto alert_active = [&](const std::string& fp) -> bool {
      if (!asked) {
        asked = true;
        if (active_fingerprints) firing = active_fingerprints();
      }
      return !firing || firing->count(fp) > 0;
    };
    // Alerts held back by a cooldown or the hourly cap: retry while they keep firing.
    for (auto it = deferred.begin(); it != deferred.end();) {
      if (!enabled || by_fp.count(it->first) || !alert_active(it->first)) {
        it = deferred.erase(it);
        continue;
      }
      if (muted().count(it->first)) {  // silenced meanwhile: keep it, retry once unmuted
        ++it;
        continue;
      }
      Alert alert = it->second;
      std::string fp = it->first;
      ++it;
      HandleFiring(alert, fp);
    }
    std::vector<std::string> ids;
    for (const auto& [id, a] : active) ids.push_back(id);
    for (const auto& id : ids) {
      auto it = active.find(id);
      if (it == active.end()) continue;
      Active& a = it->second;
      Incident& inc = a.inc;
      if (!a.running && inc.state != IncidentState::kActing && HoldIfMuted(a, muted())) {
        // Held while muted; it still resolves when its alert does.
        if (!alert_active(inc.fingerprint))
          Close(a, IncidentState::kResolved, "alert no longer active");
        continue;
      }
      switch (inc.state) {
        case IncidentState::kOpen:
          if (!a.running && acting < max_concurrent) StartStep(a);
          break;
        case IncidentState::kVerifying:
          if (now < inc.verify_deadline_ms) break;
          if (!alert_active(inc.fingerprint)) {
            Close(a, IncidentState::kResolved, "alert no longer active");
            break;
          }
          if (static_cast<size_t>(inc.step) + 1 < a.playbook->steps.size()) {
            ++inc.step;
            inc.state = IncidentState::kOpen;
            inc.reason = "alert still firing; next step waits for a free slot";
            Persist(inc, {Event(inc, "verify_failed",
                                fmt::format("alert still firing after step {}", inc.step))});
            if (acting < max_concurrent) StartStep(a);
          } else {
            Persist(
                inc,
                {Event(inc, "verify_failed",
                       fmt::format("alert still firing after step {} (the last)", inc.step + 1))});
            Escalate(a, "alert still firing after every step");
          }
          break;
        case IncidentState::kEscalated:
          if (!alert_active(inc.fingerprint)) {
            Close(a, IncidentState::kResolved, "alert no longer active");
            break;
          }
          SendDueEscalation(a, now);
          break;
        default:
          break;
      }
    }
  }
};

IncidentManager::IncidentManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

IncidentManager::~IncidentManager() { Stop(); }

Result<std::unique_ptr<IncidentManager>> IncidentManager::Create(IncidentManagerOptions o) {
  auto d = std::make_unique<Impl>();
  d->clock = o.clock ? o.clock : SystemClock::Get();
  auto store = IncidentStore::Open(o.db_path);
  if (!store.ok()) return store.status();
  d->store = std::move(store).value();
  d->runner = o.runner ? std::move(o.runner) : ActionRunner(&RunAction);
  d->send_escalation = std::move(o.send_escalation);
  d->active_fingerprints = std::move(o.active_fingerprints);
  d->muted_alerts = std::move(o.muted_alerts);
  d->series = o.store;
  d->proc_root = o.proc_root;
  for (auto& p : o.playbooks)
    d->playbooks.push_back(std::make_shared<const Playbook>(std::move(p)));
  d->enabled = o.enabled;
  d->dry_run = o.dry_run;
  d->max_concurrent = std::max(1, o.max_concurrent);
  d->limits = std::make_shared<const ActionLimits>(std::move(o.limits));
  auto max_id = d->store->MaxId();
  if (!max_id.ok()) return max_id.status();
  d->max_id = *max_id;
  return std::unique_ptr<IncidentManager>(new IncidentManager(std::move(d)));
}

Status IncidentManager::Start() {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  if (d.started) return Status::Ok();
  const int64_t now = d.Now();
  auto interrupted = d.store->MarkUnfinishedInterrupted(now);
  if (!interrupted.ok()) return interrupted.status();
  for (const auto& a : *interrupted) {
    spdlog::warn("incident {}: action {} was interrupted by a stop; it is not run again",
                 a.incident_id, a.name);
  }
  auto loaded = d.store->LoadActive();
  if (!loaded.ok()) return loaded.status();
  d.active.clear();  // the database is the truth (also when started again after Stop)
  d.by_fp.clear();
  d.acting = 0;
  for (auto& inc : *loaded) {
    Impl::Active a;
    a.inc = inc;
    a.playbook = d.FindPlaybook(inc.playbook);
    d.by_fp[inc.fingerprint] = inc.id;
    auto& slot = d.active.emplace(inc.id, std::move(a)).first->second;
    if (!slot.playbook) {
      d.Close(slot, IncidentState::kFailed,
              "playbook " + inc.playbook + " is no longer configured (after a restart)");
      continue;
    }
    Incident& i = slot.inc;
    if (static_cast<size_t>(i.step) >= slot.playbook->steps.size()) {
      i.step = static_cast<int>(slot.playbook->steps.size()) - 1;
    }
    std::vector<IncidentEvent> events;
    if (i.state == IncidentState::kActing) {
      // Some of this step's actions may have run: never run them again; verify instead.
      auto actions = d.store->Actions(i.id);
      bool any = false;
      if (actions.ok()) {
        for (const auto& r : *actions) any = any || r.step == i.step;
      }
      if (any) {
        const auto& step = slot.playbook->steps[static_cast<size_t>(i.step)];
        i.state = IncidentState::kVerifying;
        i.verify_deadline_ms = now + step.verify_after_ms;
        i.reason = "resumed after a restart; the interrupted step is not repeated";
        events.push_back(d.Event(i, "resumed",
                                 fmt::format("resumed after a restart: step {} was interrupted "
                                             "and is not repeated; verifying",
                                             i.step + 1)));
      } else {
        i.state = IncidentState::kOpen;
        i.reason = "resumed after a restart; the step had not started any action";
        events.push_back(
            d.Event(i, "resumed",
                    fmt::format("resumed after a restart: step {} had not started; it runs now",
                                i.step + 1)));
      }
    } else {
      events.push_back(
          d.Event(i, "resumed",
                  fmt::format("resumed after a restart in state {}", IncidentStateName(i.state))));
    }
    d.Persist(i, std::move(events));
  }
  d.pool.Start(static_cast<size_t>(d.max_concurrent) + 1);
  d.started = true;
  return Status::Ok();
}

void IncidentManager::Stop() {
  Impl& d = *impl_;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (!d.started) return;
    d.started = false;
    d.stopping = true;
  }
  d.pool.Stop();
  std::lock_guard<std::mutex> lock(d.mu);
  d.stopping = false;
  // Steps dropped from the queue are resumed at the next start, from the database.
  for (auto& [id, a] : d.active) {
    if (a.running) --d.acting;
    a.running = false;
  }
}

void IncidentManager::OnAlert(const Alert& alert) {
  Impl& d = *impl_;
  core::Labels labels;
  for (const auto& [k, v] : alert.labels) labels.Set(k, v);
  const std::string fp = alert::AlertTracker::Fingerprint(alert.rule, labels);
  std::lock_guard<std::mutex> lock(d.mu);
  if (alert.resolved) {
    d.deferred.erase(fp);
    auto it = d.by_fp.find(fp);
    if (it == d.by_fp.end()) return;
    Impl::Active& a = d.active.at(it->second);
    if (a.running) {
      a.alert_resolved = true;
      d.Persist(a.inc,
                {d.Event(a.inc, "alert_resolved",
                         "alert resolved; the running step stops after its current action")});
      return;
    }
    d.Close(a, IncidentState::kResolved, "alert resolved", {{"value", alert.value}});
    return;
  }
  if (!d.enabled) return;
  if (!d.started) {
    // Not started (before Start(), after Stop() or a failed Start()): open nothing now; the
    // first Tick() after Start() retries it if it is still firing.
    if (!d.by_fp.count(fp)) d.deferred[fp] = alert;
    return;
  }
  d.HandleFiring(alert, fp);
  d.TickLocked(d.Now());
}

void IncidentManager::Tick(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->TickLocked(now_ms);
}

Status IncidentManager::Acknowledge(const std::string& id, const std::string& by) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.active.find(id);
  if (it == d.active.end()) {
    auto got = d.store->Get(id);
    if (got.ok() && got->has_value()) {
      return Status::InvalidArgument("incident " + id + " is already " +
                                     IncidentStateName((*got)->state));
    }
    return Status::NotFound("no incident " + id);
  }
  Incident& inc = it->second.inc;
  if (inc.acked_ms > 0) return Status::Ok();
  inc.acked_ms = d.Now();
  inc.acked_by = by.empty() ? "api" : by;
  if (!d.Persist(inc, {d.Event(inc, "acknowledged",
                               "acknowledged by " + inc.acked_by + "; escalation stops",
                               {{"by", inc.acked_by}})})) {
    inc.acked_ms = 0;
    return Status::IoError("could not record the acknowledgement");
  }
  return Status::Ok();
}

void IncidentManager::Reconfigure(std::vector<Playbook> playbooks, bool enabled, bool dry_run,
                                  int max_concurrent, ActionLimits limits) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  d.playbooks.clear();
  for (auto& p : playbooks) d.playbooks.push_back(std::make_shared<const Playbook>(std::move(p)));
  d.enabled = enabled;
  d.dry_run = dry_run;
  d.max_concurrent = std::max(1, max_concurrent);
  d.limits = std::make_shared<const ActionLimits>(std::move(limits));
  if (d.started) d.pool.Start(static_cast<size_t>(d.max_concurrent) + 1);
}

json IncidentToJson(const Incident& i, int64_t now_ms, size_t steps) {
  const bool closed = IsClosed(i.state);
  return {
      {"id", i.id},
      {"state", IncidentStateName(i.state)},
      {"priority", i.priority},
      {"playbook", i.playbook},
      {"alertname", i.alertname},
      {"severity", i.severity},
      {"labels", i.labels},
      {"value", std::isfinite(i.value) ? json(i.value) : json()},
      {"summary", i.summary},
      {"fingerprint", i.fingerprint},
      {"alert_id", i.alert_id},
      {"dry_run", i.dry_run},
      {"step", i.step + 1},
      {"steps", steps},
      {"reason", i.reason},
      {"opened_at", Seconds(i.opened_ms)},
      {"updated_at", Seconds(i.updated_ms)},
      {"closed_at", TimeOrNull(i.closed_ms)},
      {"duration_seconds", Seconds((closed ? i.closed_ms : now_ms) - i.opened_ms)},
      {"verify_until",
       i.state == IncidentState::kVerifying ? TimeOrNull(i.verify_deadline_ms) : json()},
      {"acknowledged", i.acked_ms > 0},
      {"acknowledged_at", TimeOrNull(i.acked_ms)},
      {"acknowledged_by", i.acked_ms > 0 ? json(i.acked_by) : json()},
      {"escalated", i.escalated_ms > 0},
      {"escalated_at", TimeOrNull(i.escalated_ms)},
      {"escalation",
       i.escalated_ms > 0
           ? json{{"next_level", i.escalation_level + 1},
                  {"round", i.escalation_round + 1},
                  {"next_at", closed || i.acked_ms > 0 ? json() : TimeOrNull(i.next_escalation_ms)}}
           : json()}};
}

json IncidentManager::ListJson(const std::string& state, size_t limit) const {
  const Impl& d = *impl_;
  auto list = d.store->List(state, limit);
  json out = json::array();
  if (!list.ok()) return out;
  std::lock_guard<std::mutex> lock(d.mu);
  for (const auto& i : *list) {
    auto pb = d.FindPlaybook(i.playbook);
    auto a = d.active.find(i.id);
    if (a != d.active.end()) pb = a->second.playbook;
    out.push_back(IncidentToJson(i, d.Now(), pb ? pb->steps.size() : 0));
  }
  return out;
}

Result<json> IncidentManager::IncidentJson(const std::string& id) const {
  const Impl& d = *impl_;
  auto got = d.store->Get(id);
  if (!got.ok()) return got.status();
  if (!got->has_value()) return Status::NotFound("no incident " + id);
  const Incident& i = **got;
  size_t steps = 0;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    auto pb = d.FindPlaybook(i.playbook);
    auto a = d.active.find(i.id);
    if (a != d.active.end()) pb = a->second.playbook;
    steps = pb ? pb->steps.size() : 0;
  }
  json out = IncidentToJson(i, d.Now(), steps);
  json timeline = json::array();
  if (auto events = d.store->Events(id); events.ok()) {
    for (const auto& e : *events) {
      timeline.push_back({{"at", Seconds(e.at_ms)},
                          {"kind", e.kind},
                          {"step", e.step + 1},
                          {"message", e.message},
                          {"detail", e.detail}});
    }
  }
  json actions = json::array();
  if (auto rows = d.store->Actions(id); rows.ok()) {
    for (const auto& r : *rows) {
      actions.push_back({{"id", r.id},
                         {"step", r.step + 1},
                         {"index", r.index + 1},
                         {"type", r.type},
                         {"name", r.name},
                         {"state", r.state},
                         {"ok", r.ok},
                         {"dry_run", r.dry_run},
                         {"started_at", Seconds(r.started_ms)},
                         {"finished_at", TimeOrNull(r.finished_ms)},
                         {"result", r.result}});
    }
  }
  out["timeline"] = std::move(timeline);
  out["actions"] = std::move(actions);
  return out;
}

json IncidentManager::StatsJson() const {
  const Impl& d = *impl_;
  auto all = d.store->All();
  auto actions = d.store->AllActions();
  struct Counts {
    uint64_t total = 0, active = 0, successful = 0, resolved = 0, failed = 0, escalated = 0,
             dry_run = 0;
    double resolve_ms_sum = 0;
    uint64_t resolve_n = 0;
    json ToJson() const {
      const uint64_t finished = total - active;
      return {
          {"total_responses", total},
          {"active_responses", active},
          {"successful_responses", successful},
          {"resolved_responses", resolved},
          {"failed_responses", failed},
          {"escalated_responses", escalated},
          {"dry_run_responses", dry_run},
          {"success_rate", finished ? static_cast<double>(successful) / finished : 0.0},
          {"mean_time_to_resolve_seconds",
           resolve_n ? json(resolve_ms_sum / 1000.0 / static_cast<double>(resolve_n)) : json()}};
    }
  };
  Counts total;
  std::map<std::string, Counts> by_playbook;
  std::map<std::string, uint64_t> by_priority, by_state;
  if (all.ok()) {
    for (const auto& i : *all) {
      for (Counts* c : {&total, &by_playbook[i.playbook]}) {
        ++c->total;
        if (!IsClosed(i.state)) ++c->active;
        if (i.state == IncidentState::kResolved) {
          ++c->resolved;
          if (i.escalated_ms == 0) ++c->successful;
          c->resolve_ms_sum += static_cast<double>(i.closed_ms - i.opened_ms);
          ++c->resolve_n;
        }
        if (i.state == IncidentState::kFailed) ++c->failed;
        if (i.escalated_ms > 0) ++c->escalated;
        if (i.dry_run) ++c->dry_run;
      }
      by_priority[i.priority]++;
      by_state[IncidentStateName(i.state)]++;
    }
  }
  struct ActionCounts {
    uint64_t runs = 0, succeeded = 0, failed = 0, dry_run = 0, interrupted = 0, bytes_freed = 0;
    double duration_ms = 0;
  };
  std::map<std::string, ActionCounts> by_action;
  if (actions.ok()) {
    for (const auto& r : *actions) {
      ActionCounts& c = by_action[r.type];
      ++c.runs;
      if (r.state == "interrupted") {
        ++c.interrupted;
      } else if (r.state == "finished") {
        if (r.dry_run) {
          ++c.dry_run;
        } else if (r.ok) {
          ++c.succeeded;
        } else {
          ++c.failed;
        }
      }
      if (r.result.is_object()) {
        if (!r.dry_run) c.bytes_freed += r.result.value("bytes_freed", uint64_t{0});
        c.duration_ms += r.result.value("duration_ms", 0.0);
      }
    }
  }
  json out = total.ToJson();
  json pb = json::object();
  for (const auto& [name, c] : by_playbook) pb[name] = c.ToJson();
  json ac = json::object();
  for (const auto& [type, c] : by_action) {
    const uint64_t real = c.succeeded + c.failed;
    ac[type] = {{"runs", c.runs},
                {"succeeded", c.succeeded},
                {"failed", c.failed},
                {"dry_run", c.dry_run},
                {"interrupted", c.interrupted},
                {"success_rate", real ? static_cast<double>(c.succeeded) / real : 0.0},
                {"mean_duration_ms", c.runs ? c.duration_ms / static_cast<double>(c.runs) : 0.0},
                {"bytes_freed", c.bytes_freed}};
  }
  out["by_playbook"] = std::move(pb);
  out["by_action"] = std::move(ac);
  out["by_priority"] = by_priority;
  out["by_state"] = by_state;
  std::lock_guard<std::mutex> lock(d.mu);
  out["suppressed"] = d.suppressed_total;
  out["enabled"] = d.enabled;
  out["dry_run"] = d.dry_run;
  out["max_concurrent"] = d.max_concurrent;
  out["acting_now"] = d.acting;
  json playbooks = json::array();
  for (const auto& p : d.playbooks) playbooks.push_back(p->name);
  out["playbooks"] = std::move(playbooks);
  return out;
}

void IncidentManager::AppendSelfMetrics(core::SampleBatch& out) const {
  const Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  std::map<std::string, int> by_state;
  for (auto s : {IncidentState::kOpen, IncidentState::kActing, IncidentState::kVerifying,
                 IncidentState::kEscalated}) {
    by_state[IncidentStateName(s)] = 0;
  }
  for (const auto& [id, a] : d.active) by_state[IncidentStateName(a.inc.state)]++;
  for (const auto& [state, n] : by_state) {
    out.push_back(core::Sample{"echomon_incidents_active", core::Labels{{"state", state}},
                               static_cast<double>(n), core::MetricType::kGauge,
                               "Incidents not yet closed, by state."});
  }
  out.push_back(core::Sample{"echomon_incidents_opened_total",
                             {},
                             static_cast<double>(d.opened_total),
                             core::MetricType::kCounter,
                             "Incidents opened since the agent started."});
  for (const char* s : {"resolved", "failed"}) {
    auto it = d.closed_total.find(s);
    out.push_back(core::Sample{"echomon_incidents_closed_total", core::Labels{{"state", s}},
                               it == d.closed_total.end() ? 0.0 : static_cast<double>(it->second),
                               core::MetricType::kCounter,
                               "Incidents closed since the agent started, by final state."});
  }
  for (const char* r : {"cooldown", "rate_limit", "silenced"}) {
    auto it = d.suppressed_total.find(r);
    out.push_back(core::Sample{
        "echomon_incidents_suppressed_total", core::Labels{{"reason", r}},
        it == d.suppressed_total.end() ? 0.0 : static_cast<double>(it->second),
        core::MetricType::kCounter, "Alerts or incidents held back by a guard or a silence."});
  }
  for (const auto& [key, n] : d.actions_total) {
    out.push_back(core::Sample{"echomon_incidents_actions_total",
                               core::Labels{{"type", key.first}, {"outcome", key.second}},
                               static_cast<double>(n), core::MetricType::kCounter,
                               "Incident actions run, by type and outcome."});
  }
  out.push_back(core::Sample{"echomon_incidents_escalations_total",
                             {},
                             static_cast<double>(d.escalations_total),
                             core::MetricType::kCounter,
                             "Escalation levels notified."});
  out.push_back(core::Sample{"echomon_incidents_escalation_failures_total",
                             {},
                             static_cast<double>(d.escalation_failures),
                             core::MetricType::kCounter,
                             "Escalation messages not delivered."});
  out.push_back(core::Sample{"echomon_incidents_store_errors_total",
                             {},
                             static_cast<double>(d.store_errors),
                             core::MetricType::kCounter,
                             "Incident records that could not be written to the database."});
  out.push_back(core::Sample{"echomon_incidents_internal_errors_total",
                             {},
                             static_cast<double>(d.internal_errors + d.pool.job_errors.load()),
                             core::MetricType::kCounter,
                             "Incident jobs that failed with an internal error (caught)."});
  out.push_back(core::Sample{"echomon_incidents_acting",
                             {},
                             static_cast<double>(d.acting),
                             core::MetricType::kGauge,
                             "Incidents running actions now."});
}

void IncidentManager::WaitIdle() { impl_->pool.WaitIdle(); }

}  // namespace echomon::respond
