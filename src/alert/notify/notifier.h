// Notifier: the seam through which alert events leave the agent (log lines, JSON files,
// webhooks, Alertmanager, programs, in-process callbacks).
//
// A Notification is one alert event plus what a receiver needs to render it (annotations, the
// agent's URL). Notifiers are driven by NotificationDispatcher, which owns them, queues work per
// notifier and retries failures; a Notifier itself delivers once and reports the outcome.
//
// Thread-safety: the dispatcher calls Deliver()/Resend() of one notifier from one thread at a
// time (never concurrently), so implementations need no locking of their own unless they expose
// state to other threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert_tracker.h"
#include "echomon/status.h"

namespace echomon::alert {

struct Notification {
  EventKind kind = EventKind::kFiring;
  AlertRecord alert;                                // the alert after the transition
  Severity previous_severity = Severity::kWarning;  // meaningful for kSeverityChanged
  // summary, description, value, threshold, plus any annotations configured on the rule.
  std::map<std::string, std::string> annotations;
  bool silenced = false;     // matched a silence or maintenance window: not delivered
  std::string external_url;  // the agent's own URL (base of generatorURL); may be empty
  int64_t at_ms = 0;         // when the event happened; the dispatcher fills it in when 0
};

// "firing" for kFiring and kSeverityChanged, "resolved" for kResolved.
const char* NotificationStatus(const Notification& n);

// Builds a Notification from a tracker event. Annotations: summary (the alert's summary),
// description (rule_annotations["description"] or a generated sentence), value, threshold, then
// every rule annotation (rule annotations win over the generated ones). at_ms is the firing or
// resolve time for those events and now_ms for severity changes.
Notification MakeNotification(const AlertEvent& event, int64_t now_ms,
                              const std::string& external_url = {},
                              const std::map<std::string, std::string>& rule_annotations = {});

// The same for an alert that is still firing (used to re-send active alerts).
Notification MakeFiringNotification(const AlertRecord& alert, const std::string& external_url = {},
                                    const std::map<std::string, std::string>& annotations = {});

// RFC 3339 UTC with milliseconds ("2023-11-14T22:13:20.000Z"); 0 gives Go's zero time
// "0001-01-01T00:00:00Z", which Alertmanager uses for "not ended".
std::string FormatRfc3339(int64_t ms);

// The link back to the alert in the agent: <external_url>/api/v1/alerts/<id>, or "" when
// external_url is empty.
std::string GeneratorUrl(const Notification& n);

// The JSON document describing one notification, as written by FileNotifier and given to
// ProgramNotifier on stdin. The shape is documented in docs/alert-files.md.
std::string NotificationJson(const Notification& n, bool pretty = false);

// Delivers notifications somewhere. See the file comment for threading.
class Notifier {
 public:
  virtual ~Notifier() = default;

  // A name unique among the configured notifiers ("log", "webhook:ops", ...), used in stats.
  virtual std::string_view name() const = 0;

  // Delivers one notification. Returns a non-ok Status (naming the peer and the reason) when it
  // did not arrive; the dispatcher then retries with backoff if retryable() is true. Must not
  // block for longer than its configured timeout.
  virtual Status Deliver(const Notification& n) = 0;

  // Whether a failed Deliver() is worth trying again (false for in-process handlers).
  virtual bool retryable() const { return true; }

  // Notifiers whose receiver forgets alerts that are not re-sent (Alertmanager) return the
  // re-send period here; 0 (the default) means no re-sending.
  virtual int64_t resend_interval_ms() const { return 0; }

  // Re-sends every alert still firing (all in one call). Called by the dispatcher every
  // resend_interval_ms(); not retried on failure (the next period sends them again).
  virtual Status Resend(const std::vector<Notification>& firing) {
    (void)firing;
    return Status::Ok();
  }
};

}  // namespace echomon::alert
