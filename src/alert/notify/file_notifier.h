// FileNotifier: writes one JSON file per alert event into a directory, for dashboards and
// scripts that watch it. The document is NotificationJson() (docs/alert-files.md).
//
// File names are alert_<at_ms>_<alert id>_<event>.json (event: firing, severity_changed,
// resolved); should that name exist already, "-1", "-2", ... is appended, so no event
// overwrites another. Each file is written to a hidden temporary file in the same directory,
// fsync'ed, then linked into place (which cannot replace an existing file) and the directory
// fsync'ed: a reader never sees a partial file, and a file that is seen survives a crash. The
// directory is created (with parents) when missing.
//
// Thread-safety: Deliver() may be called from several threads (names stay unique).
#pragma once

#include <atomic>
#include <string>

#include "alert/notify/notifier.h"

namespace echomon::alert {

class FileNotifier final : public Notifier {
 public:
  explicit FileNotifier(std::string dir, std::string name = "file");
  std::string_view name() const override { return name_; }
  // Fails (IoError naming the path and the OS error) when the directory cannot be created or
  // the file cannot be written; no temporary file is left behind.
  Status Deliver(const Notification& n) override;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string name_;
  std::atomic<uint64_t> sequence_{0};
};

}  // namespace echomon::alert
