// Runs the OpenMetrics parser conformance suite (OpenObservability/OpenMetrics, 211 cases) as the
// upstream runner does: each case's bytes are parsed in OpenMetrics mode and the case passes when
// "parsed without error" equals its test.json "shouldParse".
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collect/expfmt/parser.h"

namespace echomon::collect::expfmt {
namespace {

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(OpenMetricsConformance, PassesWholeSuite) {
  const std::filesystem::path root =
      std::filesystem::path(ECHOMON_SHARED_DATA_DIR) / "openmetrics" / "parsers";
  ASSERT_TRUE(std::filesystem::is_directory(root)) << root;
  std::vector<std::filesystem::path> cases;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (entry.is_directory()) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());

  int passed = 0;
  int valid = 0;
  std::vector<std::string> failures;
  for (const auto& dir : cases) {
    const auto spec = nlohmann::json::parse(ReadBytes(dir / "test.json"));
    ASSERT_EQ(spec.at("type").get<std::string>(), "text") << dir;
    const bool should_parse = spec.at("shouldParse").get<bool>();
    valid += should_parse ? 1 : 0;
    const std::string body = ReadBytes(dir / spec.at("file").get<std::string>());
    ParseError error;
    const auto result = Parse(body, Format::kOpenMetrics, ParseLimits{}, &error);
    if (result.ok() == should_parse) {
      ++passed;
    } else {
      failures.push_back(dir.filename().string() + ": expected " +
                         (should_parse ? "success, got " + error.ToString() : "an error"));
    }
  }
  std::cout << "[ conformance ] OpenMetrics parser suite: " << passed << "/" << cases.size()
            << " cases pass (" << valid << " valid, " << cases.size() - valid << " invalid)\n";
  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(cases.size(), 211u);
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace echomon::collect::expfmt
