// Schedule: when a maintenance task runs — every fixed interval, or at the times a 5-field cron
// expression names (minute hour day-of-month month day-of-week, evaluated in UTC).
//
// Cron fields accept *, numbers, ranges (a-b), lists (a,b) and steps (*/n, a-b/n); day of week
// is 0-7 with 0 and 7 both Sunday. As in cron, when both day-of-month and day-of-week are
// restricted a day matching either one matches.
//
// Thread-safety: immutable after Parse; safe to share.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "echomon/status.h"

namespace echomon::maintenance {

class CronExpression {
 public:
  // Parses "30 2 * * *". The error names the field and the problem.
  static Result<CronExpression> Parse(std::string_view text);
  // The first matching minute strictly after after_ms (ms since the epoch, UTC); -1 when none
  // within 5 years (e.g. "0 0 30 2 *").
  int64_t NextAfter(int64_t after_ms) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<8> weekdays_;  // 0..6 (7 folded into 0)
  bool day_restricted_ = false;
  bool weekday_restricted_ = false;
};

class Schedule {
 public:
  static Schedule Every(int64_t interval_ms);
  static Schedule Cron(CronExpression cron);
  // The next run time strictly after after_ms (before jitter); -1 when there is none.
  int64_t NextAfter(int64_t after_ms) const;
  // "every 6h" or "cron 30 2 * * *".
  std::string ToString() const;
  bool is_cron() const { return is_cron_; }
  int64_t interval_ms() const { return interval_ms_; }
  // The typical gap between runs (the interval; for cron, the gap after a reference time).
  int64_t TypicalPeriodMs() const;

 private:
  bool is_cron_ = false;
  int64_t interval_ms_ = 0;
  CronExpression cron_;
};

// "6h", "90m", "1d12h", "250ms".
std::string FormatDurationMs(int64_t ms);

}  // namespace echomon::maintenance
