#include "alert/silences.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <chrono>

#include "common/test_util.h"

namespace echomon::alert {
namespace {

using namespace std::chrono_literals;

int64_t Utc(date::sys_days day, std::chrono::minutes time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>((day + time).time_since_epoch())
      .count();
}

core::LabelMatcher Eq(std::string n, std::string v) {
  return core::LabelMatcher{std::move(n), core::LabelMatcher::Op::kEqual, std::move(v)};
}

constexpr int64_t kT0 = 1'700'000'000'000;

TEST(SilenceStore, MutesMatchingAlertsOnlyWhileActive) {
  auto store = SilenceStore::Open("");
  ASSERT_TRUE(store.ok());
  Silence s;
  s.matchers = {Eq("alertname", "disk_usage_high"), Eq("mount", "/data")};
  s.starts_ms = kT0 + 1000;
  s.ends_ms = kT0 + 60'000;
  s.author = "ops";
  s.comment = "resizing the volume";
  auto id = (*store)->Add(s, kT0);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  core::Labels disk{{"alertname", "disk_usage_high"}, {"mount", "/data"}, {"severity", "warning"}};
  core::Labels other{{"alertname", "disk_usage_high"}, {"mount", "/"}};
  EXPECT_FALSE((*store)->MatchingSilence(disk, kT0));  // not started yet
  EXPECT_EQ((*store)->MatchingSilence(disk, kT0 + 1000), *id);
  EXPECT_FALSE((*store)->MatchingSilence(other, kT0 + 1000));
  EXPECT_FALSE((*store)->MatchingSilence(disk, kT0 + 60'000));  // ended
  ASSERT_EQ((*store)->List(kT0 + 2000).size(), 1u);
  EXPECT_TRUE((*store)->List(kT0 + 60'000).empty());
  EXPECT_EQ((*store)->List(kT0 + 60'000, true).size(), 1u);
}

TEST(SilenceStore, ExpireEndsASilenceNowAndUnknownIdsAreNotFound) {
  auto store = SilenceStore::Open("");
  Silence s;
  s.matchers = {Eq("alertname", "cpu_usage_high")};
  s.ends_ms = kT0 + 3600'000;
  s.author = "me";
  auto id = (*store)->Add(s, kT0);
  ASSERT_TRUE(id.ok());
  core::Labels cpu{{"alertname", "cpu_usage_high"}};
  EXPECT_TRUE((*store)->MatchingSilence(cpu, kT0 + 5000));
  ASSERT_TRUE((*store)->Expire(*id, kT0 + 10'000).ok());
  EXPECT_FALSE((*store)->MatchingSilence(cpu, kT0 + 10'000));
  EXPECT_EQ((*store)->Expire("nope", kT0).code(), StatusCode::kNotFound);
}

TEST(SilenceStore, RejectsSilencesThatCannotWork) {
  auto store = SilenceStore::Open("");
  Silence s;
  s.author = "me";
  s.ends_ms = kT0 + 1000;
  EXPECT_NE((*store)->Add(s, kT0).status().message().find("matcher"), std::string::npos);
  s.matchers = {Eq("alertname", "x")};
  s.ends_ms = kT0 - 1;
  EXPECT_FALSE((*store)->Add(s, kT0).ok());
  s.ends_ms = kT0 + 1000;
  s.author.clear();
  EXPECT_NE((*store)->Add(s, kT0).status().message().find("author"), std::string::npos);
}

TEST(SilenceStore, SilencesSurviveARestart) {
  testing::TempDir dir;
  const std::string db = dir.File("echomon.db");
  std::string id;
  {
    auto store = SilenceStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Silence s;
    s.matchers = {Eq("alertname", "mem"), {"mount", core::LabelMatcher::Op::kNotEqual, "a\"b"}};
    s.ends_ms = kT0 + 3600'000;
    s.author = "ops";
    s.comment = "upgrade";
    id = *(*store)->Add(s, kT0);
  }
  auto store = SilenceStore::Open(db);
  ASSERT_TRUE(store.ok());
  auto list = (*store)->List(kT0);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, id);
  EXPECT_EQ(list[0].comment, "upgrade");
  ASSERT_EQ(list[0].matchers.size(), 2u);
  EXPECT_EQ(list[0].matchers[1].op, core::LabelMatcher::Op::kNotEqual);
  EXPECT_EQ(list[0].matchers[1].value, "a\"b");
}

TEST(SilenceStore, RegexSilenceMutesMatchingAlertsAndSurvivesARestart) {
  testing::TempDir dir;
  const std::string db = dir.File("echomon.db");
  std::string id;
  core::Labels disk{{"alertname", "disk_usage_high"}, {"mount", "/data"}};
  core::Labels forecast{{"alertname", "disk_full_forecast"}, {"mount", "/var"}};
  core::Labels boot{{"alertname", "disk_usage_high"}, {"mount", "/boot/efi"}};
  core::Labels cpu{{"alertname", "cpu_usage_high"}};
  core::Labels substring{{"alertname", "big_disk_usage_high"}};  // =~ is anchored
  {
    auto store = SilenceStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Silence s;
    std::string error;
    // As POST /api/v1/silences and `echomon silence add` give it: matcher text.
    ASSERT_TRUE(
        core::ParseLabelMatchers(R"(alertname=~"disk_.*", mount!~"/boot.*")", &s.matchers, &error))
        << error;
    s.ends_ms = kT0 + 3600'000;
    s.author = "ops";
    auto added = (*store)->Add(s, kT0);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    id = *added;
    EXPECT_EQ((*store)->MatchingSilence(disk, kT0 + 1000), id);
    EXPECT_EQ((*store)->MatchingSilence(forecast, kT0 + 1000), id);
    EXPECT_FALSE((*store)->MatchingSilence(boot, kT0 + 1000));
    EXPECT_FALSE((*store)->MatchingSilence(cpu, kT0 + 1000));
    EXPECT_FALSE((*store)->MatchingSilence(substring, kT0 + 1000));
  }
  auto store = SilenceStore::Open(db);
  ASSERT_TRUE(store.ok());
  auto list = (*store)->List(kT0);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(core::MatchersToString(list[0].matchers), R"(alertname=~"disk_.*",mount!~"/boot.*")");
  EXPECT_EQ((*store)->MatchingSilence(forecast, kT0 + 1000), id);
  EXPECT_FALSE((*store)->MatchingSilence(boot, kT0 + 1000));
}

TEST(SilenceStore, RejectsARegexMatcherThatDoesNotCompile) {
  auto store = SilenceStore::Open("");
  Silence s;
  s.matchers = {{"alertname", core::LabelMatcher::Op::kRegex, "disk_(.*"}};
  s.ends_ms = kT0 + 1000;
  s.author = "me";
  auto added = (*store)->Add(s, kT0);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.status().message().find("invalid regular expression"), std::string::npos)
      << added.status().message();
}

TEST(MaintenanceWindow, WeeklyWindowInUtc) {
  MaintenanceWindow w;
  w.name = "sunday-maintenance";
  w.days = {0};
  ASSERT_TRUE(ParseClockTime("02:00", &w.start_minute));
  ASSERT_TRUE(ParseClockTime("04:00", &w.end_minute));
  ASSERT_TRUE(w.Validate().ok());
  const date::sys_days sunday = date::year{2026} / 11 / 29;
  EXPECT_FALSE(w.ActiveAt(Utc(sunday, 119min)));
  EXPECT_TRUE(w.ActiveAt(Utc(sunday, 120min)));
  EXPECT_TRUE(w.ActiveAt(Utc(sunday, 239min)));
  EXPECT_FALSE(w.ActiveAt(Utc(sunday, 240min)));
  EXPECT_FALSE(w.ActiveAt(Utc(sunday + date::days{1}, 150min)));  // Monday
}

TEST(MaintenanceWindow, CrossesMidnightAndFollowsTheTimeZoneIncludingDst) {
  MaintenanceWindow w;
  w.name = "nightly";
  w.days = {5};  // Friday 23:00 -> Saturday 01:00, Berlin time
  w.start_minute = 23 * 60;
  w.end_minute = 60;
  w.time_zone = "Europe/Berlin";
  ASSERT_TRUE(w.Validate().ok());
  // Winter (UTC+1): Friday 2026-11-27 23:30 Berlin = 22:30 UTC.
  const date::sys_days fri_winter = date::year{2026} / 11 / 27;
  EXPECT_TRUE(w.ActiveAt(Utc(fri_winter, 22h + 30min)));
  EXPECT_FALSE(w.ActiveAt(Utc(fri_winter, 21h + 30min)));  // 22:30 Berlin
  EXPECT_TRUE(w.ActiveAt(Utc(fri_winter, 23h + 45min)));   // Saturday 00:45 Berlin
  EXPECT_FALSE(w.ActiveAt(Utc(fri_winter, 24h + 15min)));  // Saturday 01:15 Berlin
  // Summer (UTC+2): Friday 2026-07-03 23:30 Berlin = 21:30 UTC.
  const date::sys_days fri_summer = date::year{2026} / 7 / 3;
  EXPECT_TRUE(w.ActiveAt(Utc(fri_summer, 21h + 30min)));
  EXPECT_FALSE(w.ActiveAt(Utc(fri_summer, 22h + 30min + 60min)));  // 01:30 Berlin Saturday
}

TEST(MaintenanceWindow, ValidationNamesTheProblem) {
  MaintenanceWindow w;
  w.name = "w";
  w.start_minute = 60;
  w.end_minute = 120;
  w.time_zone = "Mars/Olympus";
  Status s = w.Validate();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Mars/Olympus"), std::string::npos);
  w.time_zone = "UTC";
  w.days = {7};
  EXPECT_FALSE(w.Validate().ok());
  int m = 0;
  EXPECT_FALSE(ParseClockTime("25:00", &m));
  EXPECT_FALSE(ParseClockTime("2:00", &m));
  int d = 0;
  EXPECT_TRUE(ParseWeekday("Sun", &d));
  EXPECT_EQ(d, 0);
  EXPECT_TRUE(ParseWeekday("saturday", &d));
  EXPECT_EQ(d, 6);
  EXPECT_FALSE(ParseWeekday("funday", &d));
}

TEST(SilenceStore, MaintenanceWindowsMuteMatchingAlerts) {
  auto store = SilenceStore::Open("");
  MaintenanceWindow w;
  w.name = "always-on-gpu";
  w.start_minute = 0;
  w.end_minute = 24 * 60;
  w.matchers = {Eq("alertname", "gpu_utilization_high")};
  (*store)->SetMaintenanceWindows({w});
  EXPECT_EQ((*store)->MatchingWindow({{"alertname", "gpu_utilization_high"}}, kT0),
            "always-on-gpu");
  EXPECT_FALSE((*store)->MatchingWindow({{"alertname", "cpu_usage_high"}}, kT0));
}

}  // namespace
}  // namespace echomon::alert
