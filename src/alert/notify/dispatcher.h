// NotificationDispatcher: fans alert notifications out to the configured notifiers without
// ever blocking the caller, and retries failed deliveries with exponential backoff.
//
//   Enqueue(n) ──copy──▶ [queue of notifier A] ──worker A──▶ A.Deliver(n)   (retry on failure)
//              └─copy──▶ [queue of notifier B] ──worker B──▶ B.Deliver(n)
//
// Each notifier has its own bounded FIFO queue and its own worker thread, so a slow or failing
// notifier delays only itself. Within one notifier, order is preserved: a failed head
// notification is retried (after 1 s, 2 s, 4 s, ... capped at max_backoff_ms) before anything
// queued behind it is delivered, so a "resolved" never overtakes its "firing". After
// max_attempts failures the notification is dropped and counted. A full queue drops the new
// notification for that notifier, counts it and logs once.
//
// Every scheduling decision reads the injected Clock. Tests construct the dispatcher without
// calling Start() and call Pump(), which delivers, synchronously on the calling thread, what is
// due at the clock's current time; the worker threads run exactly the same code.
//
// Re-sending: Tick(now, active) should be called every evaluation tick with the tracker's
// active alerts; every notifier with resend_interval_ms() > 0 (Alertmanager) gets the firing
// ones re-sent once per interval (the first Tick sends at once, which re-announces alerts
// restored after a restart).
//
// Thread-safety: Enqueue, Tick, Pump and Stats may be called from any thread. AddNotifier must
// be called before Start() (or, without Start(), before the first Enqueue).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "alert/notify/notifier.h"
#include "echomon/clock.h"

namespace echomon::alert {

struct DispatcherOptions {
  size_t queue_capacity = 1024;       // per notifier
  int max_attempts = 5;               // deliveries tried per notification (>= 1)
  int64_t initial_backoff_ms = 1000;  // wait after the first failure
  int64_t max_backoff_ms = 60'000;    // the wait doubles after each failure up to this
  std::string external_url;           // used for notifications built by Tick()
};

struct NotifierStats {
  std::string name;
  uint64_t sent = 0;             // notifications delivered (a re-send batch counts once)
  uint64_t failed_attempts = 0;  // Deliver()/Resend() calls that failed
  uint64_t retries = 0;          // deliveries that were attempts 2..n
  uint64_t dropped = 0;          // notifications given up on (max attempts, or not retryable)
  uint64_t overflowed = 0;       // notifications refused because the queue was full
  uint64_t resends = 0;          // successful re-send batches
  size_t queued = 0;             // waiting now (including one being retried)
  std::string last_error;        // message of the last failure, "" if none yet
  int64_t last_error_ms = 0;
  int64_t last_success_ms = 0;
};

struct DispatcherStats {
  uint64_t enqueued = 0;                 // Enqueue() calls with a notification to deliver
  uint64_t suppressed = 0;               // silenced notifications (not delivered)
  uint64_t overflowed = 0;               // sum of the notifiers' overflowed
  std::vector<NotifierStats> notifiers;  // in the order they were added
};

class NotificationDispatcher {
 public:
  // clock must outlive the dispatcher.
  explicit NotificationDispatcher(Clock* clock, DispatcherOptions options = {});
  ~NotificationDispatcher();  // Stop()
  NotificationDispatcher(const NotificationDispatcher&) = delete;
  NotificationDispatcher& operator=(const NotificationDispatcher&) = delete;

  void AddNotifier(std::unique_ptr<Notifier> notifier);

  // Starts one worker thread per notifier. Without Start(), nothing is delivered except by
  // Pump().
  void Start();
  // Stops the workers after their current delivery (which is bounded by the notifier's
  // timeout). Notifications still queued are logged as lost; Pump() can still deliver them.
  void Stop();

  // Queues n for every notifier and returns at once. A silenced notification is counted as
  // suppressed and delivered to nobody. Fills n.at_ms from the clock when it is 0. Returns
  // false when at least one notifier's queue was full (that notifier will not see it).
  bool Enqueue(Notification n);

  // Queues a re-send of the firing alerts among `active` for each notifier whose
  // resend_interval_ms() has passed since its last re-send. Alerts for which is_silenced returns
  // true are left out. Annotations are those of the last notification enqueued for the alert's
  // fingerprint (or generated when there was none).
  void Tick(int64_t now_ms, const std::vector<AlertRecord>& active,
            const std::function<bool(const AlertRecord&)>& is_silenced = {});

  // Delivers, on the calling thread, every queued notification that is due at the clock's
  // current time (including retries whose backoff has elapsed), for every notifier. Returns
  // the number of delivery attempts made.
  size_t Pump();

  DispatcherStats Stats() const;

 private:
  struct Slot;
  struct Job;
  bool RunOne(Slot* slot);  // one due attempt for slot; false if nothing was due
  void WorkerLoop(Slot* slot);
  int64_t BackoffMs(int failures) const;

  Clock* clock_;
  DispatcherOptions options_;
  struct Shared;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace echomon::alert
