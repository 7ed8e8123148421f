// Agent configuration: one YAML (or JSON) file, validated at load.
//
// LoadConfig* never throws: every problem is returned as a ConfigError naming the file, line,
// column and key. Unknown keys are errors (they are usually typos). The prototype's JSON keys
// (monitoring_interval, max_metrics_history, alert_thresholds, degradation_detection) are
// accepted and mapped onto the settings below; see docs/configuration.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace echomon::core {

struct HostCollectorConfig {
  bool enabled = true;
  std::string proc_root = "/proc";  // where /proc is read from (tests point it at a capture)
  std::string sys_root = "/sys";
  bool per_core = true;  // per-core CPU series in addition to the total
  // Filesystem types never reported (pseudo filesystems); replaces the built-in list when set.
  std::vector<std::string> exclude_fs_types;
  // Network interfaces not reported (exact names).
  std::vector<std::string> exclude_interfaces;
};

struct StorageConfig {
  // Where durable state lives. Empty: "var" next to the config file, or ./var for the
  // built-in configuration. Resolved to an absolute path by the loader.
  std::string data_dir;
  bool persist = true;                          // false: memory only, nothing written
  int64_t retention_ms = 24LL * 3600 * 1000;    // how long samples are kept
  uint64_t max_memory_bytes = 256ULL << 20;     // in-memory chunk budget; oldest evicted first
  int64_t checkpoint_interval_ms = 60'000;      // how often open (head) chunks are saved
};

struct ServerConfig {
  std::string listen = "127.0.0.1:9470";  // host:port; port 0 picks a free port
  // Token required by mutating endpoints (and by every endpoint when listening beyond
  // loopback). Empty: generated at start and written to <data_dir>/token.
  std::string token;
};

// Settings kept from the prototype's configuration, consumed by the alerting component.
struct LegacyConfig {
  std::map<std::string, double> alert_thresholds;  // metric name -> threshold
  int degradation_window = 10;                     // samples in the degradation window
  double degradation_threshold = 0.15;             // relative decline that alerts
};

struct Config {
  std::string source;           // path the configuration came from; "" for the built-in one
  int64_t interval_ms = 1000;   // collection interval
  int64_t collector_timeout_ms = 0;  // per-collector timeout; 0 means interval_ms / 2
  std::string log_level = "info";
  HostCollectorConfig host;
  StorageConfig storage;
  ServerConfig server;
  LegacyConfig legacy;

  int64_t EffectiveCollectorTimeoutMs() const {
    return collector_timeout_ms > 0 ? collector_timeout_ms : interval_ms / 2;
  }
};

struct ConfigError {
  std::string file;  // as given; "<built-in>" / "<string>" for non-file sources
  int line = 0;      // 1-based; 0 when not known
  int column = 0;    // 1-based; 0 when not known
  std::string key;   // dotted path, e.g. storage.retention
  std::string message;
  // "file:line:column: key: message"
  std::string ToString() const;
};

struct ConfigLoadResult {
  Config config;
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;  // e.g. a prototype key that was mapped
  bool ok() const { return errors.empty(); }
};

// The built-in default configuration.
Config DefaultConfig();

// Loads and validates a YAML or JSON file. An unreadable file is one error naming the path.
ConfigLoadResult LoadConfigFile(const std::string& path);

// Loads and validates configuration text; source_name appears in errors. base_dir is used to
// resolve a relative data_dir (empty: the current directory).
ConfigLoadResult LoadConfigString(std::string_view text, std::string_view source_name,
                                  std::string_view base_dir = {});

// Parses a duration such as "250ms", "1s", "5m", "24h", "7d" or a plain number of seconds.
// Returns false on malformed input.
bool ParseDurationMs(std::string_view text, int64_t* out_ms);
// Parses a size such as "512MiB", "1GB", "1048576". Returns false on malformed input.
bool ParseSizeBytes(std::string_view text, uint64_t* out_bytes);

}  // namespace echomon::core
