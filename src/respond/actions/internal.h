// Internals shared by the action implementations (not part of the public contract).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "respond/action.h"

namespace echomon::respond::internal {

using nlohmann::json;

// Reading parameters: each returns false and fills *error ("params.argv: expected a list of
// strings") when the parameter is present but of the wrong shape. Absent keeps *out.
bool ParamString(const json& p, const char* key, std::string* out, std::string* error);
bool ParamStringList(const json& p, const char* key, std::vector<std::string>* out,
                     std::string* error);
bool ParamStringMap(const json& p, const char* key, std::map<std::string, std::string>* out,
                    std::string* error);
bool ParamInt(const json& p, const char* key, int64_t lo, int64_t hi, int64_t* out,
              std::string* error);
bool ParamDouble(const json& p, const char* key, double lo, double hi, double* out,
                 std::string* error);
bool ParamBool(const json& p, const char* key, bool* out, std::string* error);
// A duration: "24h", "90s" or a number of milliseconds.
bool ParamDuration(const json& p, const char* key, int64_t* out_ms, std::string* error);
// A size: "10MiB" or a number of bytes.
bool ParamSize(const json& p, const char* key, uint64_t* out, std::string* error);
// Rejects keys not in allowed ("params.foo: unknown parameter (expected argv, env, ...)").
bool OnlyKeys(const json& p, const std::vector<std::string>& allowed, std::string* error);

// "12.0 MiB".
std::string HumanBytes(uint64_t bytes);

int64_t NowMs(const ActionContext& c);
int64_t MonoMs();

// The timeout an action runs under: the spec's, capped by the limits (at least 1 ms).
int64_t EffectiveTimeoutMs(const ActionSpec& spec, const ActionLimits& limits);

// Appends text to out keeping at most cap bytes; sets *truncated when something was dropped.
// A cut never splits a UTF-8 sequence (the cut falls before the character's lead byte).
void AppendCapped(std::string* out, std::string_view text, size_t cap, bool* truncated);

// text as valid UTF-8: every byte that does not belong to a well-formed sequence (stray
// continuation bytes, truncated sequences, overlongs, surrogates, > U+10FFFF) becomes U+FFFD.
// Valid input is returned unchanged. Used for everything from outside (process output, /proc
// names, HTTP bodies, file names) before it enters an ActionResult.
std::string ValidUtf8(std::string_view text);
// j with every string (keys included) passed through ValidUtf8.
json ValidUtf8Json(const json& j);

// ---- processes ----
struct RunOptions {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // the complete environment
  std::string cwd;                         // empty: inherit
  std::string user;                        // empty: the agent's user
  int64_t timeout_ms = 30'000;
  size_t max_output = 64 * 1024;
};
struct RunOutcome {
  bool started = false;
  std::string error;  // why it could not start / was killed
  int exit_status = -1;
  int term_signal = 0;
  bool timed_out = false;
  std::string output;  // stdout and stderr interleaved
  bool truncated = false;
  int64_t duration_ms = 0;
};
// Runs argv without a shell in its own process group; on timeout the whole group is killed
// (SIGKILL). argv[0] without a slash is looked up in env's PATH. Thread-safe.
RunOutcome RunProcess(const RunOptions& options);

// The minimal environment actions run with: PATH, HOME, LANG of the agent (defaults when unset).
std::map<std::string, std::string> BaseEnvironment();

// Selectors shared by signal, renice and cpu_limit: pid, pids, pid_file, process (executable
// name), cgroup. Returns the selected pids (never 1, never the agent) or false with *error.
bool SelectProcesses(const json& p, const ActionLimits& limits, std::vector<int>* pids,
                     std::string* selection, std::string* error);
bool HasProcessSelector(const json& p);
extern const std::vector<std::string> kSelectorKeys;
// Checks the selector parameters' shapes (no process lookup).
bool ValidateSelectors(const json& p, std::string* error);
// Resolves a cgroup parameter to an absolute directory under limits.cgroup_root, rejecting
// "..". False with *error otherwise.
bool ResolveCgroup(const std::string& cgroup, const ActionLimits& limits, std::string* out,
                   std::string* error);
// comm of a pid (from /proc/<pid>/comm), empty when gone.
std::string ProcessName(const std::string& proc_root, int pid);

// ---- per type (each fills result; never throws) ----
void RunExec(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunSignal(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunRenice(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunCpuLimit(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunHttp(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunCleanup(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunRotateLogs(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunDropCaches(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunCompactMemory(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunTrimMemory(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunDiagnose(const ActionSpec& s, const ActionContext& c, ActionResult* r);
void RunRestart(const ActionSpec& s, const ActionContext& c, ActionResult* r);

// Validation per type: false with *error naming the parameter.
bool ValidateExec(const json& p, const ActionLimits& l, std::string* error);
bool ValidateSignal(const json& p, const ActionLimits& l, std::string* error);
bool ValidateRenice(const json& p, const ActionLimits& l, std::string* error);
bool ValidateCpuLimit(const json& p, const ActionLimits& l, std::string* error);
bool ValidateHttp(const json& p, const ActionLimits& l, std::string* error);
bool ValidateCleanup(const json& p, const ActionLimits& l, std::string* error);
bool ValidateRotateLogs(const json& p, const ActionLimits& l, std::string* error);
bool ValidateDropCaches(const json& p, const ActionLimits& l, std::string* error);
bool ValidateNoParams(const json& p, const ActionLimits& l, std::string* error);
bool ValidateDiagnose(const json& p, const ActionLimits& l, std::string* error);
bool ValidateRestart(const json& p, const ActionLimits& l, std::string* error);

// True when url starts with one of the allowed prefixes at a boundary and has no dot segments.
bool UrlAllowed(const std::string& url, const std::vector<std::string>& allow, std::string* why);

// A simple HTTP call used by http and restart (health polling).
struct HttpOutcome {
  bool ok = false;  // a response arrived
  int status = 0;
  std::string body;
  std::string error;
};
HttpOutcome HttpCall(const std::string& url, const std::string& method, const std::string& body,
                     const std::map<std::string, std::string>& headers, int64_t timeout_ms);

}  // namespace echomon::respond::internal
