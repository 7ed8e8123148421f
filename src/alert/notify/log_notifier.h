// LogNotifier: one log line per alert event through the default spdlog logger.
// Severity sets the level: info → info, warning → warn, critical → error; resolved → info.
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string>

#include "alert/notify/notifier.h"

namespace echomon::alert {

class LogNotifier final : public Notifier {
 public:
  explicit LogNotifier(std::string name = "log") : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  // Never fails.
  Status Deliver(const Notification& n) override;

  // The line Deliver() logs, e.g.
  // alert firing: cpu_high{cpu="0"} severity=critical value=97.5 threshold=90 id=... fp=...
  static std::string FormatLine(const Notification& n);

 private:
  std::string name_;
};

}  // namespace echomon::alert
