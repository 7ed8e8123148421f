// Dispatch, validation and the shared parameter readers of the action library.
#include "respond/action.h"

#include <time.h>

#include <cmath>
#include <cstdio>
#include <exception>

#include "core/config.h"
#include "respond/actions/internal.h"

namespace echomon::respond {

const std::vector<std::string_view> kActionTypes = {
    "exec",        "signal",      "renice",         "cpu_limit",   "http",     "cleanup",
    "rotate_logs", "drop_caches", "compact_memory", "trim_memory", "diagnose", "restart"};

namespace internal {

namespace {
std::string Where(const char* key) { return std::string("params.") + key; }
}  // namespace

bool ParamString(const json& p, const char* key, std::string* out, std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  if (!v.is_string()) {
    *error = Where(key) + ": expected a string, got " + v.dump();
    return false;
  }
  std::string s = v.get<std::string>();
  if (s.find('\0') != std::string::npos) {
    *error = Where(key) + ": must not contain a NUL character";
    return false;
  }
  *out = std::move(s);
  return true;
}

bool ParamStringList(const json& p, const char* key, std::vector<std::string>* out,
                     std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  std::vector<std::string> items;
  if (v.is_string()) {
    items.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) {
        *error = Where(key) + "[" + std::to_string(i) + "]: expected a string, got " + v[i].dump();
        return false;
      }
      items.push_back(v[i].get<std::string>());
    }
  } else {
    *error = Where(key) + ": expected a list of strings, got " + v.dump();
    return false;
  }
  for (const auto& s : items) {
    if (s.find('\0') != std::string::npos) {
      *error = Where(key) + ": must not contain a NUL character";
      return false;
    }
  }
  *out = std::move(items);
  return true;
}

bool ParamStringMap(const json& p, const char* key, std::map<std::string, std::string>* out,
                    std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  if (!v.is_object()) {
    *error = Where(key) + ": expected a mapping of names to strings, got " + v.dump();
    return false;
  }
  std::map<std::string, std::string> m;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key().empty() || it.key().find_first_of(std::string("=\0", 2)) != std::string::npos) {
      *error = Where(key) + ": invalid name \"" + it.key() + "\"";
      return false;
    }
    if (it.value().is_string()) {
      m[it.key()] = it.value().get<std::string>();
    } else if (it.value().is_number() || it.value().is_boolean()) {
      m[it.key()] = it.value().dump();
    } else {
      *error = Where(key) + "." + it.key() + ": expected a string, got " + it.value().dump();
      return false;
    }
    if (m[it.key()].find('\0') != std::string::npos) {
      *error = Where(key) + "." + it.key() + ": must not contain a NUL character";
      return false;
    }
  }
  *out = std::move(m);
  return true;
}

bool ParamInt(const json& p, const char* key, int64_t lo, int64_t hi, int64_t* out,
              std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  double d = 0;
  if (v.is_number()) {
    d = v.get<double>();
  } else {
    *error = Where(key) + ": expected a whole number, got " + v.dump();
    return false;
  }
  if (d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    *error = Where(key) + ": must be a whole number between " + std::to_string(lo) + " and " +
             std::to_string(hi) + ", got " + v.dump();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ParamDouble(const json& p, const char* key, double lo, double hi, double* out,
                 std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo ||
      v.get<double>() > hi) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), ": expected a number between %g and %g, got ", lo, hi);
    *error = Where(key) + buf + v.dump();
    return false;
  }
  *out = v.get<double>();
  return true;
}

bool ParamBool(const json& p, const char* key, bool* out, std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  if (!v.is_boolean()) {
    *error = Where(key) + ": expected true or false, got " + v.dump();
    return false;
  }
  *out = v.get<bool>();
  return true;
}

bool ParamDuration(const json& p, const char* key, int64_t* out_ms, std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  int64_t ms = -1;
  if (v.is_number()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d >= 0 && d < 9e15) ms = static_cast<int64_t>(d);
  } else if (v.is_string()) {
    if (!core::ParseDurationMs(v.get<std::string>(), &ms)) ms = -1;
  }
  if (ms < 0) {
    *error = Where(key) + ": expected a duration like \"24h\" or milliseconds, got " + v.dump();
    return false;
  }
  *out_ms = ms;
  return true;
}

bool ParamSize(const json& p, const char* key, uint64_t* out, std::string* error) {
  if (!p.is_object() || !p.contains(key)) return true;
  const json& v = p[key];
  uint64_t bytes = 0;
  bool ok = false;
  if (v.is_number()) {
    double d = v.get<double>();
    ok = std::isfinite(d) && d >= 0 && d < 9e18;
    bytes = ok ? static_cast<uint64_t>(d) : 0;
  } else if (v.is_string()) {
    ok = core::ParseSizeBytes(v.get<std::string>(), &bytes);
  }
  if (!ok) {
    *error = Where(key) + ": expected a size like \"10MiB\" or bytes, got " + v.dump();
    return false;
  }
  *out = bytes;
  return true;
}

bool OnlyKeys(const json& p, const std::vector<std::string>& allowed, std::string* error) {
  if (p.is_null()) return true;
  if (!p.is_object()) {
    *error = "params: expected a mapping, got " + p.dump();
    return false;
  }
  for (auto it = p.begin(); it != p.end(); ++it) {
    bool known = false;
    for (const auto& a : allowed) known = known || a == it.key();
    if (!known) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      *error = "params." + it.key() + ": unknown parameter" +
               (list.empty() ? std::string(" (this action takes none)")
                             : " (expected one of " + list + ")");
      return false;
    }
  }
  return true;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

int64_t NowMs(const ActionContext& c) {
  if (c.clock) return c.clock->NowMillis();
  return SystemClock::Get()->NowMillis();
}

int64_t MonoMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int64_t EffectiveTimeoutMs(const ActionSpec& spec, const ActionLimits& limits) {
  int64_t t = spec.timeout_ms > 0 ? spec.timeout_ms : 30'000;
  if (limits.max_timeout_ms > 0 && t > limits.max_timeout_ms) t = limits.max_timeout_ms;
  return t < 1 ? 1 : t;
}

namespace {

// The length of the well-formed UTF-8 sequence at the start of s, or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t n = Utf8SequenceLength(text.substr(i));
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

json ValidUtf8Json(const json& j) {
  if (j.is_string()) return ValidUtf8(j.get_ref<const std::string&>());
  if (j.is_array()) {
    json a = json::array();
    for (const auto& v : j) a.push_back(ValidUtf8Json(v));
    return a;
  }
  if (j.is_object()) {
    json o = json::object();
    for (auto it = j.begin(); it != j.end(); ++it)
      o[ValidUtf8(it.key())] = ValidUtf8Json(it.value());
    return o;
  }
  return j;
}

void AppendCapped(std::string* out, std::string_view text, size_t cap, bool* truncated) {
  if (out->size() >= cap) {
    if (!text.empty()) *truncated = true;
    return;
  }
  size_t room = cap - out->size();
  if (text.size() > room) {
    // Back up to the lead byte of the character the cut would split (at most 3 bytes).
    size_t cut = room;
    for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80;
         ++k) {
      --cut;
    }
    if ((static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut = room;  // not UTF-8 anyway
    out->append(text.substr(0, cut));
    *truncated = true;
  } else {
    out->append(text);
  }
}

bool ValidateNoParams(const json& p, const ActionLimits&, std::string* error) {
  return OnlyKeys(p, {}, error);
}

}  // namespace internal

namespace {

using internal::json;

struct TypeEntry {
  std::string_view type;
  bool (*validate)(const json&, const ActionLimits&, std::string*);
  void (*run)(const ActionSpec&, const ActionContext&, ActionResult*);
};

const TypeEntry kTypes[] = {
    {"exec", internal::ValidateExec, internal::RunExec},
    {"signal", internal::ValidateSignal, internal::RunSignal},
    {"renice", internal::ValidateRenice, internal::RunRenice},
    {"cpu_limit", internal::ValidateCpuLimit, internal::RunCpuLimit},
    {"http", internal::ValidateHttp, internal::RunHttp},
    {"cleanup", internal::ValidateCleanup, internal::RunCleanup},
    {"rotate_logs", internal::ValidateRotateLogs, internal::RunRotateLogs},
    {"drop_caches", internal::ValidateDropCaches, internal::RunDropCaches},
    {"compact_memory", internal::ValidateNoParams, internal::RunCompactMemory},
    {"trim_memory", internal::ValidateNoParams, internal::RunTrimMemory},
    {"diagnose", internal::ValidateDiagnose, internal::RunDiagnose},
    {"restart", internal::ValidateRestart, internal::RunRestart},
};

const TypeEntry* FindType(const std::string& type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

std::string TypeList() {
  std::string list;
  for (const auto& t : kTypes) list += (list.empty() ? "" : ", ") + std::string(t.type);
  return list;
}

}  // namespace

nlohmann::json ActionResult::ToJson() const {
  // Every string passes through ValidUtf8 so that dump() never throws on what a process, a file
  // name or /proc handed us.
  using internal::ValidUtf8;
  std::vector<std::string> argv;
  for (const auto& a : command) argv.push_back(ValidUtf8(a));
  nlohmann::json j = {{"type", ValidUtf8(type)},
                      {"name", ValidUtf8(name)},
                      {"ok", ok},
                      {"dry_run", dry_run},
                      {"summary", ValidUtf8(summary)},
                      {"error", ValidUtf8(error)},
                      {"command", argv},
                      {"exit_status", exit_status},
                      {"started_ms", started_ms},
                      {"duration_ms", duration_ms},
                      {"output", ValidUtf8(output)},
                      {"output_truncated", output_truncated},
                      {"bytes_freed", bytes_freed},
                      {"files_touched", files_touched},
                      {"pids", pids},
                      {"details", internal::ValidUtf8Json(details)}};
  return j;
}

ActionResult ActionResult::FromJson(const nlohmann::json& j) {
  ActionResult r;
  if (!j.is_object()) return r;
  auto str = [&](const char* k, std::string* out) {
    if (j.contains(k) && j[k].is_string()) *out = j[k].get<std::string>();
  };
  auto boolean = [&](const char* k, bool* out) {
    if (j.contains(k) && j[k].is_boolean()) *out = j[k].get<bool>();
  };
  str("type", &r.type);
  str("name", &r.name);
  boolean("ok", &r.ok);
  boolean("dry_run", &r.dry_run);
  str("summary", &r.summary);
  str("error", &r.error);
  str("output", &r.output);
  boolean("output_truncated", &r.output_truncated);
  if (j.contains("command") && j["command"].is_array()) {
    for (const auto& c : j["command"]) {
      if (c.is_string()) r.command.push_back(c.get<std::string>());
    }
  }
  if (j.contains("exit_status") && j["exit_status"].is_number_integer()) {
    r.exit_status = j["exit_status"].get<int>();
  }
  if (j.contains("started_ms") && j["started_ms"].is_number()) {
    r.started_ms = j["started_ms"].get<int64_t>();
  }
  if (j.contains("duration_ms") && j["duration_ms"].is_number()) {
    r.duration_ms = j["duration_ms"].get<int64_t>();
  }
  if (j.contains("bytes_freed") && j["bytes_freed"].is_number_unsigned()) {
    r.bytes_freed = j["bytes_freed"].get<uint64_t>();
  }
  if (j.contains("files_touched") && j["files_touched"].is_number_unsigned()) {
    r.files_touched = j["files_touched"].get<uint64_t>();
  }
  if (j.contains("pids") && j["pids"].is_array()) {
    for (const auto& p : j["pids"]) {
      if (p.is_number_integer()) r.pids.push_back(p.get<int>());
    }
  }
  if (j.contains("details")) r.details = j["details"];
  return r;
}

ActionLimits ActionLimitsFromConfig(const core::Config& config) {
  ActionLimits l;
  const core::ActionsConfig& a = config.actions;
  if (a.writable_dirs_set) {
    l.writable_dirs = a.writable_dirs;
  } else if (!config.storage.data_dir.empty()) {
    const std::string& d = config.storage.data_dir;
    l.writable_dirs = {
        d + "/logs", d + "/reports",
        config.alerting.alert_dir.empty() ? d + "/alerts" : config.alerting.alert_dir};
  }
  l.http_allow = a.http_allow;
  for (const auto& [name, svc] : a.services) {
    ServiceSpec spec;
    spec.restart_command = svc.restart;
    spec.health_url = svc.health_url;
    spec.health_timeout_ms = svc.health_timeout_ms;
    l.services[name] = std::move(spec);
  }
  l.max_output_bytes = a.max_output_bytes;
  l.max_timeout_ms = a.max_timeout_ms;
  l.cgroup_root = a.cgroup_root;
  return l;
}

Status ValidateAction(const ActionSpec& spec, const ActionLimits& limits) {
  const TypeEntry* t = FindType(spec.type);
  if (t == nullptr) {
    return Status::InvalidArgument("type: unknown action type \"" + spec.type +
                                   "\" (expected one of " + TypeList() + ")");
  }
  if (spec.timeout_ms <= 0) {
    return Status::InvalidArgument("timeout: must be positive, got " +
                                   std::to_string(spec.timeout_ms) + " ms");
  }
  if (!spec.params.is_null() && !spec.params.is_object()) {
    return Status::InvalidArgument("params: expected a mapping, got " + spec.params.dump());
  }
  std::string error;
  try {
    if (!t->validate(spec.params.is_null() ? json::object() : spec.params, limits, &error)) {
      return Status::InvalidArgument(spec.type + ": " + error);
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(spec.type + ": " + e.what());
  }
  return Status::Ok();
}

ActionResult RunAction(const ActionSpec& spec, const ActionContext& context) {
  ActionResult r;
  r.type = spec.type;
  r.name = spec.name.empty() ? spec.type : spec.name;
  r.dry_run = context.dry_run;
  r.started_ms = internal::NowMs(context);
  int64_t start = internal::MonoMs();
  static const ActionLimits kDefaultLimits;
  const ActionLimits& limits = context.limits ? *context.limits : kDefaultLimits;
  Status valid = ValidateAction(spec, limits);
  if (!valid.ok()) {
    r.error = valid.message();
    r.summary = "invalid action: " + valid.message();
    r.duration_ms = internal::MonoMs() - start;
    return r;
  }
  ActionContext ctx = context;
  ctx.limits = &limits;
  ActionSpec normalized = spec;
  if (normalized.params.is_null()) normalized.params = json::object();
  try {
    FindType(spec.type)->run(normalized, ctx, &r);
  } catch (const std::exception& e) {
    r.ok = false;
    r.error = std::string("internal error: ") + e.what();
  } catch (...) {
    r.ok = false;
    r.error = "internal error";
  }
  if (!r.ok && r.error.empty()) r.error = "failed";
  if (r.ok) r.error.clear();
  if (r.summary.empty()) r.summary = r.ok ? "ok" : r.error;
  r.duration_ms = internal::MonoMs() - start;
  return r;
}

}  // namespace echomon::respond
