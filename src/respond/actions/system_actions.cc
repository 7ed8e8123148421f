// drop_caches, compact_memory, trim_memory, diagnose and restart.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/labels.h"
#include "respond/actions/internal.h"

namespace echomon::respond::internal {
namespace {

// Writes text to a sysctl file; false with a reason naming the file and strerror.
bool WriteSysctl(const std::string& path, const std::string& text, std::string* why) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot open " + path + ": " + std::strerror(errno) +
           (errno == EACCES || errno == EROFS || errno == EPERM
                ? " (needs root with a writable /proc/sys, not a read-only container mount)"
                : "");
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    *why = "cannot write \"" + text + "\" to " + path + ": " + std::strerror(e);
    return false;
  }
  return true;
}

// Why a write to path would fail (empty when it would probably succeed).
std::string WouldFail(const std::string& path) {
  if (::access(path.c_str(), W_OK) == 0) return {};
  return std::string(std::strerror(errno));
}

uint64_t SelfRssBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

struct ProcSample {
  int pid = 0;
  std::string comm;
  uint64_t cpu_ticks = 0;
  uint64_t rss_bytes = 0;
  uint64_t start_ticks = 0;
};

std::vector<ProcSample> SampleProcesses(const std::string& proc_root) {
  std::vector<ProcSample> out;
  DIR* d = ::opendir(proc_root.c_str());
  if (d == nullptr) return out;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<int> pids;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && pid > 0) pids.push_back(static_cast<int>(pid));
  }
  ::closedir(d);
  for (int pid : pids) {
    std::ifstream in(proc_root + "/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    size_t open = stat.find('(');
    size_t close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    ProcSample s;
    s.pid = pid;
    // The kernel truncates comm to 15 bytes, possibly inside a multi-byte character.
    s.comm = ValidUtf8(stat.substr(open + 1, close - open - 1));
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (rest >> x && f.size() < 25) f.push_back(x);
    // f[0] is field 3 (state); utime 14, stime 15, starttime 22, rss 24.
    if (f.size() < 22) continue;
    s.cpu_ticks =
        std::strtoull(f[11].c_str(), nullptr, 10) + std::strtoull(f[12].c_str(), nullptr, 10);
    s.start_ticks = std::strtoull(f[19].c_str(), nullptr, 10);
    s.rss_bytes = std::strtoull(f[21].c_str(), nullptr, 10) * page;
    out.push_back(std::move(s));
  }
  return out;
}

double UptimeSeconds(const std::string& proc_root) {
  std::ifstream in(proc_root + "/uptime");
  double up = 0;
  in >> up;
  return up;
}

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::istringstream in(p);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) {
    size_t a = cell.find_first_not_of(' ');
    size_t b = cell.find_last_not_of(" \r");
    out.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
  }
  return out;
}

}  // namespace

// ---- drop_caches / compact_memory ----

bool ValidateDropCaches(const json& p, const ActionLimits&, std::string* error) {
  if (!OnlyKeys(p, {"value"}, error)) return false;
  int64_t v = 1;
  return ParamInt(p, "value", 1, 3, &v, error);
}

void RunDropCaches(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  int64_t value = 1;
  std::string error;
  ParamInt(s.params, "value", 1, 3, &value, &error);
  std::string path = c.limits->vm_sysctl_dir + "/drop_caches";
  static const char* kWhat[] = {"", "page cache", "dentries and inodes",
                                "page cache, dentries and inodes"};
  r->details = {{"path", path}, {"value", value}};
  if (c.dry_run) {
    std::string why = WouldFail(path);
    r->ok = true;
    r->summary = "would write " + std::to_string(value) + " to " + path + " (drop " + kWhat[value] +
                 ")" + (why.empty() ? "" : "; it would fail: " + why);
    return;
  }
  ::sync();
  if (!WriteSysctl(path, std::to_string(value), &r->error)) return;
  r->ok = true;
  r->summary = std::string("dropped ") + kWhat[value];
}

void RunCompactMemory(const ActionSpec&, const ActionContext& c, ActionResult* r) {
  std::string path = c.limits->vm_sysctl_dir + "/compact_memory";
  r->details = {{"path", path}};
  if (c.dry_run) {
    std::string why = WouldFail(path);
    r->ok = true;
    r->summary = "would write 1 to " + path + (why.empty() ? "" : "; it would fail: " + why);
    return;
  }
  if (!WriteSysctl(path, "1", &r->error)) return;
  r->ok = true;
  r->summary = "compacted memory";
}

// ---- trim_memory ----

void RunTrimMemory(const ActionSpec&, const ActionContext& c, ActionResult* r) {
  uint64_t before = SelfRssBytes();
  r->details = {{"rss_before_bytes", before}};
  if (c.dry_run) {
    r->ok = true;
    r->summary = "would return free heap to the OS (RSS now " + HumanBytes(before) + ")";
    return;
  }
  int released = ::malloc_trim(0);
  uint64_t after = SelfRssBytes();
  r->details["rss_after_bytes"] = after;
  r->details["released"] = released == 1;
  r->bytes_freed = before > after ? before - after : 0;
  r->ok = true;
  r->summary = "RSS " + HumanBytes(before) + " -> " + HumanBytes(after);
}

// ---- diagnose ----

bool ValidateDiagnose(const json& p, const ActionLimits&, std::string* error) {
  if (!OnlyKeys(p, {"top", "sample", "metrics", "metric", "window", "gpu"}, error)) return false;
  int64_t top = 0, sample = 0, window = 0;
  std::vector<std::string> metrics;
  std::string metric;
  bool gpu = true;
  if (!ParamInt(p, "top", 1, 100, &top, error) || !ParamDuration(p, "sample", &sample, error) ||
      !ParamDuration(p, "window", &window, error) ||
      !ParamStringList(p, "metrics", &metrics, error) ||
      !ParamString(p, "metric", &metric, error) || !ParamBool(p, "gpu", &gpu, error)) {
    return false;
  }
  if (sample > 5000) {
    *error = "params.sample: must be at most 5s, got " + p["sample"].dump();
    return false;
  }
  for (const auto& m : metrics) {
    if (!core::IsValidMetricName(m)) {
      *error = "params.metrics: \"" + m + "\" is not a valid metric name";
      return false;
    }
  }
  if (!metric.empty() && !core::IsValidMetricName(metric)) {
    *error = "params.metric: \"" + metric + "\" is not a valid metric name";
    return false;
  }
  return true;
}

void RunDiagnose(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  const json& p = s.params;
  std::string error;
  int64_t top = 5, sample = 250, window = 10 * 60 * 1000;
  std::vector<std::string> metrics;
  std::string metric;
  bool gpu = true;
  ParamInt(p, "top", 1, 100, &top, &error);
  ParamDuration(p, "sample", &sample, &error);
  ParamDuration(p, "window", &window, &error);
  ParamStringList(p, "metrics", &metrics, &error);
  ParamString(p, "metric", &metric, &error);
  ParamBool(p, "gpu", &gpu, &error);
  if (metrics.empty() && metric.empty()) {
    auto it = c.labels.find("metric");
    if (it != c.labels.end() && core::IsValidMetricName(it->second)) metric = it->second;
  }
  // Diagnose only reads, so a dry run captures evidence as well.
  const std::string& proc = c.limits->proc_root;
  json d = json::object();

  // Processes: by CPU over a short interval (or since start when sample is 0), by RSS.
  std::vector<ProcSample> first = SampleProcesses(proc);
  std::map<int, double> cpu_percent;
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (sample > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(sample));
    std::vector<ProcSample> second = SampleProcesses(proc);
    std::map<int, ProcSample> before;
    for (auto& ps : first) before[ps.pid] = ps;
    for (const auto& ps : second) {
      auto it = before.find(ps.pid);
      if (it == before.end() || it->second.start_ticks != ps.start_ticks) continue;
      double ticks =
          static_cast<double>(ps.cpu_ticks - std::min(ps.cpu_ticks, it->second.cpu_ticks));
      cpu_percent[ps.pid] = 100.0 * ticks / hz / (static_cast<double>(sample) / 1000.0);
    }
    first = std::move(second);
    d["cpu_basis"] = "interval of " + std::to_string(sample) + " ms";
  } else {
    double up = UptimeSeconds(proc);
    for (const auto& ps : first) {
      double age = up - static_cast<double>(ps.start_ticks) / hz;
      if (age > 0) cpu_percent[ps.pid] = 100.0 * static_cast<double>(ps.cpu_ticks) / hz / age;
    }
    d["cpu_basis"] = "average since each process started";
  }
  std::vector<ProcSample> by_cpu = first;
  std::sort(by_cpu.begin(), by_cpu.end(), [&](const ProcSample& a, const ProcSample& b) {
    return cpu_percent[a.pid] > cpu_percent[b.pid];
  });
  json top_cpu = json::array();
  for (size_t i = 0; i < by_cpu.size() && static_cast<int64_t>(i) < top; ++i) {
    top_cpu.push_back({{"pid", by_cpu[i].pid},
                       {"comm", by_cpu[i].comm},
                       {"cpu_percent", std::round(cpu_percent[by_cpu[i].pid] * 10) / 10},
                       {"rss_bytes", by_cpu[i].rss_bytes}});
  }
  std::vector<ProcSample> by_rss = first;
  std::sort(by_rss.begin(), by_rss.end(),
            [](const ProcSample& a, const ProcSample& b) { return a.rss_bytes > b.rss_bytes; });
  json top_mem = json::array();
  for (size_t i = 0; i < by_rss.size() && static_cast<int64_t>(i) < top; ++i) {
    top_mem.push_back({{"pid", by_rss[i].pid},
                       {"comm", by_rss[i].comm},
                       {"rss_bytes", by_rss[i].rss_bytes},
                       {"cpu_percent", std::round(cpu_percent[by_rss[i].pid] * 10) / 10}});
  }
  d["top_cpu"] = top_cpu;
  d["top_memory"] = top_mem;
  d["process_count"] = first.size();
  {
    std::ifstream in(proc + "/loadavg");
    double l1 = 0, l5 = 0, l15 = 0;
    if (in >> l1 >> l5 >> l15) d["loadavg"] = {l1, l5, l15};
  }

  // GPU processes, when nvidia-smi exists.
  if (gpu) {
    std::string smi = FindInPath("nvidia-smi");
    if (smi.empty()) {
      d["gpu_processes"] = nullptr;
      d["gpu_note"] = "nvidia-smi not found";
    } else {
      RunOptions o;
      o.argv = {smi, "--query-compute-apps=pid,process_name,used_memory,gpu_uuid",
                "--format=csv,noheader,nounits"};
      o.env = BaseEnvironment();
      o.timeout_ms = std::min<int64_t>(5000, EffectiveTimeoutMs(s, *c.limits));
      RunOutcome out = RunProcess(o);
      json gp = json::array();
      if (out.started && out.exit_status == 0) {
        std::istringstream in(out.output);
        std::string line;
        while (std::getline(in, line)) {
          auto cells = SplitCsvLine(line);
          if (cells.size() < 3) continue;
          gp.push_back({{"pid", std::atoi(cells[0].c_str())},
                        {"process_name", cells[1]},
                        {"used_memory_mib", std::atof(cells[2].c_str())},
                        {"gpu_uuid", cells.size() > 3 ? cells[3] : ""}});
        }
        d["gpu_processes"] = gp;
      } else {
        d["gpu_processes"] = nullptr;
        d["gpu_note"] =
            "nvidia-smi failed: " +
            (out.error.empty() ? "exit status " + std::to_string(out.exit_status) : out.error);
      }
    }
  }

  // Recent values of the alert's series and the engine's state, from the store.
  if (c.store != nullptr) {
    int64_t now = NowMs(c);
    json series = json::array();
    auto add_series = [&](const store::SeriesInfo& info) {
      if (series.size() >= 20) return;
      auto points = c.store->Range(info.id, now - window, now);
      if (!points.ok()) return;
      json pts = json::array();
      size_t n = points->size();
      size_t from = n > 60 ? n - 60 : 0;
      for (size_t i = from; i < n; ++i) pts.push_back({(*points)[i].t_ms, (*points)[i].v});
      json labels = json::object();
      for (const auto& l : info.labels.items()) labels[l.name] = l.value;
      series.push_back({{"metric", info.name}, {"labels", labels}, {"points", pts}});
    };
    if (!metrics.empty()) {
      for (const auto& m : metrics) {
        for (const auto& info : c.store->Select(m, {})) add_series(info);
      }
    } else if (!metric.empty()) {
      // The series of that metric whose labels agree with the alert's labels.
      for (const auto& info : c.store->Select(metric, {})) {
        bool match = true;
        for (const auto& l : info.labels.items()) {
          auto it = c.labels.find(l.name);
          if (it != c.labels.end() && it->second != l.value) match = false;
        }
        if (match) add_series(info);
      }
    }
    d["series"] = series;
    json engine = json::array();
    for (const auto& info : c.store->Select("", {})) {
      if (info.name.rfind("echomon_engine_", 0) != 0 || engine.size() >= 100) continue;
      auto latest = c.store->Latest(info.id);
      if (!latest) continue;
      json labels = json::object();
      for (const auto& l : info.labels.items()) labels[l.name] = l.value;
      engine.push_back({{"metric", info.name},
                        {"labels", labels},
                        {"t_ms", latest->t_ms},
                        {"value", std::isfinite(latest->v) ? json(latest->v) : json(nullptr)}});
    }
    d["engine"] = engine;
  }
  r->details = d;
  r->ok = true;
  std::string top_name = by_cpu.empty()
                             ? std::string("none")
                             : by_cpu[0].comm + " (" + std::to_string(by_cpu[0].pid) + ")";
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%zu processes; top CPU %s %.1f%%", first.size(),
                top_name.c_str(), by_cpu.empty() ? 0.0 : cpu_percent[by_cpu[0].pid]);
  r->summary = buf;
  if (d.contains("series")) r->summary += "; " + std::to_string(d["series"].size()) + " series";
  if (d.contains("gpu_processes") && d["gpu_processes"].is_array()) {
    r->summary += "; " + std::to_string(d["gpu_processes"].size()) + " GPU process(es)";
  }
}

// ---- restart ----

bool ValidateRestart(const json& p, const ActionLimits& l, std::string* error) {
  if (!OnlyKeys(p, {"service"}, error)) return false;
  std::string service;
  if (!ParamString(p, "service", &service, error)) return false;
  if (service.empty()) {
    *error = "params.service: needs the name of a service configured under actions.services";
    return false;
  }
  auto it = l.services.find(service);
  if (it == l.services.end()) {
    std::string list;
    for (const auto& [name, spec] : l.services) list += (list.empty() ? "" : ", ") + name;
    *error = "params.service: \"" + service + "\" is not configured under actions.services (" +
             (list.empty() ? std::string("none configured") : list) + ")";
    return false;
  }
  if (it->second.restart_command.empty()) {
    *error = "params.service: \"" + service + "\" has no restart command";
    return false;
  }
  return true;
}

void RunRestart(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  const std::string service = s.params["service"].get<std::string>();
  const ServiceSpec& spec = c.limits->services.at(service);
  r->command = spec.restart_command;
  r->details = {{"service", service}, {"health_url", spec.health_url}};
  if (c.dry_run) {
    std::string cmd;
    for (const auto& a : spec.restart_command) cmd += (cmd.empty() ? "" : " ") + a;
    r->ok = true;
    r->summary = "would restart " + service + " with " + cmd +
                 (spec.health_url.empty() ? "" : " and wait for " + spec.health_url);
    return;
  }
  RunOptions o;
  o.argv = spec.restart_command;
  o.env = BaseEnvironment();
  o.env["ECHOMON_SERVICE"] = service;
  o.env["ECHOMON_INCIDENT_ID"] = c.incident_id;
  o.timeout_ms = EffectiveTimeoutMs(s, *c.limits);
  o.max_output = c.limits->max_output_bytes;
  RunOutcome out = RunProcess(o);
  r->output = out.output;
  r->output_truncated = out.truncated;
  r->exit_status = out.exit_status;
  if (!out.started || out.timed_out) {
    r->error = "restart command: " + out.error;
    return;
  }
  if (out.exit_status != 0) {
    r->error = "restart command exited with status " + std::to_string(out.exit_status) +
               (out.term_signal ? " (signal " + std::to_string(out.term_signal) + ")" : "");
    return;
  }
  if (spec.health_url.empty()) {
    r->ok = true;
    r->summary = "restarted " + service + " (no health URL configured)";
    return;
  }
  int64_t start = MonoMs();
  int64_t deadline = start + std::max<int64_t>(1, spec.health_timeout_ms);
  int attempts = 0;
  HttpOutcome last;
  while (true) {
    ++attempts;
    int64_t left = deadline - MonoMs();
    last = HttpCall(spec.health_url, "GET", "", {}, std::clamp<int64_t>(left, 1, 5000));
    if (last.ok && last.status >= 200 && last.status < 300) break;
    if (MonoMs() + 250 >= deadline) {
      r->details["health_attempts"] = attempts;
      r->error = "restarted " + service + " but " + spec.health_url +
                 " did not answer 2xx within " + std::to_string(spec.health_timeout_ms) +
                 " ms (last: " + (last.ok ? "status " + std::to_string(last.status) : last.error) +
                 ")";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  r->details["health_attempts"] = attempts;
  r->details["healthy_after_ms"] = MonoMs() - start;
  r->ok = true;
  r->summary =
      "restarted " + service + "; healthy after " + std::to_string(MonoMs() - start) + " ms";
}

}  // namespace echomon::respond::internal
