// Silences and recurring maintenance windows: what mutes an alert.
//
// A muted alert keeps its lifecycle (it is still pending/firing/resolved and visible as such)
// but notifies nobody and triggers no response. An alert is matched on its labels plus
// alertname=<rule> and severity=<severity>.
//
// Thread-safety: SilenceStore may be used from any thread (internally serialised).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "echomon/status.h"

struct sqlite3;

namespace echomon::alert {

struct Silence {
  std::string id;
  std::vector<core::LabelMatcher> matchers;  // all must match; at least one
  int64_t starts_ms = 0;
  int64_t ends_ms = 0;
  std::string author;
  std::string comment;
  int64_t created_ms = 0;

  bool ActiveAt(int64_t now_ms) const { return starts_ms <= now_ms && now_ms < ends_ms; }
  bool Matches(const core::Labels& labels) const;
};

// A weekly recurring window, e.g. Sundays 02:00-04:00 Europe/Berlin.
struct MaintenanceWindow {
  std::string name;
  std::vector<int> days;                     // 0 = Sunday .. 6 = Saturday; empty: every day
  int start_minute = 0;                      // minutes after local midnight
  int end_minute = 0;                        // exclusive; may be <= start_minute to cross midnight
  std::string time_zone = "UTC";             // IANA name
  std::vector<core::LabelMatcher> matchers;  // empty: every alert

  // Checks days, times and the time zone; the message names the window.
  Status Validate() const;
  // True when now_ms falls inside the window (a window crossing midnight belongs to the day
  // it starts on).
  bool ActiveAt(int64_t now_ms) const;
};

// Parses "HH:MM" into minutes after midnight; false when malformed.
bool ParseClockTime(std::string_view text, int* minutes);
// Parses "sun", "monday", "Mon"... into 0..6; false when unknown.
bool ParseWeekday(std::string_view text, int* day);

class SilenceStore {
 public:
  // db_path empty: memory only. Opens/creates the silences table otherwise; fails naming it.
  static Result<std::unique_ptr<SilenceStore>> Open(const std::string& db_path);
  ~SilenceStore();

  // Validates and stores a silence (id assigned when empty). Fails naming the problem.
  Result<std::string> Add(Silence silence, int64_t now_ms);
  // Ends a silence now. NotFound when there is no such silence.
  Status Expire(const std::string& id, int64_t now_ms);
  // Silences that have not ended (include_expired: all), newest first.
  std::vector<Silence> List(int64_t now_ms, bool include_expired = false) const;
  // The id of an active silence matching labels, if any.
  std::optional<std::string> MatchingSilence(const core::Labels& labels, int64_t now_ms) const;

  void SetMaintenanceWindows(std::vector<MaintenanceWindow> windows);
  std::vector<MaintenanceWindow> maintenance_windows() const;
  // The name of an active maintenance window covering labels, if any.
  std::optional<std::string> MatchingWindow(const core::Labels& labels, int64_t now_ms) const;

 private:
  SilenceStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::alert
