// CallbackNotifier: delivers alert events to in-process handlers (echomon::AlertHandler, as
// registered through the public Monitor API), converted to the public echomon::Alert.
//
// Every handler is called for every event, in registration order. A handler that throws does
// not stop the others: the exception is caught, counted (handler_errors()) and logged (once per
// handler until it succeeds again), and Deliver() reports the failure. Such a failure is not
// retried (retryable() is false): calling the handlers again would repeat the event for the
// ones that succeeded.
//
// Thread-safety: AddHandler() must not race with Deliver(); handler_errors() is safe anywhere.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "alert/notify/notifier.h"
#include "echomon/alert.h"

namespace echomon::alert {

// The public view of a notification. metric is the "metric" annotation when there is one.
Alert ToPublicAlert(const Notification& n);

class CallbackNotifier final : public Notifier {
 public:
  explicit CallbackNotifier(std::vector<AlertHandler> handlers = {}, std::string name = "callback");
  void AddHandler(AlertHandler handler) { handlers_.push_back(std::move(handler)); }

  std::string_view name() const override { return name_; }
  // Fails (Internal, naming the handlers that threw and what they threw) when any handler threw.
  Status Deliver(const Notification& n) override;
  bool retryable() const override { return false; }

  uint64_t handler_errors() const { return handler_errors_.load(std::memory_order_relaxed); }

 private:
  std::vector<AlertHandler> handlers_;
  std::string name_;
  std::atomic<uint64_t> handler_errors_{0};
};

}  // namespace echomon::alert
