#include "alert/silences.h"

#include <date/tz.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

namespace echomon::alert {
namespace {

// Local date and minute of day of t in zone. Throws std::runtime_error for an unknown zone.
struct LocalTime {
  int weekday;       // 0 = Sunday
  int prev_weekday;  // the day before
  int minute;
};
LocalTime ToLocal(const std::string& zone_name, int64_t t_ms) {
  const date::time_zone* zone = date::locate_zone(zone_name);
  auto local =
      zone->to_local(date::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(t_ms)));
  auto day = date::floor<date::days>(local);
  const int wd = static_cast<int>(date::weekday(day).c_encoding());
  return LocalTime{
      wd, (wd + 6) % 7,
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count())};
}

}  // namespace

bool Silence::Matches(const core::Labels& labels) const {
  if (matchers.empty()) return false;
  for (const auto& m : matchers) {
    if (!m.Matches(labels)) return false;
  }
  return true;
}

bool ParseClockTime(std::string_view text, int* minutes) {
  if (text.size() != 5 || text[2] != ':') return false;
  auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (!digit(0) || !digit(1) || !digit(3) || !digit(4)) return false;
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

bool ParseWeekday(std::string_view text, int* day) {
  static const char* kNames[] = {"sunday",   "monday", "tuesday", "wednesday",
                                 "thursday", "friday", "saturday"};
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.size() < 3) return false;
  for (int i = 0; i < 7; ++i) {
    std::string_view full = kNames[i];
    if (lower == full || lower == full.substr(0, 3)) {
      *day = i;
      return true;
    }
  }
  return false;
}

Status MaintenanceWindow::Validate() const {
  auto bad = [this](const std::string& why) {
    return Status::InvalidArgument("maintenance window '" + name + "': " + why);
  };
  if (name.empty()) return Status::InvalidArgument("a maintenance window needs a name");
  for (int d : days) {
    if (d < 0 || d > 6) return bad("days must be 0 (Sunday) to 6 (Saturday)");
  }
  if (start_minute < 0 || start_minute > 24 * 60 || end_minute < 0 || end_minute > 24 * 60) {
    return bad("times must be within 00:00-24:00");
  }
  if (start_minute == end_minute) return bad("start and end are the same time");
  try {
    date::locate_zone(time_zone);
  } catch (const std::exception&) {
    return bad("unknown time zone '" + time_zone + "' (use an IANA name such as Europe/Berlin)");
  }
  return Status::Ok();
}

bool MaintenanceWindow::ActiveAt(int64_t now_ms) const {
  LocalTime lt;
  try {
    lt = ToLocal(time_zone, now_ms);
  } catch (const std::exception&) {
    return false;
  }
  auto on = [this](int wd) {
    return days.empty() || std::find(days.begin(), days.end(), wd) != days.end();
  };
  if (start_minute < end_minute)
    return on(lt.weekday) && lt.minute >= start_minute && lt.minute < end_minute;
  // Crosses midnight: the evening part belongs to today, the morning part to yesterday.
  return (on(lt.weekday) && lt.minute >= start_minute) ||
         (on(lt.prev_weekday) && lt.minute < end_minute);
}

struct SilenceStore::Impl {
  mutable std::mutex mu;
  sqlite3* db = nullptr;
  std::map<std::string, Silence> silences;
  std::vector<MaintenanceWindow> windows;
  uint64_t sequence = 0;

  ~Impl() {
    if (db) sqlite3_close(db);
  }

  Status Save(const Silence& s) {
    if (!db) return Status::Ok();
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "INSERT OR REPLACE INTO silences (id, matchers, starts_ms, ends_ms, author, comment, "
        "created_ms) VALUES (?,?,?,?,?,?,?)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      return Status::IoError(std::string("save silence: ") + sqlite3_errmsg(db));
    }
    const std::string m = core::MatchersToString(s.matchers);
    sqlite3_bind_text(st, 1, s.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, m.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, s.starts_ms);
    sqlite3_bind_int64(st, 4, s.ends_ms);
    sqlite3_bind_text(st, 5, s.author.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, s.comment.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, s.created_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      return Status::IoError(std::string("save silence: ") + sqlite3_errmsg(db));
    return Status::Ok();
  }
};

Result<std::unique_ptr<SilenceStore>> SilenceStore::Open(const std::string& db_path) {
  std::unique_ptr<SilenceStore> store(new SilenceStore());
  store->impl_ = std::make_unique<Impl>();
  if (db_path.empty()) return store;
  Impl& d = *store->impl_;
  if (sqlite3_open_v2(db_path.c_str(), &d.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    return Status::IoError("cannot open " + db_path + ": " +
                           (d.db ? sqlite3_errmsg(d.db) : "out of memory"));
  }
  sqlite3_busy_timeout(d.db, 5000);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, "
      "starts_ms INTEGER NOT NULL, ends_ms INTEGER NOT NULL, author TEXT NOT NULL, "
      "comment TEXT NOT NULL, created_ms INTEGER NOT NULL);";
  char* err = nullptr;
  if (sqlite3_exec(d.db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = "cannot initialise silences in " + db_path + ": " + (err ? err : "?");
    sqlite3_free(err);
    return Status::IoError(message);
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(d.db,
                     "SELECT id, matchers, starts_ms, ends_ms, author, comment, created_ms "
                     "FROM silences",
                     -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    Silence s;
    auto text = [st](int i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      return std::string(t ? reinterpret_cast<const char*>(t) : "");
    };
    s.id = text(0);
    std::string error;
    core::ParseLabelMatchers(text(1), &s.matchers, &error);
    s.starts_ms = sqlite3_column_int64(st, 2);
    s.ends_ms = sqlite3_column_int64(st, 3);
    s.author = text(4);
    s.comment = text(5);
    s.created_ms = sqlite3_column_int64(st, 6);
    d.silences.emplace(s.id, std::move(s));
  }
  sqlite3_finalize(st);
  return store;
}

SilenceStore::~SilenceStore() = default;

Result<std::string> SilenceStore::Add(Silence silence, int64_t now_ms) {
  if (silence.matchers.empty()) {
    return Status::InvalidArgument("a silence needs at least one label matcher");
  }
  for (auto& m : silence.matchers) {
    if (!core::IsValidLabelName(m.name) && m.name != "alertname") {
      return Status::InvalidArgument("'" + m.name + "' is not a valid label name");
    }
    std::string why;
    if (!m.Compile(&why)) return Status::InvalidArgument(why);  // =~ / !~ must compile
  }
  if (silence.starts_ms == 0) silence.starts_ms = now_ms;
  if (silence.ends_ms <= silence.starts_ms) {
    return Status::InvalidArgument("a silence must end after it starts");
  }
  if (silence.ends_ms <= now_ms)
    return Status::InvalidArgument("the silence would already be over");
  if (silence.author.empty()) return Status::InvalidArgument("a silence needs an author");
  std::lock_guard<std::mutex> lock(impl_->mu);
  silence.created_ms = now_ms;
  if (silence.id.empty())
    silence.id = fmt::format("s{:013d}-{:04d}", now_ms, impl_->sequence++ % 10000);
  if (Status s = impl_->Save(silence); !s.ok()) return s;
  std::string id = silence.id;
  impl_->silences[id] = std::move(silence);
  return id;
}

Status SilenceStore::Expire(const std::string& id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->silences.find(id);
  if (it == impl_->silences.end()) return Status::NotFound("no silence with id '" + id + "'");
  Silence updated = it->second;
  if (updated.ends_ms > now_ms) updated.ends_ms = std::max(now_ms, updated.starts_ms);
  if (Status s = impl_->Save(updated); !s.ok()) return s;
  it->second = std::move(updated);
  return Status::Ok();
}

std::vector<Silence> SilenceStore::List(int64_t now_ms, bool include_expired) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<Silence> out;
  for (const auto& [id, s] : impl_->silences) {
    if (include_expired || s.ends_ms > now_ms) out.push_back(s);
  }
  std::sort(out.begin(), out.end(),
            [](const Silence& a, const Silence& b) { return a.created_ms > b.created_ms; });
  return out;
}

std::optional<std::string> SilenceStore::MatchingSilence(const core::Labels& labels,
                                                         int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& [id, s] : impl_->silences) {
    if (s.ActiveAt(now_ms) && s.Matches(labels)) return id;
  }
  return std::nullopt;
}

void SilenceStore::SetMaintenanceWindows(std::vector<MaintenanceWindow> windows) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->windows = std::move(windows);
}

std::vector<MaintenanceWindow> SilenceStore::maintenance_windows() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->windows;
}

std::optional<std::string> SilenceStore::MatchingWindow(const core::Labels& labels,
                                                        int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& w : impl_->windows) {
    if (!w.ActiveAt(now_ms)) continue;
    bool all = true;
    for (const auto& m : w.matchers) all = all && m.Matches(labels);
    if (all) return w.name;
  }
  return std::nullopt;
}

}  // namespace echomon::alert
