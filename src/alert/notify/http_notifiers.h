// Notifiers that POST alerts over HTTP(S): WebhookNotifier (the Alertmanager webhook format,
// understood by most incident tools) and AlertmanagerNotifier (pushes to an Alertmanager's
// /api/v2/alerts, as Prometheus does).
//
// Every request has a timeout on connecting, on each read and on each write; a non-2xx answer,
// a refused connection or a timeout is a failure (the dispatcher retries it). URLs are
// http://host[:port][/path] or https://...
//
// Thread-safety: Deliver()/Resend() may be called from any thread; no shared mutable state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "alert/notify/notifier.h"
#include "echomon/clock.h"

namespace echomon::alert {

// The Alertmanager webhook body (version "4") for one notification: one alert per message,
// grouped by all its labels (groupKey `{}:{alertname="rule",...}`), status firing|resolved.
// See docs/notifiers.md for an example.
std::string WebhookPayload(const Notification& n, const std::string& receiver);

// The body of POST /api/v2/alerts for these notifications: labels alertname=<rule>,
// severity=<severity> plus the alert's labels; annotations; startsAt; endsAt (the resolve time
// for resolved alerts; for firing ones now_ms + firing_ends_after_ms, or absent when that is 0);
// generatorURL when known.
std::string AlertmanagerPayload(const std::vector<Notification>& notifications, int64_t now_ms,
                                int64_t firing_ends_after_ms);

struct WebhookOptions {
  std::string name = "webhook";
  std::string url;                             // e.g. http://127.0.0.1:8080/hook
  std::map<std::string, std::string> headers;  // added to every request (e.g. Authorization)
  int64_t timeout_ms = 5000;
  std::string receiver = "echomon";  // the "receiver" field of the body
};

class WebhookNotifier final : public Notifier {
 public:
  explicit WebhookNotifier(WebhookOptions options);
  std::string_view name() const override { return options_.name; }
  // Fails with Unavailable (connection), Timeout, or Unavailable "HTTP <code>: <body start>".
  Status Deliver(const Notification& n) override;

 private:
  WebhookOptions options_;
};

struct AlertmanagerOptions {
  std::string name = "alertmanager";
  std::string url;  // the Alertmanager's base URL, e.g. http://127.0.0.1:9093 (may have a path)
  std::map<std::string, std::string> headers;
  int64_t timeout_ms = 5000;
  int64_t resend_interval_ms = 60'000;  // firing alerts are re-sent this often
};

class AlertmanagerNotifier final : public Notifier {
 public:
  // clock sets endsAt of firing alerts (now + 4 × resend interval, like Prometheus, so an agent
  // that disappears has its alerts resolved by Alertmanager); it must outlive the notifier.
  AlertmanagerNotifier(AlertmanagerOptions options, Clock* clock);
  std::string_view name() const override { return options_.name; }
  Status Deliver(const Notification& n) override;
  int64_t resend_interval_ms() const override { return options_.resend_interval_ms; }
  Status Resend(const std::vector<Notification>& firing) override;

 private:
  Status Post(const std::vector<Notification>& notifications);
  AlertmanagerOptions options_;
  Clock* clock_;
};

}  // namespace echomon::alert
