// SqliteAlertJournal: alert transitions and active alerts in SQLite (WAL), in
// <data_dir>/echomon.db next to the metric history. Schema in docs/storage.md.
//
// Thread-safety: Commit/LoadActive/History may be called from any thread (serialised).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "alert/alert_tracker.h"

struct sqlite3;

namespace echomon::alert {

class SqliteAlertJournal final : public AlertJournal {
 public:
  // Opens (creating) the database at path. Fails naming the path.
  static Result<std::unique_ptr<SqliteAlertJournal>> Open(const std::string& path);
  ~SqliteAlertJournal() override;

  Status Commit(const std::vector<Transition>& transitions,
                const std::vector<AlertRecord>& changed) override;
  Result<std::vector<AlertRecord>> LoadActive() override;
  // Transitions at or after since_ms, oldest first, at most limit.
  Result<std::vector<Transition>> History(int64_t since_ms, size_t limit = 10'000);

 private:
  explicit SqliteAlertJournal(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace echomon::alert
