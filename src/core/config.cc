// Placeholder; replaced by the configuration loader.
#include "core/config.h"

namespace echomon::core {
std::string ConfigError::ToString() const { return file + ": " + message; }
Config DefaultConfig() { return Config{}; }
ConfigLoadResult LoadConfigFile(const std::string&) { return {}; }
ConfigLoadResult LoadConfigString(std::string_view, std::string_view, std::string_view) { return {}; }
bool ParseDurationMs(std::string_view, int64_t*) { return false; }
bool ParseSizeBytes(std::string_view, uint64_t*) { return false; }
}  // namespace echomon::core
