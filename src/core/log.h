// Logging through spdlog, plus "log once" helpers for degraded modes: a failing source is
// logged the first time it fails and again only after it has recovered (ResetOnce).
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace echomon::core {

// Sets the level of the default logger from a name (trace, debug, info, warn, error, off).
// Returns false for an unknown name.
bool SetLogLevel(std::string_view level);

// Logs message at warn level if key has not been logged since the last ResetOnce(key).
// Returns true when it logged.
bool WarnOnce(std::string_view key, std::string_view message);
// Forgets key, so the next WarnOnce(key, ...) logs again. Logs nothing.
void ResetOnce(std::string_view key);

}  // namespace echomon::core
