// Shared helpers for the notifier tests.
#pragma once

#include <string>

#include "alert/alert_tracker.h"
#include "alert/notify/notifier.h"

namespace echomon::alert::testing {

// A firing alert of rule "gpu_hot" on gpu=<gpu>, fired at firing_ms.
inline AlertRecord MakeAlert(const std::string& id, const std::string& gpu, int64_t firing_ms,
                             const std::string& rule = "gpu_hot") {
  AlertRecord a;
  a.id = id;
  a.rule = rule;
  a.labels = core::Labels{{"gpu", gpu}, {"host", "node1"}};
  a.fingerprint = AlertTracker::Fingerprint(a.rule, a.labels);
  a.state = AlertState::kFiring;
  a.severity = Severity::kCritical;
  a.value = 91.5;
  a.threshold = 85;
  a.summary = "GPU " + gpu + " is hot";
  a.active_since_ms = firing_ms - 30'000;
  a.firing_since_ms = firing_ms;
  a.last_true_ms = firing_ms;
  return a;
}

inline Notification Firing(const AlertRecord& a, const std::string& external_url = {}) {
  return MakeNotification({EventKind::kFiring, a, a.severity}, a.firing_since_ms, external_url,
                          {{"runbook", "https://runbooks.example/gpu_hot"}});
}

inline Notification Resolved(AlertRecord a, int64_t resolved_ms,
                             const std::string& external_url = {}) {
  a.state = AlertState::kResolved;
  a.resolved_at_ms = resolved_ms;
  return MakeNotification({EventKind::kResolved, a, a.severity}, resolved_ms, external_url);
}

}  // namespace echomon::alert::testing
