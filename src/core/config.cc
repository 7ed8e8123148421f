// Configuration loader: yaml-cpp parses the text (JSON is read as the YAML subset it is), then
// a table-driven walk over the known sections converts and validates each value. Every problem
// becomes a ConfigError with the 1-based line and column of the offending node; nothing throws
// out of this file.
#include "core/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "core/labels.h"

namespace echomon::core {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStringSource = "<string>";
// Larger files are refused before parsing: a configuration is a few kilobytes.
constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr int64_t kMinIntervalMs = 100;
constexpr int64_t kMaxIntervalMs = 3600 * 1000;
constexpr uint64_t kMinMemoryBytes = 1 << 20;
// Durations and sizes are computed in double; beyond 2^53 they would lose precision.
constexpr double kMaxExact = 9007199254740992.0;

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
// Sections that later components will read; accepted now (with a warning) so a configuration
// written for a newer echomon still loads.
// One per line: each component removes its own line when it starts reading the section.
// clang-format off
constexpr std::string_view kReservedSections[] = {
    "silences",
};
// clang-format on
constexpr std::string_view kRuleKinds[] = {"threshold", "trend",    "degradation",
                                           "forecast",  "baseline", "anomaly"};
constexpr std::string_view kAggregations[] = {"last", "avg", "min", "max", "rate", "quantile"};
constexpr std::string_view kSeverities[] = {"info", "warning", "critical"};
constexpr std::string_view kNotifierTypes[] = {"log", "file", "webhook", "alertmanager", "program"};
constexpr std::string_view kWeekdays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                          "thursday", "friday", "saturday"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Reads an unsigned decimal "12", "1.5" or ".5" from the front of *s; false if none is there.
bool ConsumeDecimal(std::string_view* s, double* out) {
  size_t i = 0;
  size_t digits = 0;
  while (i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9') ++i, ++digits;
  if (i < s->size() && (*s)[i] == '.') {
    ++i;
    while (i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + i, *out);
  if (ec != std::errc() || ptr != s->data() + i || !std::isfinite(*out)) return false;
  s->remove_prefix(i);
  return true;
}

std::string_view ConsumeLetters(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() &&
         (((*s)[i] >= 'a' && (*s)[i] <= 'z') || ((*s)[i] >= 'A' && (*s)[i] <= 'Z'))) {
    ++i;
  }
  std::string_view letters = s->substr(0, i);
  s->remove_prefix(i);
  return letters;
}

// A JSON/YAML number: optional sign, digits, fraction, exponent. No hex, inf or nan.
bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;
  if (first == last) return false;
  for (const char* p = first; p != last; ++p) {
    if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+' || *p == 'e' ||
          *p == 'E')) {
      return false;
    }
  }
  auto [ptr, ec] = std::from_chars(first, last, *out);
  return ec == std::errc() && ptr == last && std::isfinite(*out);
}

std::string FormatDuration(int64_t ms) {
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string FormatNumber(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("?");
}

// Text safe to show in a message: control bytes escaped, long values shortened.
std::string Printable(std::string_view s, size_t limit = 48) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to word, if it is close enough to be a likely typo; "" otherwise.
std::string Suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
  if (word.size() > 64) return {};
  std::string lower = Lower(word);
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view c : candidates) {
    // "retention_ms", "max_memory_bytes": the field name with a unit suffix.
    if (lower.size() > c.size() && lower.compare(0, c.size(), c) == 0 && lower[c.size()] == '_') {
      return std::string(c);
    }
    size_t d = EditDistance(lower, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  size_t allowed = std::clamp<size_t>(word.size() / 3, 1, 3);
  return best_distance <= allowed ? best : std::string();
}

struct Position {
  int line = 0;
  int column = 0;
};

Position PositionOf(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

// One key of a mapping: its dotted path, the key node and the value node.
struct Field {
  std::string path;
  YAML::Node key;
  YAML::Node value;
  // Where problems with the value are reported: the value itself, or the key when the value
  // is empty (yaml-cpp places an empty value on the following line).
  Position where() const {
    if (!value.IsNull()) {
      Position p = PositionOf(value);
      if (p.line > 0) return p;
    }
    return PositionOf(key);
  }
};

bool IsQuoted(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "!"; }

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "\"" + Printable(n.Scalar()) + "\"";
    default:
      return "an undefined value";
  }
}

// A setting read from the file, remembered for the checks that relate several settings.
struct Seen {
  bool present = false;
  bool valid = false;
  Position at;
  std::string text;
};

class Loader {
 public:
  Loader(std::string file, ConfigLoadResult* out) : file_(std::move(file)), out_(out) {}

  void Run(const YAML::Node& root) {
    if (root.IsNull()) return;  // an empty file: every setting keeps its default
    if (!root.IsMap()) {
      Error(PositionOf(root), "",
            "expected a mapping of settings at the top level, got " + Describe(root));
      return;
    }
    ReadTopLevel(root);
    CheckRelations();
  }

 private:
  using Handler = std::function<void(const Field&)>;
  struct Key {
    std::string_view name;
    Handler handle;
  };

  void Error(Position at, std::string key, std::string message) {
    out_->errors.push_back({file_, at.line, at.column, std::move(key), std::move(message)});
  }
  void Error(const Field& f, std::string message) { Error(f.where(), f.path, std::move(message)); }

  void Warn(Position at, const std::string& key, const std::string& message) {
    std::string w = key + ": " + message;
    if (at.line > 0) w += " (line " + std::to_string(at.line) + ")";
    out_->warnings.push_back(std::move(w));
  }

  static std::string Join(const std::string& prefix, std::string_view name) {
    return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
  }

  // Walks a mapping: duplicate and unknown keys are errors, known keys go to their handler.
  // A null value (a section with every line commented out) is an empty section.
  void ReadSection(const Field& section, const std::vector<Key>& keys,
                   const std::vector<std::string_view>& elsewhere = {}) {
    if (section.value.IsNull()) return;
    if (!section.value.IsMap()) {
      Error(section, "expected a mapping, got " + Describe(section.value));
      return;
    }
    std::vector<std::string_view> names;
    for (const Key& k : keys) names.push_back(k.name);
    std::set<std::string> seen;
    // Entries are copied out: yaml-cpp's iterator hands out temporaries.
    for (const auto& entry : section.value) {
      const YAML::Node key = entry.first;
      if (!key.IsScalar()) {
        Error(PositionOf(key), section.path,
              "keys must be plain names, got " + Describe(key) + " as a key");
        continue;
      }
      const std::string& name = key.Scalar();
      Field field{Join(section.path, Printable(name)), key, entry.second};
      if (!seen.insert(name).second) {
        Error(PositionOf(key), field.path, "duplicate key");
        continue;
      }
      auto known =
          std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
      if (known != keys.end()) {
        known->handle(field);
        continue;
      }
      std::string message = "unknown key";
      std::string suggestion = Suggest(name, names);
      if (suggestion.empty()) {
        std::string lower = Lower(name);
        for (std::string_view e : elsewhere) {
          if (e.substr(e.rfind('.') + 1) == lower) suggestion = std::string(e);
        }
      }
      if (!suggestion.empty()) message += "; did you mean " + suggestion + "?";
      Error(PositionOf(key), field.path, message);
    }
  }

  // Scalar readers. Each reports its own error and returns false when the value is unusable.
  bool ReadScalarText(const Field& f, std::string_view expected, std::string* out) {
    if (!f.value.IsScalar()) {
      Error(f, "expected " + std::string(expected) + ", got " + Describe(f.value));
      return false;
    }
    *out = f.value.Scalar();
    return true;
  }

  bool ReadString(const Field& f, std::string* out) {
    std::string text;
    if (!ReadScalarText(f, "a string", &text)) return false;
    if (text.find('\0') != std::string::npos) {
      Error(f, "must not contain a NUL character");
      return false;
    }
    *out = std::move(text);
    return true;
  }

  bool ReadNonEmptyString(const Field& f, std::string* out) {
    std::string text;
    if (!ReadString(f, &text)) return false;
    if (text.empty()) {
      Error(f, "must not be empty");
      return false;
    }
    *out = std::move(text);
    return true;
  }

  bool ReadBool(const Field& f, bool* out) {
    static const std::set<std::string> kTrue = {"true", "True", "TRUE"};
    static const std::set<std::string> kFalse = {"false", "False", "FALSE"};
    if (f.value.IsScalar() && !IsQuoted(f.value)) {
      const std::string& v = f.value.Scalar();
      if (kTrue.count(v) || kFalse.count(v)) {
        *out = kTrue.count(v) > 0;
        return true;
      }
    }
    Error(f, "expected true or false, got " + Describe(f.value));
    return false;
  }

  bool ReadNumber(const Field& f, double* out) {
    if (!f.value.IsScalar() || IsQuoted(f.value) || !ParseNumber(f.value.Scalar(), out)) {
      Error(f, "expected a number, got " + Describe(f.value));
      return false;
    }
    return true;
  }

  bool ReadWholeNumber(const Field& f, int64_t* out) {
    double v = 0;
    if (!f.value.IsScalar() || IsQuoted(f.value) || !ParseNumber(f.value.Scalar(), &v) ||
        v != std::floor(v) || std::fabs(v) > kMaxExact) {
      Error(f, "expected a whole number, got " + Describe(f.value));
      return false;
    }
    *out = static_cast<int64_t>(v);
    return true;
  }

  bool ReadDuration(const Field& f, int64_t* out) {
    if (!f.value.IsScalar() || !ParseDurationMs(f.value.Scalar(), out)) {
      Error(f, "expected a duration like \"24h\", got " + Describe(f.value));
      return false;
    }
    return true;
  }

  bool ReadSize(const Field& f, uint64_t* out) {
    if (!f.value.IsScalar() || !ParseSizeBytes(f.value.Scalar(), out)) {
      Error(f, "expected a size like \"256MiB\", got " + Describe(f.value));
      return false;
    }
    return true;
  }

  void ReadStringList(const Field& f, std::vector<std::string>* out) {
    if (!f.value.IsSequence()) {
      Error(f, "expected a list of strings, got " + Describe(f.value));
      return;
    }
    std::vector<std::string> items;
    bool ok = true;
    for (size_t i = 0; i < f.value.size(); ++i) {
      Field item{f.path + "[" + std::to_string(i) + "]", f.key, f.value[i]};
      std::string text;
      if (ReadNonEmptyString(item, &text)) {
        items.push_back(std::move(text));
      } else {
        ok = false;
      }
    }
    if (ok) *out = std::move(items);
  }

  // Interval bounds shared by interval and monitoring_interval.
  bool CheckInterval(const Field& f, int64_t ms) {
    if (ms <= 0) {
      Error(f, "must be positive, got " + Describe(f.value));
    } else if (ms < kMinIntervalMs) {
      Error(f, "must be at least " + FormatDuration(kMinIntervalMs) + ", got " + Describe(f.value));
    } else if (ms > kMaxIntervalMs) {
      Error(f, "must be at most " + FormatDuration(kMaxIntervalMs) + ", got " + Describe(f.value));
    } else {
      return true;
    }
    return false;
  }

  void Remember(const Field& f, Seen* seen, bool valid) {
    seen->present = true;
    seen->valid = valid;
    seen->at = f.where();
    seen->text = Describe(f.value);
  }

  void ReadTopLevel(const YAML::Node& root) {
    Config& c = out_->config;
    std::vector<Key> keys = {
        {"interval",
         [&](const Field& f) {
           int64_t ms = 0;
           bool ok = ReadDuration(f, &ms) && CheckInterval(f, ms);
           if (ok) c.interval_ms = ms;
           Remember(f, &interval_, ok);
         }},
        {"collector_timeout",
         [&](const Field& f) {
           int64_t ms = 0;
           bool ok = ReadDuration(f, &ms);
           if (ok && ms < 0) {
             Error(f, "must not be negative (0 or absent means half the interval), got " +
                          Describe(f.value));
             ok = false;
           }
           if (ok) c.collector_timeout_ms = ms;
           Remember(f, &collector_timeout_, ok);
         }},
        {"log_level", [&](const Field& f) { ReadLogLevel(f); }},
        {"host", [&](const Field& f) { ReadHost(f); }},
        {"gpu", [&](const Field& f) { ReadGpu(f); }},
        {"storage", [&](const Field& f) { ReadStorage(f); }},
        {"server", [&](const Field& f) { ReadServer(f); }},
        {"monitoring_interval", [&](const Field& f) { ReadMonitoringInterval(f); }},
        {"max_metrics_history", [&](const Field& f) { ReadMaxMetricsHistory(f); }},
        {"alert_thresholds", [&](const Field& f) { ReadAlertThresholds(f); }},
        {"degradation_detection", [&](const Field& f) { ReadDegradationDetection(f); }},
        {"alerting", [&](const Field& f) { ReadAlerting(f); }},
        {"rules", [&](const Field& f) { ReadRules(f); }},
        {"maintenance_windows", [&](const Field& f) { ReadMaintenanceWindows(f); }},
        {"notifiers", [&](const Field& f) { ReadNotifiers(f); }},
        {"anomaly", [&](const Field& f) { ReadAnomaly(f); }},
        {"scrape", [&](const Field& f) { ReadScrape(f); }},
        {"components", [&](const Field& f) { ReadComponents(f); }},
        {"playbooks", [&](const Field& f) { ReadPlaybooks(f); }},
        {"response", [&](const Field& f) { ReadResponse(f); }},
        {"remote_write", [&](const Field& f) { ReadRemoteWrite(f); }},
        {"report", [&](const Field& f) { ReadReport(f); }},
        {"actions", [&](const Field& f) { ReadActions(f); }},
        {"maintenance", [&](const Field& f) { ReadMaintenance(f); }},
    };
    for (std::string_view reserved : kReservedSections) {
      keys.push_back({reserved, [this](const Field& f) {
                        Warn(PositionOf(f.key), f.path, "not yet supported; section ignored");
                      }});
    }
    static const std::vector<std::string_view> kNested = {"host.enabled",
                                                          "host.proc_root",
                                                          "host.sys_root",
                                                          "host.per_core",
                                                          "host.exclude_fs_types",
                                                          "host.exclude_interfaces",
                                                          "storage.data_dir",
                                                          "storage.persist",
                                                          "storage.retention",
                                                          "storage.max_memory",
                                                          "storage.checkpoint_interval",
                                                          "server.listen",
                                                          "server.token"};
    ReadSection(Field{"", YAML::Node(), root}, keys, kNested);
  }

  void ReadLogLevel(const Field& f) {
    std::string text;
    if (!ReadString(f, &text)) return;
    std::string level = Lower(text);
    if (level == "warning") level = "warn";
    if (std::find(std::begin(kLogLevels), std::end(kLogLevels), level) != std::end(kLogLevels)) {
      out_->config.log_level = level;
      return;
    }
    std::string message = "unknown log level " + Describe(f.value) +
                          " (expected trace, debug, info, warn, error or off)";
    std::string suggestion =
        Suggest(level, std::vector<std::string_view>(std::begin(kLogLevels), std::end(kLogLevels)));
    if (!suggestion.empty()) message += "; did you mean " + suggestion + "?";
    Error(f, message);
  }

  // gpu: the NVML collector (docs/gpu.md).
  void ReadGpu(const Field& section) {
    GpuConfig& g = out_->config.gpu;
    ReadSection(section,
                {
                    {"enabled", [&](const Field& f) { ReadBool(f, &g.enabled); }},
                    {"library", [&](const Field& f) { ReadNonEmptyString(f, &g.library); }},
                    {"per_process", [&](const Field& f) { ReadBool(f, &g.per_process); }},
                    {"pcie_throughput", [&](const Field& f) { ReadBool(f, &g.pcie_throughput); }},
                });
  }

  void ReadHost(const Field& section) {
    HostCollectorConfig& h = out_->config.host;
    ReadSection(
        section,
        {
            {"enabled", [&](const Field& f) { ReadBool(f, &h.enabled); }},
            {"proc_root", [&](const Field& f) { ReadNonEmptyString(f, &h.proc_root); }},
            {"sys_root", [&](const Field& f) { ReadNonEmptyString(f, &h.sys_root); }},
            {"per_core", [&](const Field& f) { ReadBool(f, &h.per_core); }},
            {"exclude_fs_types", [&](const Field& f) { ReadStringList(f, &h.exclude_fs_types); }},
            {"exclude_interfaces",
             [&](const Field& f) { ReadStringList(f, &h.exclude_interfaces); }},
        });
  }

  void ReadStorage(const Field& section) {
    StorageConfig& s = out_->config.storage;
    ReadSection(section, {
                             {"data_dir", [&](const Field& f) { ReadString(f, &s.data_dir); }},
                             {"persist", [&](const Field& f) { ReadBool(f, &s.persist); }},
                             {"retention",
                              [&](const Field& f) {
                                int64_t ms = 0;
                                bool ok = ReadDuration(f, &ms);
                                if (ok && ms <= 0) {
                                  Error(f, "must be positive, got " + Describe(f.value));
                                  ok = false;
                                }
                                if (ok) s.retention_ms = ms;
                                Remember(f, &retention_, ok);
                              }},
                             {"max_memory",
                              [&](const Field& f) {
                                uint64_t bytes = 0;
                                if (!ReadSize(f, &bytes)) return;
                                if (bytes < kMinMemoryBytes) {
                                  Error(f, "must be at least 1MiB, got " + Describe(f.value));
                                  return;
                                }
                                s.max_memory_bytes = bytes;
                              }},
                             {"checkpoint_interval",
                              [&](const Field& f) {
                                int64_t ms = 0;
                                bool ok = ReadDuration(f, &ms);
                                if (ok && ms <= 0) {
                                  Error(f, "must be positive, got " + Describe(f.value));
                                  ok = false;
                                }
                                if (ok) s.checkpoint_interval_ms = ms;
                                Remember(f, &checkpoint_, ok);
                              }},
                         });
  }

  void ReadServer(const Field& section) {
    ServerConfig& s = out_->config.server;
    ReadSection(section, {
                             {"listen", [&](const Field& f) { ReadListen(f); }},
                             {"token",
                              [&](const Field& f) {
                                std::string token;
                                if (!ReadString(f, &token)) return;
                                for (char ch : token) {
                                  unsigned char u = static_cast<unsigned char>(ch);
                                  if (u <= 0x20 || u == 0x7f) {
                                    Error(f, "must not contain spaces or control characters");
                                    return;
                                  }
                                }
                                s.token = std::move(token);
                              }},
                         });
  }

  void ReadListen(const Field& f) {
    std::string text;
    if (!ReadString(f, &text)) return;
    std::string_view host;
    std::string_view port;
    std::string_view v = text;
    bool shape_ok = false;
    if (!v.empty() && v.front() == '[') {
      size_t close = v.find(']');
      if (close != std::string_view::npos && close + 1 < v.size() && v[close + 1] == ':') {
        host = v.substr(1, close - 1);
        port = v.substr(close + 2);
        shape_ok = !host.empty() && host.find_first_not_of(
                                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789:.%") == std::string_view::npos;
      }
    } else {
      size_t colon = v.rfind(':');
      if (colon != std::string_view::npos) {
        host = v.substr(0, colon);
        port = v.substr(colon + 1);
        shape_ok = !host.empty() && host.find_first_not_of(
                                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789.-_") == std::string_view::npos;
      }
    }
    int p = -1;
    bool port_ok = false;
    if (shape_ok && !port.empty() && port.size() <= 5) {
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
      port_ok = ec == std::errc() && ptr == port.data() + port.size() && p >= 0 && p <= 65535;
    }
    if (!shape_ok || !port_ok) {
      Error(f,
            "expected host:port like \"127.0.0.1:9470\" or \"[::1]:9470\" (port 0 to 65535), "
            "got " +
                Describe(f.value));
      return;
    }
    out_->config.server.listen = text;
  }

  void ReadMonitoringInterval(const Field& f) {
    double seconds = 0;
    bool ok = ReadNumber(f, &seconds);
    int64_t ms = 0;
    if (ok && std::fabs(seconds) * 1000 > kMaxExact) {
      Error(f, "must be at most " + FormatDuration(kMaxIntervalMs) + ", got " + Describe(f.value));
      ok = false;
    }
    if (ok) {
      ms = std::llround(seconds * 1000);
      ok = CheckInterval(f, ms);
    }
    Remember(f, &monitoring_interval_, ok);
    if (ok) monitoring_interval_ms_ = ms;
  }

  void ReadMaxMetricsHistory(const Field& f) {
    int64_t n = 0;
    bool ok = ReadWholeNumber(f, &n);
    if (ok && n < 1) {
      Error(f, "must be at least 1, got " + Describe(f.value));
      ok = false;
    }
    Remember(f, &max_metrics_history_, ok);
    if (ok) max_metrics_history_count_ = n;
  }

  void ReadAlertThresholds(const Field& section) {
    if (section.value.IsNull()) return;
    if (!section.value.IsMap()) {
      Error(section,
            "expected a mapping of metric name to threshold, got " + Describe(section.value));
      return;
    }
    std::map<std::string, double> thresholds;
    bool ok = true;
    for (const auto& entry : section.value) {
      const YAML::Node key = entry.first;
      if (!key.IsScalar() || key.Scalar().empty()) {
        Error(PositionOf(key), section.path, "expected a metric name as key, got " + Describe(key));
        ok = false;
        continue;
      }
      const std::string name = key.Scalar();
      Field f{section.path + "." + Printable(name), key, entry.second};
      double v = 0;
      if (!ReadNumber(f, &v)) {
        ok = false;
      } else if (!thresholds.emplace(name, v).second) {
        Error(PositionOf(key), f.path, "duplicate key");
        ok = false;
      }
    }
    if (!ok) return;
    out_->config.legacy.alert_thresholds = std::move(thresholds);
    Warn(PositionOf(section.key), section.path,
         "prototype key; " + std::to_string(out_->config.legacy.alert_thresholds.size()) +
             " threshold(s) kept for the alerting component");
  }

  void ReadDegradationDetection(const Field& section) {
    LegacyConfig& l = out_->config.legacy;
    size_t errors_before = out_->errors.size();
    ReadSection(section,
                {
                    {"window_size",
                     [&](const Field& f) {
                       int64_t n = 0;
                       if (!ReadWholeNumber(f, &n)) return;
                       if (n < 2 || n > 1'000'000) {
                         Error(f, "must be between 2 and 1000000, got " + Describe(f.value));
                         return;
                       }
                       l.degradation_window = static_cast<int>(n);
                     }},
                    {"threshold",
                     [&](const Field& f) {
                       double v = 0;
                       if (!ReadNumber(f, &v)) return;
                       if (!(v > 0 && v < 1)) {
                         Error(f,
                               "must be greater than 0 and less than 1, got " + Describe(f.value));
                         return;
                       }
                       l.degradation_threshold = v;
                     }},
                });
    if (out_->errors.size() == errors_before) {
      Warn(PositionOf(section.key), section.path,
           "prototype key; mapped to degradation window " + std::to_string(l.degradation_window) +
               ", threshold " + FormatNumber(l.degradation_threshold));
    }
  }

  // One of a fixed set of words; the error lists them and suggests the closest.
  bool ReadChoice(const Field& f, const std::vector<std::string_view>& choices, std::string* out) {
    std::string text;
    if (!ReadString(f, &text)) return false;
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) {
      *out = std::move(text);
      return true;
    }
    std::string list;
    for (std::string_view c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
    std::string message = "unknown value " + Describe(f.value) + " (expected one of " + list + ")";
    std::string suggestion = Suggest(text, choices);
    if (!suggestion.empty()) message += "; did you mean " + suggestion + "?";
    Error(f, message);
    return false;
  }

  // An http:// or https:// URL.
  bool ReadHttpUrl(const Field& f, std::string* out) {
    std::string url;
    if (!ReadNonEmptyString(f, &url)) return false;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      Error(f, "expected an http:// or https:// URL, got " + Describe(f.value));
      return false;
    }
    *out = std::move(url);
    return true;
  }

  bool ReadPositiveDuration(const Field& f, int64_t* out) {
    int64_t ms = 0;
    if (!ReadDuration(f, &ms)) return false;
    if (ms <= 0) {
      Error(f, "must be positive, got " + Describe(f.value));
      return false;
    }
    *out = ms;
    return true;
  }

  bool ReadNonNegativeDuration(const Field& f, int64_t* out) {
    int64_t ms = 0;
    if (!ReadDuration(f, &ms)) return false;
    if (ms < 0) {
      Error(f, "must not be negative, got " + Describe(f.value));
      return false;
    }
    *out = ms;
    return true;
  }

  bool ReadIntInRange(const Field& f, int64_t lo, int64_t hi, int* out) {
    int64_t n = 0;
    if (!ReadWholeNumber(f, &n)) return false;
    if (n < lo || n > hi) {
      Error(f, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                   Describe(f.value));
      return false;
    }
    *out = static_cast<int>(n);
    return true;
  }

  // Label matchers written as text (mount="/",fstype!="tmpfs") or as a mapping of equalities.
  void ReadMatchers(const Field& f, std::string* out) {
    std::string text;
    if (f.value.IsMap()) {
      for (const auto& entry : f.value) {
        const YAML::Node key = entry.first;
        const YAML::Node value = entry.second;
        if (!key.IsScalar() || !value.IsScalar()) {
          Error(f, "expected label: value pairs, got " + Describe(f.value));
          return;
        }
        if (!text.empty()) text += ',';
        text += key.Scalar() + "=\"" + EscapeLabelValue(value.Scalar()) + "\"";
      }
    } else if (!ReadString(f, &text)) {
      return;
    }
    std::vector<LabelMatcher> matchers;
    std::string error;
    if (!ParseLabelMatchers(text, &matchers, &error)) {
      Error(f, "invalid label matchers " + Describe(f.value) + ": " + error);
      return;
    }
    *out = std::move(text);
  }

  void ReadStringMap(const Field& f, std::map<std::string, std::string>* out) {
    if (!f.value.IsMap()) {
      Error(f, "expected a mapping of names to strings, got " + Describe(f.value));
      return;
    }
    for (const auto& entry : f.value) {
      const YAML::Node key = entry.first;
      Field item{f.path + "." + (key.IsScalar() ? Printable(key.Scalar()) : "?"), key,
                 entry.second};
      std::string value;
      if (!key.IsScalar() || key.Scalar().empty()) {
        Error(PositionOf(key), f.path, "keys must be plain names");
      } else if (ReadString(item, &value)) {
        (*out)[key.Scalar()] = std::move(value);
      }
    }
  }

  void ReadAlerting(const Field& section) {
    AlertingConfig& a = out_->config.alerting;
    ReadSection(
        section,
        {
            {"default_rules", [&](const Field& f) { ReadBool(f, &a.default_rules); }},
            {"external_url", [&](const Field& f) { ReadNonEmptyString(f, &a.external_url); }},
            {"alert_dir", [&](const Field& f) { ReadNonEmptyString(f, &a.alert_dir); }},
            {"snapshot_file", [&](const Field& f) { ReadNonEmptyString(f, &a.snapshot_file); }},
            {"snapshot_interval",
             [&](const Field& f) { ReadPositiveDuration(f, &a.snapshot_interval_ms); }},
        });
  }

  // Calls read_item for each element of a list section, with the element's Field.
  void ForEachItem(const Field& f, const std::function<void(const Field&)>& read_item) {
    if (f.value.IsNull()) return;
    if (!f.value.IsSequence()) {
      Error(f, "expected a list, got " + Describe(f.value));
      return;
    }
    for (size_t i = 0; i < f.value.size(); ++i) {
      Field item{f.path + "[" + std::to_string(i) + "]", f.value[i], f.value[i]};
      if (!item.value.IsMap()) {
        Error(item, "expected a mapping, got " + Describe(item.value));
        continue;
      }
      read_item(item);
    }
  }

  void ReadLevel(const Field& f, const std::string& severity, RuleConfig* rule) {
    RuleLevelConfig level;
    level.severity = severity;
    if (f.value.IsMap()) {
      bool has_threshold = false;
      ReadSection(f, {
                         {"threshold",
                          [&](const Field& g) { has_threshold = ReadNumber(g, &level.threshold); }},
                         {"clear",
                          [&](const Field& g) {
                            double v = 0;
                            if (ReadNumber(g, &v)) level.clear = v;
                          }},
                     });
      if (!has_threshold) {
        Error(f, "needs a threshold (a number, or {threshold: N, clear: M})");
        return;
      }
    } else if (!ReadNumber(f, &level.threshold)) {
      return;
    }
    rule->levels.push_back(level);
  }

  void ReadRules(const Field& section) {
    std::set<std::string> names;
    ForEachItem(section, [&](const Field& item) {
      RuleConfig r;
      r.line = PositionOf(item.value).line;
      const std::vector<std::string_view> kinds(std::begin(kRuleKinds), std::end(kRuleKinds));
      const std::vector<std::string_view> aggs(std::begin(kAggregations), std::end(kAggregations));
      size_t errors_before = out_->errors.size();
      std::vector<Key> keys = {
          {"name", [&](const Field& f) { ReadNonEmptyString(f, &r.name); }},
          {"kind", [&](const Field& f) { ReadChoice(f, kinds, &r.kind); }},
          {"metric",
           [&](const Field& f) {
             std::string m;
             if (!ReadNonEmptyString(f, &m)) return;
             if (!IsValidMetricName(m)) {
               Error(f, Describe(f.value) + " is not a valid metric name");
               return;
             }
             r.metric = m;
           }},
          {"labels", [&](const Field& f) { ReadMatchers(f, &r.labels); }},
          {"comparison",
           [&](const Field& f) {
             ReadChoice(f, {"above", "below"}, &r.comparison);
           }},
          {"aggregation", [&](const Field& f) { ReadChoice(f, aggs, &r.aggregation); }},
          {"quantile",
           [&](const Field& f) {
             double q = 0;
             if (!ReadNumber(f, &q)) return;
             if (!(q >= 0 && q <= 1)) {
               Error(f, "must be between 0 and 1, got " + Describe(f.value));
               return;
             }
             r.quantile = q;
           }},
          {"window", [&](const Field& f) { ReadPositiveDuration(f, &r.window_ms); }},
          {"samples", [&](const Field& f) { ReadIntInRange(f, 2, 100'000, &r.samples); }},
          {"ahead", [&](const Field& f) { ReadPositiveDuration(f, &r.ahead_ms); }},
          {"warmup", [&](const Field& f) { ReadIntInRange(f, 1, 10'000'000, &r.warmup); }},
          {"for", [&](const Field& f) { ReadNonNegativeDuration(f, &r.for_ms); }},
          {"keep_firing_for",
           [&](const Field& f) { ReadNonNegativeDuration(f, &r.keep_firing_for_ms); }},
          {"summary", [&](const Field& f) { ReadString(f, &r.summary); }},
          {"annotations", [&](const Field& f) { ReadStringMap(f, &r.annotations); }},
      };
      for (std::string_view sev : kSeverities) {
        keys.push_back({sev, [&, sev](const Field& f) { ReadLevel(f, std::string(sev), &r); }});
      }
      ReadSection(item, keys);
      if (out_->errors.size() != errors_before) return;
      if (r.name.empty()) return Error(item, "a rule needs a name");
      if (r.metric.empty()) return Error(item, "rule '" + r.name + "' needs a metric");
      if (r.levels.empty()) {
        return Error(item, "rule '" + r.name +
                               "' needs at least one of info, warning, critical with a threshold");
      }
      if (!names.insert(r.name).second) {
        return Error(item, "rule '" + r.name + "' is defined twice");
      }
      out_->config.alerting.rules.push_back(std::move(r));
    });
  }

  bool ReadClock(const Field& f, int* minutes) {
    std::string text;
    if (!ReadString(f, &text)) return false;
    bool ok = text.size() == 5 && text[2] == ':' &&
              std::isdigit(static_cast<unsigned char>(text[0])) &&
              std::isdigit(static_cast<unsigned char>(text[1])) &&
              std::isdigit(static_cast<unsigned char>(text[3])) &&
              std::isdigit(static_cast<unsigned char>(text[4]));
    int h = ok ? (text[0] - '0') * 10 + (text[1] - '0') : 0;
    int m = ok ? (text[3] - '0') * 10 + (text[4] - '0') : 0;
    if (!ok || h > 24 || m > 59 || (h == 24 && m != 0)) {
      Error(f, "expected a time of day like \"02:30\", got " + Describe(f.value));
      return false;
    }
    *minutes = h * 60 + m;
    return true;
  }

  void ReadMaintenanceWindows(const Field& section) {
    ForEachItem(section, [&](const Field& item) {
      MaintenanceWindowConfig w;
      w.line = PositionOf(item.value).line;
      bool has_start = false, has_end = false;
      size_t errors_before = out_->errors.size();
      ReadSection(
          item,
          {
              {"name", [&](const Field& f) { ReadNonEmptyString(f, &w.name); }},
              {"days",
               [&](const Field& f) {
                 std::vector<std::string> days;
                 ReadStringList(f, &days);
                 for (const auto& d : days) {
                   std::string lower = Lower(d);
                   auto it = std::find_if(
                       std::begin(kWeekdays), std::end(kWeekdays), [&](std::string_view full) {
                         return lower.size() >= 3 && (lower == full || lower == full.substr(0, 3));
                       });
                   if (it == std::end(kWeekdays)) {
                     Error(f, "unknown day \"" + Printable(d) + "\" (expected mon, tue, ...)");
                     return;
                   }
                   w.days.push_back(static_cast<int>(it - std::begin(kWeekdays)));
                 }
               }},
              {"start", [&](const Field& f) { has_start = ReadClock(f, &w.start_minute); }},
              {"end", [&](const Field& f) { has_end = ReadClock(f, &w.end_minute); }},
              {"time_zone", [&](const Field& f) { ReadNonEmptyString(f, &w.time_zone); }},
              {"labels", [&](const Field& f) { ReadMatchers(f, &w.labels); }},
          });
      if (out_->errors.size() != errors_before) return;
      if (w.name.empty()) return Error(item, "a maintenance window needs a name");
      if (!has_start || !has_end) {
        return Error(item, "maintenance window '" + w.name + "' needs start and end times");
      }
      out_->config.alerting.maintenance_windows.push_back(std::move(w));
    });
  }

  // A list of actions ({type, name, timeout, params}) in a playbook step or maintenance task.
  void ReadActionList(const Field& f, std::vector<PlaybookActionConfig>* out) {
    ForEachItem(f, [&](const Field& action_item) {
      PlaybookActionConfig a;
      const Position at = PositionOf(action_item.value);
      a.line = at.line;
      a.column = at.column;
      ReadSection(action_item,
                  {
                      {"type", [&](const Field& h) { ReadNonEmptyString(h, &a.type); }},
                      {"name", [&](const Field& h) { ReadNonEmptyString(h, &a.name); }},
                      {"timeout", [&](const Field& h) { ReadPositiveDuration(h, &a.timeout_ms); }},
                      {"params",
                       [&](const Field& h) {
                         if (!h.value.IsMap() && !h.value.IsNull()) {
                           return Error(
                               h, "expected a mapping of parameters, got " + Describe(h.value));
                         }
                         a.params_json.clear();
                         if (h.value.IsNull()) {
                           a.params_json = "{}";
                         } else {
                           AppendJson(h.value, &a.params_json);
                         }
                       }},
                  });
      if (a.type.empty()) return Error(action_item, "an action needs a type");
      out->push_back(std::move(a));
    });
  }

  void ReadScrape(const Field& section) {
    ScrapeConfig& sc = out_->config.scrape;
    std::set<std::string> names;
    ReadSection(
        section,
        {
            {"engine_discovery", [&](const Field& f) { ReadBool(f, &sc.engine_discovery); }},
            {"targets",
             [&](const Field& f) {
               ForEachItem(f, [&](const Field& item) {
                 ScrapeTargetConfig t;
                 t.line = PositionOf(item.value).line;
                 size_t errors_before = out_->errors.size();
                 ReadSection(
                     item,
                     {
                         {"name", [&](const Field& g) { ReadNonEmptyString(g, &t.name); }},
                         {"url", [&](const Field& g) { ReadHttpUrl(g, &t.url); }},
                         {"kind",
                          [&](const Field& g) {
                            ReadChoice(g, {"metrics", "engine"}, &t.kind);
                          }},
                         {"timeout",
                          [&](const Field& g) { ReadPositiveDuration(g, &t.timeout_ms); }},
                         {"headers", [&](const Field& g) { ReadStringMap(g, &t.headers); }},
                         {"labels", [&](const Field& g) { ReadStringMap(g, &t.labels); }},
                         {"drop_labels",
                          [&](const Field& g) { ReadStringList(g, &t.drop_labels); }},
                         {"interval",
                          [&](const Field& g) { ReadPositiveDuration(g, &t.interval_ms); }},
                         {"sample_limit",
                          [&](const Field& g) {
                            int64_t n = 0;
                            if (!ReadWholeNumber(g, &n)) return;
                            if (n < 1 || n > 10'000'000) {
                              Error(g, "must be between 1 and 10000000, got " + Describe(g.value));
                              return;
                            }
                            t.sample_limit = n;
                          }},
                     });
                 if (out_->errors.size() != errors_before) return;
                 if (t.url.empty()) return Error(item, "a scrape target needs a url");
                 if (t.name.empty()) t.name = t.url;
                 if (!names.insert(t.name).second) {
                   return Error(item, "scrape target '" + t.name + "' is defined twice");
                 }
                 sc.targets.push_back(std::move(t));
               });
             }},
        });
  }

  // components: the push API and exec collectors (docs/components.md).
  void ReadComponents(const Field& section) {
    ComponentsConfig& cc = out_->config.components;
    auto count = [&](const Field& g, int64_t lo, int64_t hi, int64_t* out) {
      int64_t n = 0;
      if (!ReadWholeNumber(g, &n)) return;
      if (n < lo || n > hi) {
        Error(g, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                     Describe(g.value));
        return;
      }
      *out = n;
    };
    auto size = [&](const Field& g, uint64_t lo, uint64_t hi, int64_t* out) {
      uint64_t n = 0;
      if (!ReadSize(g, &n)) return;
      if (n < lo || n > hi) {
        Error(g, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                     " bytes, got " + Describe(g.value));
        return;
      }
      *out = static_cast<int64_t>(n);
    };
    std::set<std::string> names;
    ReadSection(
        section,
        {
            {"push",
             [&](const Field& f) {
               PushConfig& p = cc.push;
               ReadSection(f,
                           {
                               {"enabled", [&](const Field& g) { ReadBool(g, &p.enabled); }},
                               {"max_body",
                                [&](const Field& g) { size(g, 64, 64u << 20, &p.max_body_bytes); }},
                               {"max_series_per_component",
                                [&](const Field& g) {
                                  count(g, 1, 1'000'000, &p.max_series_per_component);
                                }},
                               {"max_labels_per_series",
                                [&](const Field& g) { count(g, 1, 64, &p.max_labels_per_series); }},
                               {"max_components",
                                [&](const Field& g) { count(g, 1, 100'000, &p.max_components); }},
                               {"staleness",
                                [&](const Field& g) { ReadPositiveDuration(g, &p.staleness_ms); }},
                           });
             }},
            {"exec",
             [&](const Field& f) {
               ForEachItem(f, [&](const Field& item) {
                 ExecComponentConfig e;
                 e.line = PositionOf(item.value).line;
                 size_t errors_before = out_->errors.size();
                 ReadSection(
                     item,
                     {
                         {"name", [&](const Field& g) { ReadNonEmptyString(g, &e.name); }},
                         {"argv", [&](const Field& g) { ReadStringList(g, &e.argv); }},
                         {"interval",
                          [&](const Field& g) { ReadPositiveDuration(g, &e.interval_ms); }},
                         {"timeout",
                          [&](const Field& g) { ReadPositiveDuration(g, &e.timeout_ms); }},
                         {"env", [&](const Field& g) { ReadStringMap(g, &e.env); }},
                         {"labels", [&](const Field& g) { ReadStringMap(g, &e.labels); }},
                         {"max_output",
                          [&](const Field& g) { size(g, 64, 64u << 20, &e.max_output_bytes); }},
                     });
                 if (out_->errors.size() != errors_before) return;
                 if (e.name.empty()) return Error(item, "an exec component needs a name");
                 if (e.argv.empty() || e.argv[0].empty()) {
                   return Error(item, "exec component '" + e.name + "' needs a non-empty argv");
                 }
                 if (!names.insert(e.name).second) {
                   return Error(item, "exec component '" + e.name + "' is defined twice");
                 }
                 cc.exec.push_back(std::move(e));
               });
             }},
        });
  }

  // remote_write: a list of endpoints (docs/remote-write.md).
  void ReadRemoteWrite(const Field& section) {
    std::set<std::string> names;
    ForEachItem(section, [&](const Field& item) {
      RemoteWriteConfig r;
      r.line = PositionOf(item.value).line;
      size_t errors_before = out_->errors.size();
      auto count = [&](const Field& g, int64_t lo, int64_t hi, int64_t* out) {
        int64_t n = 0;
        if (!ReadWholeNumber(g, &n)) return;
        if (n < lo || n > hi) {
          Error(g, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", got " + Describe(g.value));
          return;
        }
        *out = n;
      };
      ReadSection(
          item,
          {
              {"name", [&](const Field& g) { ReadNonEmptyString(g, &r.name); }},
              {"url", [&](const Field& g) { ReadHttpUrl(g, &r.url); }},
              {"headers",
               [&](const Field& g) {
                 ReadStringMap(g, &r.headers);
                 for (const auto& [name, value] : r.headers) {
                   std::string lower = Lower(name);
                   if (lower == "content-type" || lower == "content-encoding" ||
                       lower == "user-agent" || lower == "x-prometheus-remote-write-version") {
                     Error(g, "header " + name + " is set by the protocol and cannot be changed");
                   }
                 }
               }},
              {"timeout", [&](const Field& g) { ReadPositiveDuration(g, &r.timeout_ms); }},
              {"queue_capacity",
               [&](const Field& g) { count(g, 1, 100'000'000, &r.queue_capacity); }},
              {"max_samples_per_send",
               [&](const Field& g) { count(g, 1, 1'000'000, &r.max_samples_per_send); }},
              {"batch_send_deadline",
               [&](const Field& g) { ReadPositiveDuration(g, &r.batch_send_deadline_ms); }},
              {"min_backoff", [&](const Field& g) { ReadPositiveDuration(g, &r.min_backoff_ms); }},
              {"max_backoff", [&](const Field& g) { ReadPositiveDuration(g, &r.max_backoff_ms); }},
              {"external_labels",
               [&](const Field& g) {
                 ReadStringMap(g, &r.external_labels);
                 for (const auto& [name, value] : r.external_labels) {
                   if (!IsValidLabelName(name) || name.rfind("__", 0) == 0) {
                     Error(g, "invalid external label name '" + Printable(name) + "'");
                   }
                 }
               }},
              {"drop_metrics",
               [&](const Field& g) {
                 std::string text;
                 if (!ReadNonEmptyString(g, &text)) return;
                 try {
                   std::regex re(text, std::regex::ECMAScript);
                 } catch (const std::regex_error& e) {
                   return Error(
                       g, "invalid regular expression " + Describe(g.value) + ": " + e.what());
                 }
                 r.drop_metrics = std::move(text);
               }},
          });
      if (out_->errors.size() != errors_before) return;
      if (r.url.empty()) return Error(item, "a remote_write endpoint needs a url");
      if (r.min_backoff_ms > r.max_backoff_ms) {
        return Error(item, "min_backoff must not exceed max_backoff");
      }
      if (r.name.empty()) r.name = r.url;
      if (!names.insert(r.name).second) {
        return Error(item, "remote_write endpoint '" + r.name + "' is defined twice");
      }
      out_->config.remote_write.push_back(std::move(r));
    });
  }

  // YAML value as JSON text: unquoted true/false and numbers keep their type, ~ is null.
  static void AppendJson(const YAML::Node& n, std::string* out) {
    auto quote = [out](const std::string& text) {
      *out += '"';
      for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
          *out += '\\';
          *out += static_cast<char>(c);
        } else if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 15];
        } else {
          *out += static_cast<char>(c);
        }
      }
      *out += '"';
    };
    if (n.IsMap()) {
      *out += '{';
      bool first = true;
      for (const auto& entry : n) {
        if (!first) *out += ',';
        first = false;
        quote(entry.first.IsScalar() ? entry.first.Scalar() : std::string("?"));
        *out += ':';
        AppendJson(entry.second, out);
      }
      *out += '}';
    } else if (n.IsSequence()) {
      *out += '[';
      for (size_t i = 0; i < n.size(); ++i) {
        if (i > 0) *out += ',';
        AppendJson(n[i], out);
      }
      *out += ']';
    } else if (n.IsScalar()) {
      const std::string& v = n.Scalar();
      double number = 0;
      if (!IsQuoted(n) && (v == "true" || v == "false")) {
        *out += v;
      } else if (!IsQuoted(n) && ParseNumber(v, &number)) {
        *out += FormatNumber(number);
      } else if (!IsQuoted(n) && (v == "~" || v == "null")) {
        *out += "null";
      } else {
        quote(v);
      }
    } else {
      *out += "null";
    }
  }

  void ReadEscalation(const Field& section, EscalationConfig* e) {
    e->set = true;
    ReadSection(
        section,
        {
            {"levels",
             [&](const Field& f) {
               e->levels.clear();
               ForEachItem(f, [&](const Field& item) {
                 EscalationLevelConfig level;
                 ReadSection(
                     item,
                     {
                         {"notifiers",
                          [&](const Field& g) { ReadStringList(g, &level.notifiers); }},
                         {"delay",
                          [&](const Field& g) { ReadNonNegativeDuration(g, &level.delay_ms); }},
                     });
                 e->levels.push_back(std::move(level));
               });
             }},
            {"repeat_interval",
             [&](const Field& f) { ReadPositiveDuration(f, &e->repeat_interval_ms); }},
        });
  }

  void ReadPriorityMap(const Field& f, std::map<std::string, std::string>* out) {
    std::map<std::string, std::string> m;
    ReadStringMap(f, &m);
    for (const auto& [severity, priority] : m) {
      if (std::find(std::begin(kSeverities), std::end(kSeverities), severity) ==
          std::end(kSeverities)) {
        Error(f,
              "unknown severity '" + Printable(severity) + "' (expected info, warning, critical)");
        return;
      }
      if (priority != "P0" && priority != "P1" && priority != "P2" && priority != "P3") {
        Error(f, "priority for " + severity + " must be P0, P1, P2 or P3, got \"" +
                     Printable(priority) + "\"");
        return;
      }
      (*out)[severity] = priority;
    }
  }

  // playbooks: a list (docs/incidents.md).
  void ReadPlaybooks(const Field& section) {
    std::set<std::string> names;
    ForEachItem(section, [&](const Field& item) {
      PlaybookConfig p;
      p.line = PositionOf(item.value).line;
      size_t errors_before = out_->errors.size();
      ReadSection(
          item,
          {
              {"name", [&](const Field& f) { ReadNonEmptyString(f, &p.name); }},
              {"match",
               [&](const Field& f) {
                 const Position at = f.where();
                 p.match_line = at.line;
                 p.match_column = at.column;
                 if (f.value.IsMap()) {  // label: regex (fully matched)
                   std::map<std::string, std::string> m;
                   ReadStringMap(f, &m);
                   for (const auto& [k, v] : m) {
                     if (!p.match.empty()) p.match += ',';
                     p.match += k + "=~\"" + EscapeLabelValue(v) + "\"";
                   }
                 } else {
                   ReadNonEmptyString(f, &p.match);
                 }
               }},
              {"priority", [&](const Field& f) { ReadPriorityMap(f, &p.priority); }},
              {"cooldown", [&](const Field& f) { ReadNonNegativeDuration(f, &p.cooldown_ms); }},
              {"max_runs_per_hour",
               [&](const Field& f) { ReadIntInRange(f, 1, 3600, &p.max_runs_per_hour); }},
              {"dry_run", [&](const Field& f) { ReadBool(f, &p.dry_run); }},
              {"enabled", [&](const Field& f) { ReadBool(f, &p.enabled); }},
              {"escalation", [&](const Field& f) { ReadEscalation(f, &p.escalation); }},
              {"steps",
               [&](const Field& f) {
                 ForEachItem(f, [&](const Field& step_item) {
                   PlaybookStepConfig step;
                   step.line = PositionOf(step_item.value).line;
                   ReadSection(
                       step_item,
                       {
                           {"name", [&](const Field& g) { ReadNonEmptyString(g, &step.name); }},
                           {"verify_after",
                            [&](const Field& g) {
                              ReadNonNegativeDuration(g, &step.verify_after_ms);
                            }},
                           {"on_failure",
                            [&](const Field& g) {
                              ReadChoice(g, {"next", "escalate"}, &step.on_failure);
                            }},
                           {"actions", [&](const Field& g) { ReadActionList(g, &step.actions); }},
                       });
                   if (step.actions.empty()) {
                     return Error(step_item, "a step needs at least one action");
                   }
                   p.steps.push_back(std::move(step));
                 });
               }},
          });
      if (out_->errors.size() != errors_before) return;
      if (p.name.empty()) return Error(item, "a playbook needs a name");
      if (p.match.empty()) return Error(item, "playbook '" + p.name + "' needs match");
      if (p.steps.empty()) return Error(item, "playbook '" + p.name + "' needs steps");
      if (!names.insert(p.name).second) {
        return Error(item, "playbook '" + p.name + "' is defined twice");
      }
      out_->config.playbooks.push_back(std::move(p));
    });
  }

  void ReadResponse(const Field& section) {
    ResponseConfig& r = out_->config.response;
    ReadSection(
        section,
        {
            {"enabled", [&](const Field& f) { ReadBool(f, &r.enabled); }},
            {"dry_run", [&](const Field& f) { ReadBool(f, &r.dry_run); }},
            {"max_concurrent",
             [&](const Field& f) { ReadIntInRange(f, 1, 64, &r.max_concurrent); }},
            {"default_playbooks", [&](const Field& f) { ReadBool(f, &r.default_playbooks); }},
            {"escalation", [&](const Field& f) { ReadEscalation(f, &r.escalation); }},
            {"priority", [&](const Field& f) { ReadPriorityMap(f, &r.priority); }},
            {"renice_cpu_offender", [&](const Field& f) { ReadBool(f, &r.renice_cpu_offender); }},
            {"drop_caches", [&](const Field& f) { ReadBool(f, &r.drop_caches); }},
            {"engine_service", [&](const Field& f) { ReadNonEmptyString(f, &r.engine_service); }},
            {"engine_url", [&](const Field& f) { ReadHttpUrl(f, &r.engine_url); }},
        });
  }

  void ReadReport(const Field& section) {
    ReportConfig& r = out_->config.report;
    auto positive = [&](const Field& f, double* out) {
      double v = 0;
      if (!ReadNumber(f, &v)) return;
      if (!(v > 0)) return Error(f, "must be positive, got " + Describe(f.value));
      *out = v;
    };
    ReadSection(section,
                {
                    {"window",
                     [&](const Field& f) {
                       int64_t ms = 0;
                       if (!ReadDuration(f, &ms)) return;
                       if (ms <= 0) return Error(f, "must be positive, got " + Describe(f.value));
                       r.window_ms = ms;
                     }},
                    {"slo",
                     [&](const Field& f) {
                       ReadSection(
                           f, {
                                  {"latency_p95_ms",
                                   [&](const Field& g) { positive(g, &r.latency_p95_ms); }},
                                  {"min_tokens_per_second",
                                   [&](const Field& g) { positive(g, &r.min_tokens_per_second); }},
                              });
                     }},
                });
  }

  void ReadAnomaly(const Field& section) {
    AnomalyWatchConfig& a = out_->config.anomaly;
    ReadSection(section,
                {
                    {"enabled", [&](const Field& f) { ReadBool(f, &a.enabled); }},
                    {"threshold",
                     [&](const Field& f) {
                       double v = 0;
                       if (!ReadNumber(f, &v)) return;
                       if (!(v > 0 && v <= 1)) {
                         Error(f, "must be greater than 0 and at most 1, got " + Describe(f.value));
                         return;
                       }
                       a.threshold = v;
                     }},
                    {"warmup", [&](const Field& f) { ReadIntInRange(f, 0, 1'000'000, &a.warmup); }},
                    {"watch",
                     [&](const Field& f) {
                       a.watch_set = true;
                       ForEachItem(f, [&](const Field& item) {
                         std::string metric, labels;
                         ReadSection(
                             item,
                             {
                                 {"metric",
                                  [&](const Field& g) {
                                    std::string m;
                                    if (!ReadNonEmptyString(g, &m)) return;
                                    if (!IsValidMetricName(m)) {
                                      Error(g, Describe(g.value) + " is not a valid metric name");
                                      return;
                                    }
                                    metric = m;
                                  }},
                                 {"labels", [&](const Field& g) { ReadMatchers(g, &labels); }},
                             });
                         if (metric.empty()) return Error(item, "a watched series needs a metric");
                         a.watch.emplace_back(metric, labels);
                       });
                     }},
                });
  }

  void ReadNotifiers(const Field& section) {
    const std::vector<std::string_view> types(std::begin(kNotifierTypes), std::end(kNotifierTypes));
    ForEachItem(section, [&](const Field& item) {
      NotifierConfig n;
      n.line = PositionOf(item.value).line;
      size_t errors_before = out_->errors.size();
      ReadSection(
          item,
          {
              {"type", [&](const Field& f) { ReadChoice(f, types, &n.type); }},
              {"name", [&](const Field& f) { ReadNonEmptyString(f, &n.name); }},
              {"url", [&](const Field& f) { ReadHttpUrl(f, &n.url); }},
              {"directory", [&](const Field& f) { ReadNonEmptyString(f, &n.directory); }},
              {"argv", [&](const Field& f) { ReadStringList(f, &n.argv); }},
              {"headers", [&](const Field& f) { ReadStringMap(f, &n.headers); }},
              {"timeout", [&](const Field& f) { ReadPositiveDuration(f, &n.timeout_ms); }},
              {"resend_interval",
               [&](const Field& f) { ReadPositiveDuration(f, &n.resend_interval_ms); }},
              {"max_attempts", [&](const Field& f) { ReadIntInRange(f, 1, 100, &n.max_attempts); }},
          });
      if (out_->errors.size() != errors_before) return;
      if (n.type.empty()) {
        return Error(item, "a notifier needs a type (log, file, webhook, alertmanager, program)");
      }
      if ((n.type == "webhook" || n.type == "alertmanager") && n.url.empty()) {
        return Error(item, n.type + " notifier needs a url");
      }
      if (n.type == "program" && (n.argv.empty() || n.argv[0].empty() || n.argv[0][0] != '/')) {
        return Error(item,
                     "program notifier needs argv with an absolute program path first "
                     "(no shell is used)");
      }
      if (n.name.empty()) n.name = n.type;
      out_->config.alerting.notifiers.push_back(std::move(n));
    });
  }

  // actions: limits for the action library (docs/actions.md).
  void ReadActions(const Field& section) {
    ActionsConfig& a = out_->config.actions;
    auto absolute_dirs = [&](const Field& f, std::vector<std::string>* out) {
      std::vector<std::string> dirs;
      ReadStringList(f, &dirs);
      for (auto& d : dirs) {
        if (d.empty() || d[0] != '/') {
          Error(f, "expected absolute directories, got \"" + Printable(d) + "\"");
          return false;
        }
        fs::path p = fs::path(d).lexically_normal();
        for (const auto& part : p) {
          if (part == "..") {
            Error(f, "must not contain \"..\", got \"" + Printable(d) + "\"");
            return false;
          }
        }
        if (p == "/") {
          Error(f, "\"/\" would let cleanup delete anywhere; name the directories");
          return false;
        }
        d = p.string();
        while (d.size() > 1 && d.back() == '/') d.pop_back();
      }
      *out = std::move(dirs);
      return true;
    };
    ReadSection(
        section,
        {
            {"writable_dirs",
             [&](const Field& f) { a.writable_dirs_set = absolute_dirs(f, &a.writable_dirs); }},
            {"http_allow",
             [&](const Field& f) {
               std::vector<std::string> list;
               ReadStringList(f, &list);
               for (const auto& u : list) {
                 if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
                   return Error(f, "expected http:// or https:// URL prefixes, got \"" +
                                       Printable(u) + "\"");
                 }
               }
               a.http_allow = std::move(list);
             }},
            {"max_output",
             [&](const Field& f) {
               uint64_t bytes = 0;
               if (!ReadSize(f, &bytes)) return;
               if (bytes < 256 || bytes > (64u << 20)) {
                 return Error(f, "must be between 256B and 64MiB, got " + Describe(f.value));
               }
               a.max_output_bytes = bytes;
             }},
            {"max_timeout", [&](const Field& f) { ReadPositiveDuration(f, &a.max_timeout_ms); }},
            {"cgroup_root",
             [&](const Field& f) {
               std::string root;
               if (!ReadNonEmptyString(f, &root)) return;
               if (root[0] != '/') return Error(f, "must be an absolute path");
               a.cgroup_root = root;
             }},
            {"services",
             [&](const Field& f) {
               if (f.value.IsNull()) return;
               if (!f.value.IsMap()) {
                 return Error(f, "expected a mapping of service names, got " + Describe(f.value));
               }
               for (const auto& entry : f.value) {
                 const YAML::Node key = entry.first;
                 if (!key.IsScalar() || key.Scalar().empty()) {
                   Error(PositionOf(key), f.path, "keys must be plain service names");
                   continue;
                 }
                 Field item{f.path + "." + Printable(key.Scalar()), key, entry.second};
                 ActionServiceConfig svc;
                 size_t errors_before = out_->errors.size();
                 ReadSection(
                     item,
                     {
                         {"restart", [&](const Field& g) { ReadStringList(g, &svc.restart); }},
                         {"health_url", [&](const Field& g) { ReadHttpUrl(g, &svc.health_url); }},
                         {"health_timeout",
                          [&](const Field& g) { ReadPositiveDuration(g, &svc.health_timeout_ms); }},
                     });
                 if (out_->errors.size() != errors_before) continue;
                 if (svc.restart.empty()) {
                   Error(item, "service '" + Printable(key.Scalar()) +
                                   "' needs restart: [program, args...] (no shell is used)");
                   continue;
                 }
                 a.services[key.Scalar()] = std::move(svc);
               }
             }},
        });
  }

  // maintenance: scheduler settings and tasks (docs/maintenance.md).
  void ReadMaintenance(const Field& section) {
    MaintenanceConfig& m = out_->config.maintenance;
    std::set<std::string> names;
    ReadSection(
        section,
        {
            {"enabled", [&](const Field& f) { ReadBool(f, &m.enabled); }},
            {"builtin_tasks", [&](const Field& f) { ReadBool(f, &m.builtin_tasks); }},
            {"health_urls",
             [&](const Field& f) {
               std::vector<std::string> urls;
               ReadStringList(f, &urls);
               for (const auto& u : urls) {
                 if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
                   return Error(f,
                                "expected http:// or https:// URLs, got \"" + Printable(u) + "\"");
                 }
               }
               m.health_urls = std::move(urls);
             }},
            {"tasks",
             [&](const Field& f) {
               ForEachItem(f, [&](const Field& item) {
                 MaintenanceTaskConfig t;
                 t.line = PositionOf(item.value).line;
                 size_t errors_before = out_->errors.size();
                 ReadSection(
                     item,
                     {
                         {"name", [&](const Field& g) { ReadNonEmptyString(g, &t.name); }},
                         {"schedule",
                          [&](const Field& g) {
                            std::string text;
                            if (!ReadNonEmptyString(g, &text)) return;
                            std::istringstream in(text);
                            std::string field;
                            int n = 0;
                            while (in >> field) {
                              ++n;
                              if (field.find_first_not_of("0123456789*,/-") != std::string::npos) {
                                return Error(g, "cron field \"" + Printable(field) +
                                                    "\" may only use digits, * , / and -");
                              }
                            }
                            if (n != 5) {
                              return Error(g,
                                           "expected 5 cron fields (minute hour day-of-month "
                                           "month day-of-week), got " +
                                               Describe(g.value));
                            }
                            t.schedule = text;
                          }},
                         {"interval",
                          [&](const Field& g) { ReadPositiveDuration(g, &t.interval_ms); }},
                         {"jitter",
                          [&](const Field& g) { ReadNonNegativeDuration(g, &t.jitter_ms); }},
                         {"timeout",
                          [&](const Field& g) { ReadPositiveDuration(g, &t.timeout_ms); }},
                         {"enabled", [&](const Field& g) { ReadBool(g, &t.enabled); }},
                         {"dry_run", [&](const Field& g) { ReadBool(g, &t.dry_run); }},
                         {"actions",
                          [&](const Field& g) {
                            t.actions_set = true;
                            ReadActionList(g, &t.actions);
                          }},
                     });
                 if (out_->errors.size() != errors_before) return;
                 if (t.name.empty()) return Error(item, "a maintenance task needs a name");
                 if (!t.schedule.empty() && t.interval_ms > 0) {
                   return Error(item, "task '" + t.name + "': set schedule or interval, not both");
                 }
                 if (!names.insert(t.name).second) {
                   return Error(item, "maintenance task '" + t.name + "' is defined twice");
                 }
                 m.tasks.push_back(std::move(t));
               });
             }},
        });
  }

  // Checks between settings, made once every key has been read so their order does not matter.
  void CheckRelations() {
    Config& c = out_->config;
    bool interval_ok = true;
    if (monitoring_interval_.present) {
      if (interval_.present) {
        Error(monitoring_interval_.at, "monitoring_interval",
              "conflicts with interval (line " + std::to_string(interval_.at.line) +
                  "); set only one");
        interval_ok = false;
      } else if (monitoring_interval_.valid) {
        c.interval_ms = monitoring_interval_ms_;
        Warn(monitoring_interval_.at, "monitoring_interval",
             "prototype key; mapped to interval = " + FormatDuration(c.interval_ms));
      }
      interval_ok = interval_ok && monitoring_interval_.valid;
    }
    if (interval_.present) interval_ok = interval_ok && interval_.valid;

    if (max_metrics_history_.present) {
      if (retention_.present) {
        Error(max_metrics_history_.at, "max_metrics_history",
              "conflicts with storage.retention (line " + std::to_string(retention_.at.line) +
                  "); set only one");
      } else if (max_metrics_history_.valid && interval_ok) {
        if (max_metrics_history_count_ > INT64_MAX / c.interval_ms) {
          Error(max_metrics_history_.at, "max_metrics_history",
                "too large, got " + max_metrics_history_.text);
        } else {
          c.storage.retention_ms = max_metrics_history_count_ * c.interval_ms;
          Warn(max_metrics_history_.at, "max_metrics_history",
               "prototype key; mapped to storage.retention = " +
                   std::to_string(max_metrics_history_count_) +
                   " x interval = " + FormatDuration(c.storage.retention_ms));
        }
      }
    }
    if (!interval_ok) return;  // the checks below compare against the interval
    const std::string interval_text = " (" + FormatDuration(c.interval_ms) + ")";
    if (retention_.valid && c.storage.retention_ms < c.interval_ms) {
      Error(
          retention_.at, "storage.retention",
          "must be at least the collection interval" + interval_text + ", got " + retention_.text);
    }
    if (collector_timeout_.valid && c.collector_timeout_ms > c.interval_ms) {
      Error(collector_timeout_.at, "collector_timeout",
            "must not exceed the collection interval" + interval_text + ", got " +
                collector_timeout_.text);
    }
    if (checkpoint_.valid && c.storage.checkpoint_interval_ms < c.interval_ms) {
      Error(
          checkpoint_.at, "storage.checkpoint_interval",
          "must be at least the collection interval" + interval_text + ", got " + checkpoint_.text);
    }
  }

  std::string file_;
  ConfigLoadResult* out_;
  Seen interval_, collector_timeout_, retention_, checkpoint_, monitoring_interval_,
      max_metrics_history_;
  int64_t monitoring_interval_ms_ = 0;
  int64_t max_metrics_history_count_ = 0;
};

// Makes data_dir absolute: empty means "var", relative is taken from base_dir.
std::string ResolveDataDir(const std::string& data_dir, const fs::path& base_dir) {
  fs::path p = data_dir.empty() ? fs::path("var") : fs::path(data_dir);
  if (p.is_relative()) p = base_dir / p;
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p.string();
}

// base_dir made absolute against the current directory; false (with *why) when that is unknown.
bool AbsoluteBase(std::string_view base_dir, fs::path* out, std::string* why) {
  fs::path base(base_dir);
  if (base.is_absolute()) {
    *out = base;
    return true;
  }
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) {
    *why = ec.message();
    return false;
  }
  *out = base.empty() ? cwd : cwd / base;
  return true;
}

// Notes where a document's first content starts; empty documents have none.
class FirstContent : public YAML::EventHandler {
 public:
  std::optional<Position> at;
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Note(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Note(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Note(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Note(mark);
  }
  void OnMapEnd() override {}

 private:
  void Note(const YAML::Mark& mark) {
    if (!at) at = Position{mark.line + 1, mark.column + 1};
  }
};

// Where a second, non-empty document starts, if there is one. Reads at most two documents:
// yaml-cpp 0.7 reports empty documents without end after some stray bytes (its LoadAll never
// returns on them). Throws YAML::Exception on a syntax error in the second document.
std::optional<Position> SecondDocument(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  FirstContent first;
  FirstContent second;
  if (!parser.HandleNextDocument(first)) return std::nullopt;
  if (!parser.HandleNextDocument(second)) return std::nullopt;
  return second.at;
}

ConfigLoadResult LoadConfigStringImpl(std::string_view text, const std::string& file,
                                      std::string_view base_dir) {
  ConfigLoadResult result;
  result.config.source = file == kStringSource ? std::string() : file;
  if (text.size() > kMaxConfigBytes) {
    result.errors.push_back({file, 0, 0, "", "larger than 1MiB; not a configuration file?"});
    return result;
  }
  YAML::Node root;
  std::optional<Position> second_document;
  try {
    std::string copy(text);
    root = YAML::Load(copy);
    second_document = SecondDocument(copy);
  } catch (const YAML::Exception& e) {
    Position at;
    if (!e.mark.is_null() && e.mark.line >= 0) at = {e.mark.line + 1, e.mark.column + 1};
    result.errors.push_back({file, at.line, at.column, "", "syntax error: " + e.msg});
    return result;
  }
  if (second_document) {
    result.errors.push_back({file, second_document->line, second_document->column, "",
                             "only one document is allowed; found another here"});
    return result;
  }
  Loader loader(file, &result);
  loader.Run(root);

  fs::path base;
  std::string why;
  if (AbsoluteBase(base_dir, &base, &why)) {
    result.config.storage.data_dir = ResolveDataDir(result.config.storage.data_dir, base);
  } else {
    result.errors.push_back(
        {file, 0, 0, "storage.data_dir", "cannot resolve against the current directory: " + why});
  }
  return result;
}

ConfigLoadResult OneError(const std::string& file, std::string message) {
  ConfigLoadResult result;
  result.config.source = file;
  result.errors.push_back({file, 0, 0, "", std::move(message)});
  return result;
}

}  // namespace

std::string ConfigError::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  if (!key.empty()) out += ": " + key;
  out += ": " + message;
  return out;
}

Config DefaultConfig() {
  Config config;
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  config.storage.data_dir = ec ? std::string("var") : ResolveDataDir("", cwd);
  return config;
}

ConfigLoadResult LoadConfigFile(const std::string& path) {
  try {
    int fd = -1;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return OneError(path, "cannot open: " + std::string(std::strerror(errno)));
    std::string text;
    char buf[16384];
    int read_errno = 0;
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_errno = errno;
        break;
      }
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
      if (text.size() > kMaxConfigBytes) break;
    }
    ::close(fd);
    if (read_errno != 0) {
      return OneError(path, "cannot read: " + std::string(std::strerror(read_errno)));
    }
    fs::path dir = fs::path(path).parent_path();
    ConfigLoadResult result = LoadConfigStringImpl(text, path, dir.string());
    result.config.source = path;
    return result;
  } catch (const std::exception& e) {
    return OneError(path, std::string("internal error: ") + e.what());
  } catch (...) {
    return OneError(path, "internal error");
  }
}

ConfigLoadResult LoadConfigString(std::string_view text, std::string_view source_name,
                                  std::string_view base_dir) {
  std::string file = source_name.empty() ? std::string(kStringSource) : std::string(source_name);
  try {
    return LoadConfigStringImpl(text, file, base_dir);
  } catch (const std::exception& e) {
    return OneError(file, std::string("internal error: ") + e.what());
  } catch (...) {
    return OneError(file, "internal error");
  }
}

bool ParseDurationMs(std::string_view text, int64_t* out_ms) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  std::string_view s = Trim(text);
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  double total = 0;
  bool first = true;
  while (!s.empty()) {
    double value = 0;
    if (!ConsumeDecimal(&s, &value)) return false;
    std::string_view unit = ConsumeLetters(&s);
    if (unit.empty()) {
      // A bare number is seconds, and only on its own ("1h30" is not a duration).
      if (!first || !s.empty()) return false;
      unit = "s";
    }
    auto it = std::find_if(std::begin(kUnits), std::end(kUnits),
                           [&](const auto& u) { return u.first == unit; });
    if (it == std::end(kUnits)) return false;
    total += value * static_cast<double>(it->second);
    if (total > kMaxExact) return false;
    first = false;
  }
  int64_t ms = std::llround(total);
  *out_ms = negative ? -ms : ms;
  return true;
}

bool ParseSizeBytes(std::string_view text, uint64_t* out_bytes) {
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"", 1.0},
      {"b", 1.0},
      {"kb", 1e3},
      {"mb", 1e6},
      {"gb", 1e9},
      {"tb", 1e12},
      {"kib", 1024.0},
      {"mib", 1048576.0},
      {"gib", 1073741824.0},
      {"tib", 1099511627776.0},
      {"ki", 1024.0},
      {"mi", 1048576.0},
      {"gi", 1073741824.0},
      {"ti", 1099511627776.0},
  };
  std::string_view s = Trim(text);
  double value = 0;
  if (!ConsumeDecimal(&s, &value)) return false;
  std::string unit = Lower(s);
  auto it = std::find_if(std::begin(kUnits), std::end(kUnits),
                         [&](const auto& u) { return u.first == unit; });
  if (it == std::end(kUnits)) return false;
  double bytes = value * it->second;
  if (!(bytes < kMaxExact * 1024)) return false;  // stays well inside uint64_t
  *out_bytes = static_cast<uint64_t>(std::llround(bytes));
  return true;
}

}  // namespace echomon::core
