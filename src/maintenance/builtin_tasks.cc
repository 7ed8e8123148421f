#include "maintenance/builtin_tasks.h"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace echomon::maintenance {
namespace {

using nlohmann::json;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDefaultTimeoutMs = 5 * 60'000;

// The default jitter: 1% of the period, at most 5 minutes.
int64_t DefaultJitter(const Schedule& s) {
  return std::min<int64_t>(s.TypicalPeriodMs() / 100, 5 * 60'000);
}

// The agent's own directories (those of an `actions:` section without writable_dirs).
std::vector<std::string> OwnDirs(const core::Config& config) {
  core::Config c = config;
  c.actions.writable_dirs_set = false;
  return respond::ActionLimitsFromConfig(c).writable_dirs;
}

// Those of dirs a cleanup may touch under limits.
std::vector<std::string> Writable(const std::vector<std::string>& dirs,
                                  const respond::ActionLimits& limits) {
  std::vector<std::string> out;
  for (const auto& d : dirs) {
    respond::ActionSpec probe{"cleanup", "", {{"dirs", {d}}, {"patterns", {"*"}}}, 1000};
    if (respond::ValidateAction(probe, limits).ok()) out.push_back(d);
  }
  return out;
}

std::string Where(const core::MaintenanceTaskConfig& t) {
  return "maintenance task '" + t.name + "'" +
         (t.line > 0 ? " (line " + std::to_string(t.line) + ")" : std::string());
}

bool WriteFileAtomically(const std::string& path, const std::string& text, std::string* why) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    *why = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()) || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *why = "cannot write " + path + ": " + std::strerror(n < 0 ? e : errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string> kBuiltinTasks = {"system_cleanup", "memory_optimization",
                                                "health_check", "log_rotation"};

void HealthReport::Set(int64_t checked_ms, std::map<std::string, bool> targets) {
  std::lock_guard<std::mutex> lock(mu_);
  checked_ms_ = checked_ms;
  targets_ = std::move(targets);
}

void HealthReport::AppendSelfMetrics(core::SampleBatch& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (checked_ms_ == 0) return;
  for (const auto& [target, ok] : targets_) {
    out.push_back({"echomon_maintenance_health_ok", core::Labels{{"target", target}},
                   ok ? 1.0 : 0.0, core::MetricType::kGauge,
                   "1 when the last health check found the target healthy (target: agent or a "
                   "configured health URL)."});
  }
  out.push_back({"echomon_maintenance_health_check_timestamp_seconds", core::Labels{},
                 static_cast<double>(checked_ms_) / 1000.0, core::MetricType::kGauge,
                 "When the last health check ran (Unix seconds)."});
}

TaskOutcome RunActions(const std::vector<respond::ActionSpec>& actions, bool dry_run,
                       const TaskDeps& deps, const TaskRunContext& context) {
  TaskOutcome out;
  out.ok = true;
  std::vector<std::string> summaries;
  std::vector<std::string> errors;
  for (const auto& a : actions) {
    respond::ActionSpec spec = a;
    int64_t left = context.remaining_ms ? context.remaining_ms() : spec.timeout_ms;
    spec.timeout_ms = std::max<int64_t>(1, std::min(spec.timeout_ms, left));
    respond::ActionContext ctx;
    ctx.limits = &deps.limits;
    ctx.store = deps.store;
    ctx.clock = deps.clock;
    ctx.dry_run = dry_run;
    ctx.alertname = "maintenance:" + context.task;
    respond::ActionResult r = respond::RunAction(spec, ctx);
    out.results.push_back(r.ToJson());
    summaries.push_back(r.name + ": " + r.summary);
    if (!r.ok) {
      out.ok = false;
      errors.push_back(r.name + ": " + r.error);
    }
  }
  for (const auto& s : summaries) out.summary += (out.summary.empty() ? "" : "; ") + s;
  for (const auto& e : errors) out.error += (out.error.empty() ? "" : "; ") + e;
  if (actions.empty()) out.summary = "no actions";
  return out;
}

TaskOutcome RunHealthCheck(const std::vector<std::string>& urls, const TaskDeps& deps,
                           const TaskRunContext& context) {
  TaskOutcome out;
  const int64_t now = deps.clock ? deps.clock->NowMillis() : SystemClock::Get()->NowMillis();
  json report = {{"checked", static_cast<double>(now) / 1000.0}};
  std::map<std::string, bool> targets;
  std::vector<std::string> problems;

  // The agent itself.
  json agent = {{"healthy", true}};
  if (deps.status) {
    json status = deps.status();
    bool monitoring = status.value("monitoring", false);
    std::vector<std::string> unhealthy;
    if (status.contains("collectors") && status["collectors"].is_array()) {
      for (const auto& c : status["collectors"]) {
        if (c.is_object() && !c.value("healthy", true)) {
          unhealthy.push_back(c.value("name", "?") + " (" + c.value("last_error", "") + ")");
        }
      }
    }
    bool healthy = monitoring && unhealthy.empty();
    agent = {{"healthy", healthy},
             {"monitoring", monitoring},
             {"unhealthy_collectors", unhealthy},
             {"uptime_seconds", status.value("uptime_seconds", 0.0)},
             {"version", status.value("version", "")}};
    if (status.contains("store")) agent["store"] = status["store"];
    if (status.contains("alerts")) agent["alerts"] = status["alerts"];
    if (!monitoring) problems.push_back("agent: not monitoring");
    for (const auto& u : unhealthy) problems.push_back("collector " + u);
  }
  targets["agent"] = agent["healthy"].get<bool>();
  report["agent"] = agent;

  json checks = json::array();
  for (const auto& url : urls) {
    respond::ActionSpec spec{
        "http",
        "health " + url,
        {{"url", url}, {"method", "GET"}},
        std::clamp<int64_t>(context.remaining_ms ? context.remaining_ms() : 5000, 1, 5000)};
    respond::ActionLimits limits = deps.limits;
    limits.http_allow = {url};  // the configured health URLs are allowed by definition
    respond::ActionContext ctx;
    ctx.limits = &limits;
    respond::ActionResult r = respond::RunAction(spec, ctx);
    json check = {{"url", url}, {"healthy", r.ok}, {"latency_ms", r.duration_ms}};
    if (r.exit_status > 0) check["status"] = r.exit_status;
    if (!r.ok) {
      check["error"] = r.error;
      problems.push_back(url + ": " + r.error);
    }
    targets[url] = r.ok;
    checks.push_back(check);
  }
  report["urls"] = checks;
  out.ok = problems.empty();
  report["healthy"] = out.ok;
  if (deps.health) deps.health->Set(now, targets);

  size_t healthy = 0;
  for (const auto& [t, ok] : targets) healthy += ok ? 1 : 0;
  out.summary =
      std::to_string(healthy) + "/" + std::to_string(targets.size()) + " target(s) healthy";
  if (!deps.data_dir.empty()) {
    std::string why;
    std::string path = deps.data_dir + "/health.json";
    if (WriteFileAtomically(path, report.dump(2) + "\n", &why)) {
      out.summary += "; wrote " + path;
    } else {
      out.ok = false;
      problems.push_back(why);
    }
  }
  for (const auto& p : problems) out.error += (out.error.empty() ? "" : "; ") + p;
  out.results = json::array({report});
  return out;
}

Result<std::vector<MaintenanceTask>> BuildTasks(const core::MaintenanceConfig& config,
                                                const TaskDeps& deps_in) {
  auto deps = std::make_shared<TaskDeps>(deps_in);
  std::vector<MaintenanceTask> tasks;
  std::map<std::string, const core::MaintenanceTaskConfig*> configured;
  for (const auto& t : config.tasks) configured[t.name] = &t;

  auto action_task = [&](std::vector<respond::ActionSpec> specs, bool dry_run) {
    return [deps, specs = std::move(specs), dry_run](const TaskRunContext& ctx) {
      return RunActions(specs, dry_run, *deps, ctx);
    };
  };
  auto actions_json = [](const std::vector<respond::ActionSpec>& specs) {
    json a = json::array();
    for (const auto& s : specs) {
      a.push_back({{"type", s.type},
                   {"name", s.name.empty() ? s.type : s.name},
                   {"params", s.params},
                   {"timeout_ms", s.timeout_ms}});
    }
    return a;
  };
  // Converts and validates a configured task's actions.
  auto convert = [&](const core::MaintenanceTaskConfig& t,
                     std::vector<respond::ActionSpec>* out) -> Status {
    for (size_t i = 0; i < t.actions.size(); ++i) {
      const auto& a = t.actions[i];
      respond::ActionSpec spec;
      spec.type = a.type;
      spec.name = a.name;
      spec.timeout_ms = a.timeout_ms;
      spec.params = json::parse(a.params_json, nullptr, false);
      if (spec.params.is_discarded()) spec.params = json::object();
      Status s = respond::ValidateAction(spec, deps->limits);
      if (!s.ok()) {
        return Status::InvalidArgument(
            Where(t) + ": actions[" + std::to_string(i) + "]" +
            (a.line > 0 ? " (line " + std::to_string(a.line) + ")" : std::string()) + ": " +
            s.message());
      }
      out->push_back(std::move(spec));
    }
    return Status::Ok();
  };
  // Applies schedule/jitter/timeout/enabled of a configured task.
  auto apply = [&](const core::MaintenanceTaskConfig& t, MaintenanceTask* task) -> Status {
    if (!t.schedule.empty()) {
      auto cron = CronExpression::Parse(t.schedule);
      if (!cron.ok()) {
        return Status::InvalidArgument(Where(t) + ": schedule: " + cron.status().message());
      }
      task->schedule = Schedule::Cron(std::move(cron.value()));
      task->jitter_ms = DefaultJitter(task->schedule);
    } else if (t.interval_ms > 0) {
      task->schedule = Schedule::Every(t.interval_ms);
      task->jitter_ms = DefaultJitter(task->schedule);
    }
    if (t.jitter_ms >= 0) task->jitter_ms = t.jitter_ms;
    if (t.timeout_ms > 0) task->timeout_ms = t.timeout_ms;
    task->enabled = t.enabled;
    task->dry_run = t.dry_run;
    return Status::Ok();
  };

  if (config.builtin_tasks) {
    const std::vector<std::string> own = Writable(OwnDirs(deps->config), deps->limits);
    std::vector<std::string> own_logs;
    for (const auto& d : own) {
      if (d == deps->config.storage.data_dir + "/logs") own_logs.push_back(d);
    }
    for (const auto& name : kBuiltinTasks) {
      MaintenanceTask task;
      task.name = name;
      task.builtin = true;
      task.timeout_ms = kDefaultTimeoutMs;
      std::vector<respond::ActionSpec> specs;
      if (name == "system_cleanup") {
        task.schedule = Schedule::Every(6 * kHour);
        task.description = "delete files older than 7 days in the agent's own directories";
        specs.push_back({"cleanup",
                         "cleanup own dirs",
                         {{"dirs", own}, {"patterns", {"*"}}, {"min_age", "7d"}},
                         2 * 60'000});
        if (own.empty()) {
          task.enabled = false;
          task.description += " (disabled: none of them is in actions.writable_dirs)";
        }
      } else if (name == "memory_optimization") {
        task.schedule = Schedule::Every(4 * kHour);
        task.description = "return the agent's free heap to the OS (malloc_trim)";
        specs.push_back({"trim_memory", "", json::object(), 10'000});
      } else if (name == "health_check") {
        task.schedule = Schedule::Every(kHour);
        task.description =
            "check the agent's own health and the configured health URLs; write " +
            (deps->data_dir.empty() ? std::string("health.json") : deps->data_dir + "/health.json");
        std::vector<std::string> urls = config.health_urls;
        task.run = [deps, urls](const TaskRunContext& ctx) {
          return RunHealthCheck(urls, *deps, ctx);
        };
        task.actions = json::array();
        for (const auto& u : urls)
          task.actions.push_back({{"type", "http"}, {"params", {{"url", u}}}});
      } else if (name == "log_rotation") {
        task.schedule = Schedule::Every(24 * kHour);
        task.description =
            "gzip-rotate *.log files over 10 MiB in the agent's log directory, keep 5";
        specs.push_back(
            {"rotate_logs",
             "rotate agent logs",
             {{"dirs", own_logs}, {"patterns", {"*.log"}}, {"max_size", "10MiB"}, {"keep", 5}},
             5 * 60'000});
        if (own_logs.empty()) {
          task.enabled = false;
          task.description += " (disabled: the log directory is not in actions.writable_dirs)";
        }
      }
      task.jitter_ms = DefaultJitter(task.schedule);
      auto it = configured.find(name);
      if (it != configured.end()) {
        Status s = apply(*it->second, &task);
        if (!s.ok()) return s;
        if (it->second->actions_set) {
          specs.clear();
          Status c = convert(*it->second, &specs);
          if (!c.ok()) return c;
          task.run = nullptr;
          task.description = "configured actions (replacing the built-in " + name + ")";
        }
      }
      if (!task.run) {
        task.actions = actions_json(specs);
        task.run = action_task(specs, task.dry_run);
      }
      tasks.push_back(std::move(task));
    }
  }
  std::set<std::string> builtin(kBuiltinTasks.begin(), kBuiltinTasks.end());
  for (const auto& t : config.tasks) {
    if (builtin.count(t.name)) {
      if (!config.builtin_tasks) {
        return Status::InvalidArgument(Where(t) +
                                       ": names a built-in task, but "
                                       "maintenance.builtin_tasks is false");
      }
      continue;
    }
    MaintenanceTask task;
    task.name = t.name;
    task.timeout_ms = kDefaultTimeoutMs;
    if (t.schedule.empty() && t.interval_ms <= 0) {
      return Status::InvalidArgument(Where(t) + ": needs a schedule (cron) or an interval");
    }
    if (t.actions.empty()) return Status::InvalidArgument(Where(t) + ": needs actions");
    Status s = apply(t, &task);
    if (!s.ok()) return s;
    std::vector<respond::ActionSpec> specs;
    Status c = convert(t, &specs);
    if (!c.ok()) return c;
    task.description = "configured task";
    task.actions = actions_json(specs);
    task.run = action_task(specs, task.dry_run);
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace echomon::maintenance
