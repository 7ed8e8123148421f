// Cron and interval schedules: next-run times, field validation.
#include "maintenance/schedule.h"

#include <gtest/gtest.h>

namespace echomon::maintenance {
namespace {

// 2026-11-27 05:00:00 UTC, a Friday.
constexpr int64_t kFri0500 = 1'795'755'600'000;
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

int64_t Next(const std::string& cron, int64_t after) {
  auto c = CronExpression::Parse(cron);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? c->NextAfter(after) : -2;
}

TEST(CronExpression, DailyAtATime) {
  EXPECT_EQ(Next("30 2 * * *", kFri0500), kFri0500 + 21 * kHour + 30 * kMin);  // Sat 02:30
  EXPECT_EQ(Next("0 5 * * *", kFri0500), kFri0500 + kDay);                     // strictly after
  EXPECT_EQ(Next("0 5 * * *", kFri0500 - 1), kFri0500);
}

TEST(CronExpression, StepsRangesAndLists) {
  EXPECT_EQ(Next("*/15 * * * *", kFri0500 + 1), kFri0500 + 15 * kMin);
  EXPECT_EQ(Next("5,50 9-10 * * *", kFri0500), kFri0500 + 4 * kHour + 5 * kMin);
  EXPECT_EQ(Next("5,50 9-10 * * *", kFri0500 + 4 * kHour + 5 * kMin),
            kFri0500 + 4 * kHour + 50 * kMin);
  EXPECT_EQ(Next("0 */6 * * *", kFri0500), kFri0500 + kHour);  // 06:00
  EXPECT_EQ(Next("10-20/5 * * * *", kFri0500 + 11 * kMin), kFri0500 + 15 * kMin);
}

TEST(CronExpression, DaysOfWeekAndMonth) {
  // Monday 00:00 after Friday: 3 days minus 5 hours.
  EXPECT_EQ(Next("0 0 * * 1", kFri0500), kFri0500 + 3 * kDay - 5 * kHour);
  EXPECT_EQ(Next("0 0 * * 7", kFri0500), kFri0500 + 2 * kDay - 5 * kHour);  // Sunday
  EXPECT_EQ(Next("0 0 * * 0", kFri0500), kFri0500 + 2 * kDay - 5 * kHour);
  // 1st of the month: 2026-12-01 00:00.
  EXPECT_EQ(Next("0 0 1 * *", kFri0500), kFri0500 + 4 * kDay - 5 * kHour);
  // Both restricted: either matches (the 1st, or a Monday) -> Monday the 30th comes first.
  EXPECT_EQ(Next("0 0 1 * 1", kFri0500), kFri0500 + 3 * kDay - 5 * kHour);
  // 29 February: 2028.
  int64_t leap = Next("0 0 29 2 *", kFri0500);
  EXPECT_EQ((leap - kFri0500 + 5 * kHour) % kDay, 0);
  EXPECT_GT(leap, kFri0500 + 365 * kDay);
  EXPECT_LT(leap, kFri0500 + 2 * 366 * kDay);
  EXPECT_FALSE(CronExpression::Parse("0 0 30 2 *").ok());  // never: refused when parsed
}

TEST(CronExpression, ErrorsNameTheField) {
  auto check = [](const std::string& text, const std::string& want) {
    auto c = CronExpression::Parse(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << text << ": " << c.status().message();
  };
  check("* * * *", "expected 5 cron fields");
  check("60 * * * *", "minute field");
  check("* 24 * * *", "hour field");
  check("* * 0 * *", "day-of-month field");
  check("* * * 13 *", "month field");
  check("* * * * 8", "day-of-week field");
  check("*/0 * * * *", "invalid step");
  check("5-1 * * * *", "minute field");
  check("a * * * *", "minute field");
  check("1,,2 * * * *", "empty list item");
  check("30 2 31 2 *", "never matches");  // February 31st
  check("0 0 31 4,6,9,11 *", "never matches");
  EXPECT_TRUE(CronExpression::Parse("0 0 29 2 *").ok());  // leap days exist
  EXPECT_TRUE(CronExpression::Parse("0 0 31 2 1").ok());  // or Mondays in February
}

TEST(Schedule, IntervalAndDescription) {
  Schedule s = Schedule::Every(6 * kHour);
  EXPECT_EQ(s.NextAfter(1000), 1000 + 6 * kHour);
  EXPECT_EQ(s.ToString(), "every 6h");
  EXPECT_EQ(Schedule::Every(90 * kMin).ToString(), "every 1h30m");
  auto cron = CronExpression::Parse("0  3 * * *");
  ASSERT_TRUE(cron.ok());
  Schedule c = Schedule::Cron(*cron);
  EXPECT_EQ(c.ToString(), "cron 0 3 * * *");
  EXPECT_EQ(c.TypicalPeriodMs(), kDay);
}

}  // namespace
}  // namespace echomon::maintenance
