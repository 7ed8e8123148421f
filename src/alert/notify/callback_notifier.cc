#include "alert/notify/callback_notifier.h"

#include <fmt/format.h>

#include <exception>

#include "core/log.h"

namespace echomon::alert {

Alert ToPublicAlert(const Notification& n) {
  const AlertRecord& a = n.alert;
  Alert out;
  out.id = a.id;
  out.rule = a.rule;
  auto metric = n.annotations.find("metric");
  if (metric != n.annotations.end()) out.metric = metric->second;
  for (const auto& l : a.labels.items()) out.labels[l.name] = l.value;
  out.severity = a.severity;
  out.resolved = n.kind == EventKind::kResolved;
  out.value = a.value;
  out.threshold = a.threshold;
  auto summary = n.annotations.find("summary");
  out.message = summary != n.annotations.end() ? summary->second : a.summary;
  out.timestamp_ms = n.at_ms;
  return out;
}

CallbackNotifier::CallbackNotifier(std::vector<AlertHandler> handlers, std::string name)
    : handlers_(std::move(handlers)), name_(std::move(name)) {}

Status CallbackNotifier::Deliver(const Notification& n) {
  const Alert alert = ToPublicAlert(n);
  std::string errors;
  for (size_t i = 0; i < handlers_.size(); ++i) {
    const std::string key = fmt::format("notify-callback:{}:{}", name_, i);
    std::string what;
    try {
      if (handlers_[i]) handlers_[i](alert);
      core::ResetOnce(key);
      continue;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    handler_errors_.fetch_add(1, std::memory_order_relaxed);
    core::WarnOnce(key, fmt::format("alert handler {} of {} threw: {}", i, name_, what));
    if (!errors.empty()) errors += "; ";
    errors += fmt::format("handler {} threw: {}", i, what);
  }
  if (errors.empty()) return Status::Ok();
  return Status::Internal(errors);
}

}  // namespace echomon::alert
