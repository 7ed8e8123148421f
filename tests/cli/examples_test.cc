// The shipped example configurations (examples/*.yaml) as a user checks them: the real echomon
// binary runs `check-config` on each file, which must load without a problem or a warning, and
// together the examples must show every top-level section of the configuration.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace echomon {
namespace {

using testing::BuiltBinary;
using testing::RunCommand;

std::vector<std::string> ExampleConfigs() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(ECHOMON_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  return files;
}

TEST(Examples, EveryExampleConfigPassesCheckConfigWithoutWarnings) {
  const std::vector<std::string> files = ExampleConfigs();
  ASSERT_GE(files.size(), 2u) << "examples/echomon.yaml and examples/echomon-full.yaml expected";
  for (const std::string& file : files) {
    std::string out, err;
    EXPECT_EQ(RunCommand({BuiltBinary("src/cli/echomon"), "check-config", file}, &out, &err), 0)
        << file << ":\n"
        << err;
    EXPECT_EQ(out, file + ": ok\n") << file;
    EXPECT_EQ(err.find("warning"), std::string::npos) << file << ":\n" << err;
  }
}

// Each section the loader reads (ReadTopLevel in src/core/config.cc), less the prototype's
// keys, appears at the start of a line in some example, so a newcomer can copy it.
TEST(Examples, TheExamplesShowEveryTopLevelSection) {
  const std::vector<std::string> sections = {"interval",     "collector_timeout",
                                             "log_level",    "host",
                                             "gpu",          "storage",
                                             "server",       "alerting",
                                             "rules",        "maintenance_windows",
                                             "notifiers",    "anomaly",
                                             "scrape",       "components",
                                             "playbooks",    "response",
                                             "remote_write", "report",
                                             "actions",      "maintenance"};
  std::set<std::string> shown;
  const std::regex top_level("^([a-z_]+):");
  for (const std::string& file : ExampleConfigs()) {
    std::ifstream in(file);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, top_level)) shown.insert(m[1]);
    }
  }
  for (const std::string& section : sections) {
    EXPECT_TRUE(shown.count(section)) << "no example shows the section " << section;
  }
}

}  // namespace
}  // namespace echomon
