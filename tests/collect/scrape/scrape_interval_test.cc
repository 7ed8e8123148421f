// Per-target scrape intervals: a target is fetched only when due; between scrapes its last
// samples are re-emitted unchanged.
#include <gtest/gtest.h>

#include <string>

#include "collect/scrape/engine_profile.h"
#include "collect/scrape/scrape_collector.h"
#include "common/test_util.h"
#include "fake_engine.h"

namespace echomon::collect {
namespace {

using echomon::testing::FakeEngine;

constexpr int64_t kT0 = 1'700'000'000'000;

double ValueOf(const core::SampleBatch& batch, const std::string& name) {
  for (const auto& s : batch) {
    if (s.name == name) return s.value;
  }
  return -1;
}

TEST(ScrapeInterval, ATargetIsScrapedOnlyWhenDue) {
  FakeEngine target;
  target.Set("# TYPE work_total counter\nwork_total 10\n");
  ManualClock clock(kT0);
  ScrapeCollector collector({.name = "slow", .url = target.url(), .interval_ms = 5000}, &clock);
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.scrapes(), 1u);
  EXPECT_EQ(ValueOf(out, "work_total"), 10);

  target.Set("# TYPE work_total counter\nwork_total 20\n");
  for (int tick = 1; tick <= 4; ++tick) {  // 1 s ticks: not due yet
    clock.Advance(1000);
    out.clear();
    ASSERT_TRUE(collector.Collect(out).ok());
    EXPECT_EQ(collector.scrapes(), 1u) << "tick " << tick;
    EXPECT_EQ(ValueOf(out, "work_total"), 10);  // the last scrape, re-emitted
    EXPECT_EQ(ValueOf(out, "echomon_scrape_up"), 1);
  }
  clock.Advance(900);  // 4.9 s after the first scrape: within 5% of the interval, due
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.scrapes(), 2u);
  EXPECT_EQ(ValueOf(out, "work_total"), 20);

  // A failed scrape is re-emitted as failed until the next one is due.
  target.Set("oops", 500);
  clock.Advance(5000);
  out.clear();
  EXPECT_FALSE(collector.Collect(out).ok());
  EXPECT_EQ(ValueOf(out, "work_total"), -1);
  target.Set("# TYPE work_total counter\nwork_total 30\n");
  clock.Advance(1000);
  out.clear();
  EXPECT_FALSE(collector.Collect(out).ok());
  EXPECT_EQ(ValueOf(out, "echomon_scrape_up"), 0);
  EXPECT_EQ(collector.scrapes(), 3u);
}

TEST(ScrapeInterval, WithoutAnIntervalEveryTickScrapes) {
  FakeEngine target;
  target.Set("a 1\n");
  ManualClock clock(kT0);
  ScrapeCollector collector({.name = "fast", .url = target.url()}, &clock);
  core::SampleBatch out;
  for (int i = 0; i < 3; ++i) {
    collector.Collect(out);
    clock.Advance(1);
  }
  EXPECT_EQ(collector.scrapes(), 3u);
}

TEST(ScrapeInterval, TheEngineProfileHonoursItsInterval) {
  FakeEngine engine;
  std::string body = echomon::testing::ReadFile(std::string(ECHOMON_SHARED_DATA_DIR) +
                                                "/exposition/vllm_v0_sample.txt");
  engine.Set(body);
  ManualClock clock(kT0);
  EngineCollector collector({.name = "vllm", .url = engine.url(), .interval_ms = 10'000}, &clock);
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  const double kv = ValueOf(out, "echomon_engine_kv_cache_usage_percent");
  EXPECT_GE(kv, 0);
  engine.Set("garbage {", 200);  // would fail if it were fetched
  clock.Advance(5000);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(ValueOf(out, "echomon_engine_up"), 1);
  EXPECT_EQ(ValueOf(out, "echomon_engine_kv_cache_usage_percent"), kv);
  clock.Advance(5000);
  out.clear();
  EXPECT_FALSE(collector.Collect(out).ok());
  EXPECT_EQ(ValueOf(out, "echomon_engine_up"), 0);
}

}  // namespace
}  // namespace echomon::collect
