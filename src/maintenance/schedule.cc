#include "maintenance/schedule.h"

#include <charconv>
#include <vector>

namespace echomon::maintenance {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;

// Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool ParseInt(std::string_view s, int* out) {
  if (s.empty() || s.size() > 4) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

template <size_t N>
bool ParseField(std::string_view field, int lo, int hi, const char* name, std::bitset<N>* bits,
                bool* restricted, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = std::string(name) + " field \"" + std::string(field) + "\": " + why;
    return false;
  };
  *restricted = field != "*";
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    std::string_view part = field.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.empty()) return fail("empty list item");
    int step = 1;
    size_t slash = part.find('/');
    std::string_view range = part.substr(0, slash);
    if (slash != std::string_view::npos) {
      if (!ParseInt(part.substr(slash + 1), &step) || step <= 0) return fail("invalid step");
    }
    int a = lo, b = hi;
    if (range == "*") {
      // whole range
    } else {
      size_t dash = range.find('-');
      if (dash == std::string_view::npos) {
        if (!ParseInt(range, &a)) return fail("expected a number, * or a range");
        b = slash != std::string_view::npos ? hi : a;
      } else if (!ParseInt(range.substr(0, dash), &a) || !ParseInt(range.substr(dash + 1), &b)) {
        return fail("invalid range");
      }
    }
    if (a < lo || b > hi || a > b) {
      return fail("values must be within " + std::to_string(lo) + "-" + std::to_string(hi));
    }
    for (int v = a; v <= b; v += step) bits->set(static_cast<size_t>(v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(
        "expected 5 cron fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()) + " in \"" + std::string(text) + "\"");
  }
  CronExpression c;
  std::string error;
  bool r = false;
  std::bitset<8> weekdays;
  if (!ParseField(fields[0], 0, 59, "minute", &c.minutes_, &r, &error) ||
      !ParseField(fields[1], 0, 23, "hour", &c.hours_, &r, &error) ||
      !ParseField(fields[2], 1, 31, "day-of-month", &c.days_, &c.day_restricted_, &error) ||
      !ParseField(fields[3], 1, 12, "month", &c.months_, &r, &error) ||
      !ParseField(fields[4], 0, 7, "day-of-week", &weekdays, &c.weekday_restricted_, &error)) {
    return Status::InvalidArgument(error);
  }
  c.weekdays_ = weekdays;
  if (weekdays.test(7)) c.weekdays_.set(0);
  c.weekdays_.reset(7);
  for (size_t k = 0; k < fields.size(); ++k) c.text_ += (k ? " " : "") + std::string(fields[k]);
  // A date that never exists ("31 2": February 31st) would never run the task.
  if (c.NextAfter(0) < 0) {
    return Status::InvalidArgument("\"" + c.text_ + "\" never matches (no such date)");
  }
  return c;
}

int64_t CronExpression::NextAfter(int64_t after_ms) const {
  int64_t minute = FloorDiv(after_ms, kMinuteMs) + 1;  // strictly after
  int64_t day = FloorDiv(minute * kMinuteMs, kDayMs);
  int first_minute_of_day = static_cast<int>(minute - day * 1440);
  for (int64_t k = 0; k < 366 * 5; ++k, ++day, first_minute_of_day = 0) {
    int y;
    unsigned m, d;
    CivilFromDays(day, &y, &m, &d);
    if (!months_.test(m)) continue;
    int weekday = static_cast<int>(((day % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
    bool dom = days_.test(d);
    bool dow = weekdays_.test(static_cast<size_t>(weekday));
    bool day_ok = (day_restricted_ && weekday_restricted_) ? (dom || dow)
                  : day_restricted_                        ? dom
                  : weekday_restricted_                    ? dow
                                                           : true;
    if (!day_ok) continue;
    for (int mod = first_minute_of_day; mod < 1440; ++mod) {
      if (hours_.test(static_cast<size_t>(mod / 60)) &&
          minutes_.test(static_cast<size_t>(mod % 60))) {
        return day * kDayMs + static_cast<int64_t>(mod) * kMinuteMs;
      }
    }
  }
  return -1;
}

Schedule Schedule::Every(int64_t interval_ms) {
  Schedule s;
  s.interval_ms_ = interval_ms > 0 ? interval_ms : 1;
  return s;
}

Schedule Schedule::Cron(CronExpression cron) {
  Schedule s;
  s.is_cron_ = true;
  s.cron_ = std::move(cron);
  return s;
}

int64_t Schedule::NextAfter(int64_t after_ms) const {
  if (is_cron_) return cron_.NextAfter(after_ms);
  return after_ms + interval_ms_;
}

int64_t Schedule::TypicalPeriodMs() const {
  if (!is_cron_) return interval_ms_;
  int64_t a = cron_.NextAfter(0);
  int64_t b = a >= 0 ? cron_.NextAfter(a) : -1;
  return b > a ? b - a : kDayMs;
}

std::string Schedule::ToString() const {
  return is_cron_ ? "cron " + cron_.text() : "every " + FormatDurationMs(interval_ms_);
}

std::string FormatDurationMs(int64_t ms) {
  if (ms <= 0) return "0s";
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  std::string out;
  const std::pair<int64_t, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [size, name] : units) {
    if (s >= size) {
      out += std::to_string(s / size) + name;
      s %= size;
    }
  }
  return out;
}

}  // namespace echomon::maintenance
