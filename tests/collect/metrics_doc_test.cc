// Every metric declared in metric_defs.h is well formed and documented in docs/metrics.md.
#include <gtest/gtest.h>

#include <set>

#include "collect/metric_defs.h"
#include "core/labels.h"
#include "test_util.h"

namespace echomon::collect {
namespace {

TEST(MetricDefs, WellFormedAndUnique) {
  std::set<std::string_view> names;
  for (const MetricDef& def : kAllMetrics) {
    EXPECT_TRUE(core::IsValidMetricName(def.name)) << def.name;
    EXPECT_TRUE(names.insert(def.name).second) << "duplicate " << def.name;
    EXPECT_FALSE(def.help.empty()) << def.name;
    EXPECT_TRUE(def.name.starts_with("echomon_")) << def.name;
    EXPECT_EQ(def.name.ends_with("_total"), def.type == core::MetricType::kCounter) << def.name;
  }
}

TEST(MetricDefs, EveryMetricIsInDocs) {
  std::string doc =
      testing::ReadFileOrDie(std::string(ECHOMON_TEST_DATA_DIR) + "/../../docs/metrics.md");
  for (const MetricDef& def : kAllMetrics) {
    std::string cell = "`" + std::string(def.name) + "`";
    EXPECT_NE(doc.find(cell), std::string::npos) << def.name << " missing from docs/metrics.md";
  }
}

}  // namespace
}  // namespace echomon::collect
