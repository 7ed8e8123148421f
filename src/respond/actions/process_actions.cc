// exec, signal, renice and cpu_limit, and the process selectors they share.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "respond/actions/internal.h"

namespace echomon::respond::internal {
namespace {

std::string ReadSmallFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  if (!in) return {};
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (s.size() > 1 << 20) s.resize(1 << 20);
  return s;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool ParsePid(const std::string& text, int* pid) {
  std::string t = Trimmed(text);
  if (t.empty() || t.size() > 10) return false;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
  }
  long v = std::strtol(t.c_str(), nullptr, 10);
  if (v <= 0 || v > 4'194'304) return false;
  *pid = static_cast<int>(v);
  return true;
}

std::vector<int> AllPids(const std::string& proc_root) {
  std::vector<int> pids;
  DIR* d = ::opendir(proc_root.c_str());
  if (d == nullptr) return pids;
  while (dirent* e = ::readdir(d)) {
    int pid = 0;
    if (ParsePid(e->d_name, &pid)) pids.push_back(pid);
  }
  ::closedir(d);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::string ExeBase(const std::string& proc_root, int pid) {
  char buf[4096];
  std::string link = proc_root + "/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  std::string target(buf, static_cast<size_t>(n));
  const std::string kDeleted = " (deleted)";
  if (target.size() > kDeleted.size() &&
      target.compare(target.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    target.resize(target.size() - kDeleted.size());
  }
  size_t slash = target.rfind('/');
  return slash == std::string::npos ? target : target.substr(slash + 1);
}

struct SignalName {
  const char* name;
  int number;
};
const SignalName kSignals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
                               {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
                               {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
                               {"TSTP", SIGTSTP}, {"ABRT", SIGABRT}, {"ALRM", SIGALRM}};

bool ParseSignal(const json& p, int* sig, std::string* name, std::string* error) {
  *sig = SIGTERM;
  *name = "TERM";
  if (!p.contains("signal")) return true;
  const json& v = p["signal"];
  if (v.is_number_integer()) {
    int n = v.get<int>();
    for (const auto& s : kSignals) {
      if (s.number == n) {
        *sig = n;
        *name = s.name;
        return true;
      }
    }
  } else if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    for (const auto& k : kSignals) {
      if (s == k.name) {
        *sig = k.number;
        *name = k.name;
        return true;
      }
    }
  }
  std::string list;
  for (const auto& k : kSignals) list += (list.empty() ? "" : ", ") + std::string(k.name);
  *error = "params.signal: unknown signal " + v.dump() + " (expected one of " + list + ")";
  return false;
}

std::string PidList(const std::vector<int>& pids) {
  std::string s;
  for (size_t i = 0; i < pids.size() && i < 20; ++i) s += (i ? "," : "") + std::to_string(pids[i]);
  if (pids.size() > 20) s += ",...";
  return s;
}

// Nice value of a pid from /proc/<pid>/stat (field 19); false when unreadable.
bool ReadNice(const std::string& proc_root, int pid, int* nice) {
  bool ok = false;
  std::string stat = ReadSmallFile(proc_root + "/" + std::to_string(pid) + "/stat", &ok);
  size_t close = stat.rfind(')');
  if (!ok || close == std::string::npos) return false;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  // Fields after comm start at 3 (state); nice is field 19.
  for (int i = 3; i <= 19; ++i) {
    if (!(in >> field)) return false;
  }
  *nice = std::atoi(field.c_str());
  return true;
}

}  // namespace

const std::vector<std::string> kSelectorKeys = {"pid", "pids", "pid_file", "process", "cgroup"};

bool HasProcessSelector(const json& p) {
  for (const auto& k : kSelectorKeys) {
    if (p.is_object() && p.contains(k)) return true;
  }
  return false;
}

bool ValidateSelectors(const json& p, std::string* error) {
  if (!HasProcessSelector(p)) {
    *error = "params: needs a process selector (pid, pids, pid_file, process or cgroup)";
    return false;
  }
  int64_t pid = 0;
  if (!ParamInt(p, "pid", 2, 4'194'304, &pid, error)) return false;
  if (p.contains("pids")) {
    if (!p["pids"].is_array()) {
      *error = "params.pids: expected a list of process ids, got " + p["pids"].dump();
      return false;
    }
    for (size_t i = 0; i < p["pids"].size(); ++i) {
      const json& v = p["pids"][i];
      if (!v.is_number_integer() || v.get<int64_t>() < 2 || v.get<int64_t>() > 4'194'304) {
        *error = "params.pids[" + std::to_string(i) + "]: expected a process id above 1, got " +
                 v.dump();
        return false;
      }
    }
  }
  std::string s;
  if (!ParamString(p, "pid_file", &s, error)) return false;
  if (p.contains("pid_file") && (s.empty() || s[0] != '/')) {
    *error = "params.pid_file: must be an absolute path, got \"" + s + "\"";
    return false;
  }
  s.clear();
  if (!ParamString(p, "process", &s, error)) return false;
  if (p.contains("process") && (s.empty() || s.find('/') != std::string::npos)) {
    *error = "params.process: expected an executable name without '/', got \"" + s + "\"";
    return false;
  }
  s.clear();
  if (!ParamString(p, "cgroup", &s, error)) return false;
  if (p.contains("cgroup") && s.empty()) {
    *error = "params.cgroup: must not be empty";
    return false;
  }
  return true;
}

bool ResolveCgroup(const std::string& cgroup, const ActionLimits& limits, std::string* out,
                   std::string* error) {
  namespace fs = std::filesystem;
  fs::path root = fs::path(limits.cgroup_root).lexically_normal();
  fs::path p(cgroup);
  for (const auto& part : p) {
    if (part == "..") {
      *error = "params.cgroup: must not contain \"..\", got \"" + cgroup + "\"";
      return false;
    }
  }
  fs::path full = p.is_absolute() ? p.lexically_normal() : (root / p).lexically_normal();
  std::string r = root.string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  std::string f = full.string();
  while (f.size() > 1 && f.back() == '/') f.pop_back();
  if (f != r && f.rfind(r + "/", 0) != 0) {
    *error = "params.cgroup: \"" + cgroup + "\" is outside the cgroup root " + r;
    return false;
  }
  *out = f;
  return true;
}

std::string ProcessName(const std::string& proc_root, int pid) {
  bool ok = false;
  std::string comm = ReadSmallFile(proc_root + "/" + std::to_string(pid) + "/comm", &ok);
  return Trimmed(comm);
}

bool SelectProcesses(const json& p, const ActionLimits& limits, std::vector<int>* pids,
                     std::string* selection, std::string* error) {
  std::set<int> chosen;
  std::vector<std::string> what;
  const int self = static_cast<int>(::getpid());
  if (p.contains("pid")) {
    chosen.insert(p["pid"].get<int>());
    what.push_back("pid " + std::to_string(p["pid"].get<int>()));
  }
  if (p.contains("pids")) {
    for (const auto& v : p["pids"]) chosen.insert(v.get<int>());
    what.push_back("pids");
  }
  if (p.contains("pid_file")) {
    std::string path = p["pid_file"].get<std::string>();
    bool ok = false;
    std::string text = ReadSmallFile(path, &ok);
    int pid = 0;
    if (!ok) {
      *error = "params.pid_file: cannot read " + path + ": " + std::strerror(errno);
      return false;
    }
    if (!ParsePid(text, &pid)) {
      *error = "params.pid_file: " + path + " does not hold a process id";
      return false;
    }
    chosen.insert(pid);
    what.push_back("pid file " + path);
  }
  if (p.contains("process")) {
    std::string name = p["process"].get<std::string>();
    for (int pid : AllPids(limits.proc_root)) {
      // comm is truncated to 15 characters by the kernel; the exe basename is not.
      std::string comm = ProcessName(limits.proc_root, pid);
      if (comm == name || ExeBase(limits.proc_root, pid) == name) {
        chosen.insert(pid);
      }
    }
    what.push_back("process " + name);
  }
  if (p.contains("cgroup")) {
    std::string dir;
    if (!ResolveCgroup(p["cgroup"].get<std::string>(), limits, &dir, error)) return false;
    bool ok = false;
    std::string text = ReadSmallFile(dir + "/cgroup.procs", &ok);
    if (!ok) {
      *error = "params.cgroup: cannot read " + dir + "/cgroup.procs: " + std::strerror(errno);
      return false;
    }
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      int pid = 0;
      if (ParsePid(line, &pid)) chosen.insert(pid);
    }
    what.push_back("cgroup " + dir);
  }
  chosen.erase(1);
  chosen.erase(self);
  // Only processes that exist.
  pids->clear();
  for (int pid : chosen) {
    if (::kill(pid, 0) == 0 || errno == EPERM) pids->push_back(pid);
  }
  std::string s;
  for (const auto& w : what) s += (s.empty() ? "" : ", ") + w;
  *selection = s;
  return true;
}

// ---- exec ----

bool ValidateExec(const json& p, const ActionLimits&, std::string* error) {
  if (!OnlyKeys(p, {"argv", "env", "cwd", "user"}, error)) return false;
  std::vector<std::string> argv;
  if (!ParamStringList(p, "argv", &argv, error)) return false;
  if (argv.empty() || argv[0].empty()) {
    *error = "params.argv: needs the program and its arguments, e.g. [\"/usr/bin/true\"]";
    return false;
  }
  if (!p["argv"].is_array()) {
    *error = "params.argv: expected a list of strings (no shell is used), got " + p["argv"].dump();
    return false;
  }
  std::map<std::string, std::string> env;
  if (!ParamStringMap(p, "env", &env, error)) return false;
  std::string cwd, user;
  if (!ParamString(p, "cwd", &cwd, error) || !ParamString(p, "user", &user, error)) return false;
  if (p.contains("cwd") && (cwd.empty() || cwd[0] != '/')) {
    *error = "params.cwd: must be an absolute directory, got \"" + cwd + "\"";
    return false;
  }
  if (p.contains("user") && user.empty()) {
    *error = "params.user: must not be empty";
    return false;
  }
  return true;
}

std::string EnvName(const std::string& label) {
  std::string out;
  for (char c : label) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

void RunExec(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  const json& p = s.params;
  RunOptions o;
  std::string error;
  ParamStringList(p, "argv", &o.argv, &error);
  o.env = BaseEnvironment();
  for (const auto& [k, v] : c.labels) o.env["ECHOMON_LABEL_" + EnvName(k)] = v;
  o.env["ECHOMON_ALERTNAME"] = c.alertname;
  o.env["ECHOMON_SEVERITY"] = c.severity;
  char value[64];
  std::snprintf(value, sizeof(value), "%.17g", c.value);
  o.env["ECHOMON_VALUE"] = value;
  o.env["ECHOMON_INCIDENT_ID"] = c.incident_id;
  std::map<std::string, std::string> extra;
  ParamStringMap(p, "env", &extra, &error);
  for (const auto& [k, v] : extra) o.env[k] = v;
  ParamString(p, "cwd", &o.cwd, &error);
  ParamString(p, "user", &o.user, &error);
  o.timeout_ms = EffectiveTimeoutMs(s, *c.limits);
  o.max_output = c.limits->max_output_bytes;
  r->command = o.argv;
  if (c.dry_run) {
    r->ok = true;
    std::string cmd;
    for (const auto& a : o.argv) cmd += (cmd.empty() ? "" : " ") + a;
    r->summary = "would run " + cmd + (o.user.empty() ? "" : " as " + o.user) + " (timeout " +
                 std::to_string(o.timeout_ms) + " ms)";
    return;
  }
  RunOutcome out = RunProcess(o);
  r->output = std::move(out.output);
  r->output_truncated = out.truncated;
  r->exit_status = out.exit_status;
  r->details = {{"timed_out", out.timed_out}, {"signal", out.term_signal}};
  if (!out.started || out.timed_out) {
    r->error = out.error;
    return;
  }
  if (out.term_signal != 0) {
    r->error = "killed by signal " + std::to_string(out.term_signal);
    return;
  }
  r->ok = out.exit_status == 0;
  r->summary = o.argv[0] + " exited with status " + std::to_string(out.exit_status) + " in " +
               std::to_string(out.duration_ms) + " ms";
  if (!r->ok) r->error = r->summary;
}

// ---- signal ----

bool ValidateSignal(const json& p, const ActionLimits&, std::string* error) {
  std::vector<std::string> keys = kSelectorKeys;
  keys.push_back("signal");
  if (!OnlyKeys(p, keys, error) || !ValidateSelectors(p, error)) return false;
  int sig = 0;
  std::string name;
  return ParseSignal(p, &sig, &name, error);
}

void RunSignal(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  int sig = 0;
  std::string name;
  std::string error;
  ParseSignal(s.params, &sig, &name, &error);
  std::vector<int> pids;
  std::string selection;
  if (!SelectProcesses(s.params, *c.limits, &pids, &selection, &r->error)) return;
  r->details = {{"signal", "SIG" + name}, {"selection", selection}};
  if (pids.empty()) {
    r->error = "no process matched (" + selection + ")";
    return;
  }
  if (c.dry_run) {
    r->pids = pids;
    r->ok = true;
    r->summary = "would send SIG" + name + " to " + std::to_string(pids.size()) +
                 " process(es): " + PidList(pids);
    return;
  }
  std::vector<std::string> failures;
  for (int pid : pids) {
    if (::kill(pid, sig) == 0) {
      r->pids.push_back(pid);
    } else {
      failures.push_back(std::to_string(pid) + ": " + std::strerror(errno));
    }
  }
  r->ok = !r->pids.empty() && failures.empty();
  r->summary = "sent SIG" + name + " to " + std::to_string(r->pids.size()) +
               " process(es): " + PidList(r->pids);
  if (!failures.empty()) {
    r->error = "could not signal";
    for (const auto& f : failures) r->error += " " + f + ";";
  }
}

// ---- renice ----

bool ValidateRenice(const json& p, const ActionLimits&, std::string* error) {
  std::vector<std::string> keys = kSelectorKeys;
  keys.push_back("nice");
  if (!OnlyKeys(p, keys, error) || !ValidateSelectors(p, error)) return false;
  int64_t nice = 10;
  return ParamInt(p, "nice", -20, 19, &nice, error);
}

void RunRenice(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  int64_t nice = 10;
  std::string error;
  ParamInt(s.params, "nice", -20, 19, &nice, &error);
  std::vector<int> pids;
  std::string selection;
  if (!SelectProcesses(s.params, *c.limits, &pids, &selection, &r->error)) return;
  r->details = {{"nice", nice}, {"selection", selection}};
  if (pids.empty()) {
    r->error = "no process matched (" + selection + ")";
    return;
  }
  if (c.dry_run) {
    r->pids = pids;
    r->ok = true;
    r->summary = "would renice " + std::to_string(pids.size()) + " process(es) to " +
                 std::to_string(nice) + ": " + PidList(pids);
    return;
  }
  std::vector<std::string> failures;
  json before = json::object();
  for (int pid : pids) {
    int old = 0;
    if (ReadNice(c.limits->proc_root, pid, &old)) before[std::to_string(pid)] = old;
    // setpriority(PRIO_PROCESS) acts on one thread: renice every thread of the process.
    bool any = false;
    int last_errno = 0;
    std::string task_dir = c.limits->proc_root + "/" + std::to_string(pid) + "/task";
    std::vector<int> tids = AllPids(task_dir);
    if (tids.empty()) tids.push_back(pid);
    for (int tid : tids) {
      if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), static_cast<int>(nice)) == 0) {
        any = true;
      } else {
        last_errno = errno;
      }
    }
    if (any) {
      r->pids.push_back(pid);
    } else {
      failures.push_back(std::to_string(pid) + ": " + std::strerror(last_errno));
    }
  }
  r->details["nice_before"] = before;
  r->ok = !r->pids.empty() && failures.empty();
  r->summary = "reniced " + std::to_string(r->pids.size()) + " process(es) to " +
               std::to_string(nice) + ": " + PidList(r->pids);
  if (!failures.empty()) {
    r->error = "could not renice (lowering a nice value needs CAP_SYS_NICE)";
    for (const auto& f : failures) r->error += " " + f + ";";
  }
}

// ---- cpu_limit ----

bool ValidateCpuLimit(const json& p, const ActionLimits& l, std::string* error) {
  std::vector<std::string> keys = {"pid",  "pids",     "pid_file",  "process", "cgroup",
                                   "cpus", "quota_us", "period_us", "create"};
  if (!OnlyKeys(p, keys, error)) return false;
  std::string cg;
  if (!ParamString(p, "cgroup", &cg, error)) return false;
  if (cg.empty()) {
    *error =
        "params.cgroup: needs the cgroup v2 directory to limit (relative to " + l.cgroup_root + ")";
    return false;
  }
  std::string dir;
  if (!ResolveCgroup(cg, l, &dir, error)) return false;
  double cpus = 0;
  int64_t quota = 0, period = 100'000;
  if (!ParamDouble(p, "cpus", 0.001, 4096, &cpus, error) ||
      !ParamInt(p, "quota_us", 1000, 1'000'000'000'000LL, &quota, error) ||
      !ParamInt(p, "period_us", 1000, 1'000'000, &period, error)) {
    return false;
  }
  if (p.contains("cpus") == p.contains("quota_us")) {
    *error = "params: give exactly one of cpus (e.g. 0.5) or quota_us";
    return false;
  }
  bool create = false;
  if (!ParamBool(p, "create", &create, error)) return false;
  // pids to move: the selectors other than cgroup.
  json sel = json::object();
  for (const char* k : {"pid", "pids", "pid_file", "process"}) {
    if (p.contains(k)) sel[k] = p[k];
  }
  if (!sel.empty() && !ValidateSelectors(sel, error)) return false;
  return true;
}

void RunCpuLimit(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  const json& p = s.params;
  std::string error;
  std::string dir;
  ResolveCgroup(p["cgroup"].get<std::string>(), *c.limits, &dir, &error);
  int64_t period = 100'000;
  ParamInt(p, "period_us", 1000, 1'000'000, &period, &error);
  int64_t quota = 0;
  if (p.contains("cpus")) {
    quota = std::llround(p["cpus"].get<double>() * static_cast<double>(period));
    if (quota < 1000) quota = 1000;
  } else {
    ParamInt(p, "quota_us", 1000, 1'000'000'000'000LL, &quota, &error);
  }
  bool create = false;
  ParamBool(p, "create", &create, &error);
  json sel = json::object();
  for (const char* k : {"pid", "pids", "pid_file", "process"}) {
    if (p.contains(k)) sel[k] = p[k];
  }
  std::vector<int> pids;
  std::string selection;
  if (!sel.empty()) {
    if (!SelectProcesses(sel, *c.limits, &pids, &selection, &r->error)) return;
    if (pids.empty()) {
      r->error = "no process matched (" + selection + ")";
      return;
    }
  }
  std::string value = std::to_string(quota) + " " + std::to_string(period);
  r->details = {{"cgroup", dir}, {"cpu.max", value}};
  // Is it a cgroup v2 directory we can write?
  struct stat st {};
  bool exists = ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (!exists && !create) {
    r->error = "cgroup " + dir + " does not exist (set create: true to create it)";
    return;
  }
  if (exists && ::access((dir + "/cpu.max").c_str(), F_OK) != 0) {
    r->error = "no cpu.max in " + dir +
               " (not a cgroup v2 directory with the cpu controller enabled in its parent's "
               "cgroup.subtree_control)";
    return;
  }
  if (c.dry_run) {
    r->ok = true;
    r->pids = pids;
    r->summary = "would write cpu.max \"" + value + "\" in " + dir +
                 (pids.empty() ? ""
                               : " and move " + std::to_string(pids.size()) +
                                     " process(es): " + PidList(pids));
    return;
  }
  if (!exists) {
    if (::mkdir(dir.c_str(), 0755) != 0) {
      r->error = "cannot create cgroup " + dir + ": " + std::strerror(errno);
      return;
    }
    if (::access((dir + "/cpu.max").c_str(), F_OK) != 0) {
      ::rmdir(dir.c_str());
      r->error = "created " + dir + " but it has no cpu.max (cpu controller not enabled in " +
                 "the parent's cgroup.subtree_control); removed it again";
      return;
    }
  }
  auto write_file = [&](const std::string& path, const std::string& text) -> bool {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      r->error = "cannot open " + path + ": " + std::strerror(errno);
      return false;
    }
    ssize_t n = ::write(fd, text.data(), text.size());
    int e = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size())) {
      r->error = "cannot write \"" + text + "\" to " + path + ": " + std::strerror(e);
      return false;
    }
    return true;
  };
  if (!write_file(dir + "/cpu.max", value)) return;
  std::vector<std::string> failures;
  for (int pid : pids) {
    std::string e;
    if (write_file(dir + "/cgroup.procs", std::to_string(pid))) {
      r->pids.push_back(pid);
    } else {
      failures.push_back(r->error);
      r->error.clear();
    }
  }
  r->ok = failures.empty();
  r->summary = "set cpu.max \"" + value + "\" in " + dir +
               (pids.empty() ? ""
                             : "; moved " + std::to_string(r->pids.size()) +
                                   " process(es): " + PidList(r->pids));
  for (const auto& f : failures) r->error += (r->error.empty() ? "" : "; ") + f;
}

}  // namespace echomon::respond::internal
