// Helpers for the action tests: limits over a temp dir, running an action spec.
#pragma once

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/test_util.h"
#include "respond/action.h"

namespace echomon::respond::testing {

using nlohmann::json;

inline ActionResult Act(const std::string& type, json params, const ActionLimits& limits,
                        bool dry_run = false, int64_t timeout_ms = 10'000,
                        ActionContext context = {}) {
  ActionSpec spec;
  spec.type = type;
  spec.params = std::move(params);
  spec.timeout_ms = timeout_ms;
  context.limits = &limits;
  context.dry_run = dry_run;
  return RunAction(spec, context);
}

inline bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Sets a file's modification time to age_s seconds ago.
inline void Age(const std::string& path, int64_t age_s) {
  struct timeval tv[2];
  ::gettimeofday(&tv[0], nullptr);
  tv[0].tv_sec -= age_s;
  tv[1] = tv[0];
  ::lutimes(path.c_str(), tv);
}

inline void WriteBytes(const std::string& path, size_t n, char fill = 'x') {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(4096, fill);
  while (n > 0) {
    size_t k = std::min(n, chunk.size());
    out.write(chunk.data(), static_cast<std::streamsize>(k));
    n -= k;
  }
}

// Polls until pred() or timeout; true when pred() held.
template <typename F>
bool WaitFor(F pred, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

inline bool Alive(pid_t pid) {
  // A zombie still answers kill(0); check /proc state.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

}  // namespace echomon::respond::testing
