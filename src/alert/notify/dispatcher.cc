#include "alert/notify/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"

namespace echomon::alert {

struct NotificationDispatcher::Job {
  std::vector<Notification> items;  // one for an event; every firing alert for a re-send
  bool resend = false;
  int failures = 0;
  int64_t due_ms = 0;
};

struct NotificationDispatcher::Slot {
  std::unique_ptr<Notifier> notifier;
  int64_t resend_interval_ms = 0;
  bool retryable = true;

  std::mutex mu;  // guards everything below
  std::condition_variable cv;
  std::deque<Job> queue;
  bool in_flight = false;  // a Deliver()/Resend() runs outside the lock
  bool stop = false;
  bool has_resent = false;
  int64_t last_resend_ms = 0;
  NotifierStats stats;
  std::thread worker;
};

struct NotificationDispatcher::Shared {
  std::atomic<uint64_t> enqueued{0};
  std::atomic<uint64_t> suppressed{0};
  std::atomic<uint64_t> overflowed{0};
  bool started = false;

  // What the last notification of each active alert carried, for re-sends.
  struct Remembered {
    std::map<std::string, std::string> annotations;
    std::string external_url;
    bool silenced = false;
  };
  std::mutex memory_mu;
  std::map<std::string, Remembered> memory;  // by fingerprint
};

NotificationDispatcher::NotificationDispatcher(Clock* clock, DispatcherOptions options)
    : clock_(clock), options_(std::move(options)), shared_(std::make_unique<Shared>()) {
  options_.max_attempts = std::max(1, options_.max_attempts);
  options_.queue_capacity = std::max<size_t>(1, options_.queue_capacity);
  options_.initial_backoff_ms = std::max<int64_t>(0, options_.initial_backoff_ms);
  options_.max_backoff_ms = std::max(options_.initial_backoff_ms, options_.max_backoff_ms);
}

NotificationDispatcher::~NotificationDispatcher() { Stop(); }

void NotificationDispatcher::AddNotifier(std::unique_ptr<Notifier> notifier) {
  auto slot = std::make_unique<Slot>();
  slot->resend_interval_ms = notifier->resend_interval_ms();
  slot->retryable = notifier->retryable();
  slot->stats.name = std::string(notifier->name());
  slot->notifier = std::move(notifier);
  slots_.push_back(std::move(slot));
}

void NotificationDispatcher::Start() {
  if (shared_->started) return;
  shared_->started = true;
  for (auto& slot : slots_) {
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      slot->stop = false;
    }
    Slot* s = slot.get();
    slot->worker = std::thread([this, s] { WorkerLoop(s); });
  }
}

void NotificationDispatcher::Stop() {
  if (!shared_->started) return;
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    slot->stop = true;
    slot->cv.notify_all();
  }
  for (auto& slot : slots_) {
    if (slot->worker.joinable()) slot->worker.join();
    std::lock_guard<std::mutex> lock(slot->mu);
    if (!slot->queue.empty()) {
      spdlog::warn("notifier {}: stopped with {} notification(s) undelivered", slot->stats.name,
                   slot->queue.size());
    }
  }
  shared_->started = false;
}

bool NotificationDispatcher::Enqueue(Notification n) {
  if (n.at_ms == 0) n.at_ms = clock_->NowMillis();
  {
    std::lock_guard<std::mutex> lock(shared_->memory_mu);
    if (n.kind == EventKind::kResolved) {
      shared_->memory.erase(n.alert.fingerprint);
    } else {
      shared_->memory[n.alert.fingerprint] = {n.annotations, n.external_url, n.silenced};
    }
  }
  if (n.silenced) {
    shared_->suppressed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  shared_->enqueued.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = clock_->NowMillis();
  bool all_accepted = true;
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->queue.size() + (slot->in_flight ? 1 : 0) >= options_.queue_capacity) {
      ++slot->stats.overflowed;
      shared_->overflowed.fetch_add(1, std::memory_order_relaxed);
      all_accepted = false;
      core::WarnOnce("notify-overflow:" + slot->stats.name,
                     fmt::format("notifier {}: queue full ({} waiting); dropping new "
                                 "notifications until it drains",
                                 slot->stats.name, options_.queue_capacity));
      continue;
    }
    Job job;
    job.items.push_back(n);
    job.due_ms = now;
    slot->queue.push_back(std::move(job));
    slot->cv.notify_all();
  }
  return all_accepted;
}

void NotificationDispatcher::Tick(int64_t now_ms, const std::vector<AlertRecord>& active,
                                  const std::function<bool(const AlertRecord&)>& is_silenced) {
  std::vector<Notification> firing;
  bool built = false;
  auto build = [&] {
    if (built) return;
    built = true;
    std::lock_guard<std::mutex> lock(shared_->memory_mu);
    for (const AlertRecord& a : active) {
      if (a.state != AlertState::kFiring) continue;
      if (is_silenced && is_silenced(a)) continue;
      auto it = shared_->memory.find(a.fingerprint);
      if (it != shared_->memory.end() && it->second.silenced) continue;
      const std::string& url =
          it != shared_->memory.end() ? it->second.external_url : options_.external_url;
      Notification n = MakeFiringNotification(a, url);
      if (it != shared_->memory.end()) {
        // Keep the rule's annotations; value and threshold are taken fresh from the record.
        for (const auto& [k, v] : it->second.annotations) {
          if (k != "value" && k != "threshold") n.annotations[k] = v;
        }
      }
      firing.push_back(std::move(n));
    }
  };
  for (auto& slot : slots_) {
    if (slot->resend_interval_ms <= 0) continue;
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->has_resent && now_ms - slot->last_resend_ms < slot->resend_interval_ms) continue;
    slot->has_resent = true;
    slot->last_resend_ms = now_ms;
    build();
    if (firing.empty()) continue;
    // A re-send still waiting is replaced rather than queued twice.
    auto waiting =
        std::find_if(slot->queue.begin(), slot->queue.end(), [](const Job& j) { return j.resend; });
    if (waiting != slot->queue.end()) {
      waiting->items = firing;
      continue;
    }
    if (slot->queue.size() + (slot->in_flight ? 1 : 0) >= options_.queue_capacity) {
      ++slot->stats.overflowed;
      shared_->overflowed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Job job;
    job.items = firing;
    job.resend = true;
    job.due_ms = clock_->NowMillis();
    slot->queue.push_back(std::move(job));
    slot->cv.notify_all();
  }
}

int64_t NotificationDispatcher::BackoffMs(int failures) const {
  int64_t wait = options_.initial_backoff_ms;
  for (int i = 1; i < failures && wait < options_.max_backoff_ms; ++i) wait *= 2;
  return std::min(wait, options_.max_backoff_ms);
}

bool NotificationDispatcher::RunOne(Slot* slot) {
  Job job;
  {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->in_flight || slot->queue.empty()) return false;
    if (slot->queue.front().due_ms > clock_->NowMillis()) return false;
    job = std::move(slot->queue.front());
    slot->queue.pop_front();
    slot->in_flight = true;
  }
  Status status =
      job.resend ? slot->notifier->Resend(job.items) : slot->notifier->Deliver(job.items.front());
  const int64_t done = clock_->NowMillis();
  const std::string& name = slot->stats.name;
  std::lock_guard<std::mutex> lock(slot->mu);
  slot->in_flight = false;
  if (job.failures > 0) ++slot->stats.retries;
  if (status.ok()) {
    if (job.resend) {
      ++slot->stats.resends;
    } else {
      ++slot->stats.sent;
    }
    slot->stats.last_success_ms = done;
    core::ResetOnce("notify-failing:" + name);
  } else {
    ++slot->stats.failed_attempts;
    ++job.failures;
    slot->stats.last_error = status.message();
    slot->stats.last_error_ms = done;
    core::WarnOnce("notify-failing:" + name,
                   fmt::format("notifier {}: delivery failed: {}", name, status.ToString()));
    if (job.resend) {
      // Not retried: the next re-send period sends the same alerts again.
    } else if (slot->retryable && job.failures < options_.max_attempts) {
      job.due_ms = done + BackoffMs(job.failures);
      slot->queue.push_front(std::move(job));
    } else {
      ++slot->stats.dropped;
      const Notification& n = job.items.front();
      spdlog::error("notifier {}: gave up on {} of alert {} ({}) after {} attempt(s): {}", name,
                    EventKindName(n.kind), n.alert.id, n.alert.rule, job.failures,
                    status.message());
    }
  }
  if (slot->queue.empty()) core::ResetOnce("notify-overflow:" + name);
  slot->cv.notify_all();
  return true;
}

size_t NotificationDispatcher::Pump() {
  size_t attempts = 0;
  for (auto& slot : slots_) {
    while (RunOne(slot.get())) ++attempts;
  }
  return attempts;
}

void NotificationDispatcher::WorkerLoop(Slot* slot) {
  // The wait is re-checked at least this often so a clock that jumps (a ManualClock in tests,
  // a wall-clock step) is noticed.
  constexpr int64_t kMaxWaitMs = 200;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(slot->mu);
      if (slot->stop) return;
      if (slot->queue.empty() || slot->in_flight) {
        slot->cv.wait(lock);
        continue;
      }
      int64_t wait = slot->queue.front().due_ms - clock_->NowMillis();
      if (wait > 0) {
        slot->cv.wait_for(lock, std::chrono::milliseconds(std::min(wait, kMaxWaitMs)));
        continue;
      }
    }
    RunOne(slot);
  }
}

DispatcherStats NotificationDispatcher::Stats() const {
  DispatcherStats out;
  out.enqueued = shared_->enqueued.load(std::memory_order_relaxed);
  out.suppressed = shared_->suppressed.load(std::memory_order_relaxed);
  out.overflowed = shared_->overflowed.load(std::memory_order_relaxed);
  for (const auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    NotifierStats s = slot->stats;
    s.queued = slot->queue.size() + (slot->in_flight ? 1 : 0);
    out.notifiers.push_back(std::move(s));
  }
  return out;
}

}  // namespace echomon::alert
