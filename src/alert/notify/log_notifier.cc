#include "alert/notify/log_notifier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace echomon::alert {

std::string LogNotifier::FormatLine(const Notification& n) {
  const AlertRecord& a = n.alert;
  std::string line = fmt::format("alert {}: {}{} severity={}", EventKindName(n.kind), a.rule,
                                 a.labels.ToString(), SeverityName(a.severity));
  if (n.kind == EventKind::kSeverityChanged) {
    line += fmt::format(" (was {})", SeverityName(n.previous_severity));
  }
  line += fmt::format(" value={} threshold={} id={} fingerprint={}", a.value, a.threshold, a.id,
                      a.fingerprint);
  auto summary = n.annotations.find("summary");
  if (summary != n.annotations.end() && !summary->second.empty()) {
    line += fmt::format(" summary=\"{}\"", summary->second);
  }
  return line;
}

Status LogNotifier::Deliver(const Notification& n) {
  spdlog::level::level_enum level = spdlog::level::info;
  if (n.kind != EventKind::kResolved) {
    switch (n.alert.severity) {
      case Severity::kInfo:
        level = spdlog::level::info;
        break;
      case Severity::kWarning:
        level = spdlog::level::warn;
        break;
      case Severity::kCritical:
        level = spdlog::level::err;
        break;
    }
  }
  spdlog::log(level, "{}", FormatLine(n));
  return Status::Ok();
}

}  // namespace echomon::alert
