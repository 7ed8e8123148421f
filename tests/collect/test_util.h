// Helpers shared by the collect tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>

#include "core/metric.h"

namespace echomon::collect::testing {

inline std::string ProcTree(std::string_view name) {
  return std::string(ECHOMON_TEST_DATA_DIR) + "/proc/" + std::string(name);
}

inline std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The sample with this name and labels, or nullptr.
inline const core::Sample* FindSample(const core::SampleBatch& batch, std::string_view name,
                                      const core::Labels& labels = {}) {
  for (const core::Sample& s : batch) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

inline size_t CountSamples(const core::SampleBatch& batch, std::string_view name) {
  size_t n = 0;
  for (const core::Sample& s : batch) n += s.name == name ? 1 : 0;
  return n;
}

// The value of the sample; fails the test (and returns NaN) when it is absent.
#define ECHOMON_VALUE(batch, name, ...)                                          \
  ([&]() -> double {                                                             \
    const ::echomon::core::Sample* s_ = ::echomon::collect::testing::FindSample( \
        batch, name, ::echomon::core::Labels{__VA_ARGS__});                      \
    EXPECT_NE(s_, nullptr) << "missing " << name;                                \
    return s_ ? s_->value : std::numeric_limits<double>::quiet_NaN();            \
  }())

}  // namespace echomon::collect::testing
