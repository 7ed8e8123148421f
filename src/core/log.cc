#include "core/log.h"

#include <mutex>
#include <set>
#include <string>

namespace echomon::core {
namespace {
std::mutex& OnceMutex() {
  static std::mutex mu;
  return mu;
}
std::set<std::string, std::less<>>& OnceKeys() {
  static std::set<std::string, std::less<>> keys;
  return keys;
}
}  // namespace

bool SetLogLevel(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);
  return true;
}

bool WarnOnce(std::string_view key, std::string_view message) {
  {
    std::lock_guard<std::mutex> lock(OnceMutex());
    if (!OnceKeys().emplace(key).second) return false;
  }
  spdlog::warn("{}", message);
  return true;
}

void ResetOnce(std::string_view key) {
  std::lock_guard<std::mutex> lock(OnceMutex());
  auto it = OnceKeys().find(key);
  if (it != OnceKeys().end()) OnceKeys().erase(it);
}

}  // namespace echomon::core
