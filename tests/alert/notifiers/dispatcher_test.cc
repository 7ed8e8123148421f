#include "alert/notify/dispatcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "notifier_test_util.h"

namespace echomon::alert {
namespace {

using testing::Firing;
using testing::MakeAlert;
using testing::Resolved;

// Records what it is given and answers with scripted statuses (ok once the script runs out).
class ScriptedNotifier final : public Notifier {
 public:
  explicit ScriptedNotifier(std::string name, int64_t resend_interval_ms = 0)
      : name_(std::move(name)), resend_interval_ms_(resend_interval_ms) {}
  std::string_view name() const override { return name_; }
  Status Deliver(const Notification& n) override {
    std::lock_guard<std::mutex> lock(mu_);
    delivered_.push_back(n);
    return Next();
  }
  int64_t resend_interval_ms() const override { return resend_interval_ms_; }
  Status Resend(const std::vector<Notification>& firing) override {
    std::lock_guard<std::mutex> lock(mu_);
    resent_.push_back(firing);
    return Next();
  }
  void FailNext(int times) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < times; ++i) script_.push_back(Status::Unavailable("peer down"));
  }
  std::vector<Notification> delivered() const {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }
  std::vector<std::vector<Notification>> resent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return resent_;
  }

 private:
  Status Next() {
    if (script_.empty()) return Status::Ok();
    Status s = script_.front();
    script_.pop_front();
    return s;
  }
  std::string name_;
  int64_t resend_interval_ms_;
  mutable std::mutex mu_;
  std::deque<Status> script_;
  std::vector<Notification> delivered_;
  std::vector<std::vector<Notification>> resent_;
};

struct Fixture {
  ManualClock clock;
  NotificationDispatcher dispatcher;
  ScriptedNotifier* a = nullptr;
  ScriptedNotifier* b = nullptr;
  explicit Fixture(DispatcherOptions options = {}) : dispatcher(&clock, options) {
    auto na = std::make_unique<ScriptedNotifier>("a");
    auto nb = std::make_unique<ScriptedNotifier>("b");
    a = na.get();
    b = nb.get();
    dispatcher.AddNotifier(std::move(na));
    dispatcher.AddNotifier(std::move(nb));
  }
};

TEST(NotificationDispatcher, DeliversEachNotificationToEveryNotifier) {
  Fixture f;
  AlertRecord alert = MakeAlert("a1", "0", f.clock.NowMillis());
  EXPECT_TRUE(f.dispatcher.Enqueue(Firing(alert)));
  EXPECT_TRUE(f.a->delivered().empty()) << "nothing is delivered on the caller's thread";
  EXPECT_EQ(f.dispatcher.Pump(), 2u);
  ASSERT_EQ(f.a->delivered().size(), 1u);
  ASSERT_EQ(f.b->delivered().size(), 1u);
  EXPECT_EQ(f.a->delivered()[0].alert.id, "a1");
  DispatcherStats stats = f.dispatcher.Stats();
  EXPECT_EQ(stats.enqueued, 1u);
  ASSERT_EQ(stats.notifiers.size(), 2u);
  EXPECT_EQ(stats.notifiers[0].name, "a");
  EXPECT_EQ(stats.notifiers[0].sent, 1u);
  EXPECT_EQ(stats.notifiers[0].last_success_ms, f.clock.NowMillis());
  EXPECT_EQ(stats.notifiers[1].sent, 1u);
  EXPECT_EQ(stats.notifiers[0].queued, 0u);
}

TEST(NotificationDispatcher, FillsEventTimeFromClock) {
  Fixture f;
  Notification n = Firing(MakeAlert("a1", "0", 5));
  n.at_ms = 0;
  f.dispatcher.Enqueue(n);
  f.dispatcher.Pump();
  ASSERT_EQ(f.a->delivered().size(), 1u);
  EXPECT_EQ(f.a->delivered()[0].at_ms, f.clock.NowMillis());
}

TEST(NotificationDispatcher, SilencedNotificationIsSuppressedNotDelivered) {
  Fixture f;
  Notification n = Firing(MakeAlert("a1", "0", f.clock.NowMillis()));
  n.silenced = true;
  EXPECT_TRUE(f.dispatcher.Enqueue(n));
  EXPECT_EQ(f.dispatcher.Pump(), 0u);
  EXPECT_TRUE(f.a->delivered().empty());
  EXPECT_TRUE(f.b->delivered().empty());
  DispatcherStats stats = f.dispatcher.Stats();
  EXPECT_EQ(stats.suppressed, 1u);
  EXPECT_EQ(stats.enqueued, 0u);
  EXPECT_EQ(stats.notifiers[0].sent, 0u);
}

TEST(NotificationDispatcher, FullQueueDropsNewNotificationsAndCountsThem) {
  DispatcherOptions options;
  options.queue_capacity = 2;
  Fixture f(options);
  int64_t now = f.clock.NowMillis();
  EXPECT_TRUE(f.dispatcher.Enqueue(Firing(MakeAlert("a1", "0", now))));
  EXPECT_TRUE(f.dispatcher.Enqueue(Firing(MakeAlert("a2", "1", now))));
  EXPECT_FALSE(f.dispatcher.Enqueue(Firing(MakeAlert("a3", "2", now))));
  DispatcherStats stats = f.dispatcher.Stats();
  EXPECT_EQ(stats.overflowed, 2u);  // a3 refused by both notifiers
  EXPECT_EQ(stats.notifiers[0].overflowed, 1u);
  EXPECT_EQ(stats.notifiers[0].queued, 2u);
  f.dispatcher.Pump();
  ASSERT_EQ(f.a->delivered().size(), 2u);
  EXPECT_EQ(f.a->delivered()[1].alert.id, "a2");
  // Once drained, the queue accepts again.
  EXPECT_TRUE(f.dispatcher.Enqueue(Firing(MakeAlert("a4", "3", now))));
}

TEST(NotificationDispatcher, RetriesFailuresWithExponentialBackoff) {
  Fixture f;
  f.a->FailNext(2);
  f.dispatcher.Enqueue(Firing(MakeAlert("a1", "0", f.clock.NowMillis())));
  EXPECT_EQ(f.dispatcher.Pump(), 2u);  // a fails, b succeeds
  EXPECT_EQ(f.a->delivered().size(), 1u);
  EXPECT_EQ(f.dispatcher.Stats().notifiers[0].last_error, "peer down");

  f.clock.Advance(999);
  EXPECT_EQ(f.dispatcher.Pump(), 0u) << "first retry waits 1 s";
  f.clock.Advance(1);
  EXPECT_EQ(f.dispatcher.Pump(), 1u);  // fails again
  EXPECT_EQ(f.a->delivered().size(), 2u);

  f.clock.Advance(1999);
  EXPECT_EQ(f.dispatcher.Pump(), 0u) << "second retry waits 2 s";
  f.clock.Advance(1);
  EXPECT_EQ(f.dispatcher.Pump(), 1u);  // succeeds
  EXPECT_EQ(f.a->delivered().size(), 3u);

  NotifierStats a = f.dispatcher.Stats().notifiers[0];
  EXPECT_EQ(a.sent, 1u);
  EXPECT_EQ(a.failed_attempts, 2u);
  EXPECT_EQ(a.retries, 2u);
  EXPECT_EQ(a.dropped, 0u);
  EXPECT_EQ(a.queued, 0u);
  EXPECT_EQ(a.last_success_ms, f.clock.NowMillis());
  EXPECT_EQ(f.dispatcher.Stats().notifiers[1].failed_attempts, 0u);
}

TEST(NotificationDispatcher, BackoffIsCappedAtMaximum) {
  DispatcherOptions options;
  options.max_attempts = 10;
  options.initial_backoff_ms = 1000;
  options.max_backoff_ms = 3000;
  Fixture f(options);
  f.a->FailNext(4);
  f.dispatcher.Enqueue(Firing(MakeAlert("a1", "0", f.clock.NowMillis())));
  f.dispatcher.Pump();  // fail 1 → wait 1 s
  f.clock.Advance(1000);
  f.dispatcher.Pump();  // fail 2 → wait 2 s
  f.clock.Advance(2000);
  f.dispatcher.Pump();  // fail 3 → wait 3 s (4 s capped)
  EXPECT_EQ(f.a->delivered().size(), 3u);
  f.clock.Advance(2999);
  EXPECT_EQ(f.dispatcher.Pump(), 0u);
  f.clock.Advance(1);
  EXPECT_EQ(f.dispatcher.Pump(), 1u);  // fail 4 → wait 3 s
  f.clock.Advance(3000);
  EXPECT_EQ(f.dispatcher.Pump(), 1u);
  EXPECT_EQ(f.dispatcher.Stats().notifiers[0].sent, 1u);
}

TEST(NotificationDispatcher, GivesUpAfterMaxAttemptsAndKeepsOrder) {
  DispatcherOptions options;
  options.max_attempts = 3;
  Fixture f(options);
  f.a->FailNext(3);
  AlertRecord alert = MakeAlert("a1", "0", f.clock.NowMillis());
  f.dispatcher.Enqueue(Firing(alert));
  f.dispatcher.Enqueue(Resolved(alert, f.clock.NowMillis() + 10));
  f.dispatcher.Pump();
  ASSERT_EQ(f.a->delivered().size(), 1u) << "the resolved event waits behind its firing";
  EXPECT_EQ(f.b->delivered().size(), 2u) << "another notifier is not held up";
  f.clock.Advance(1000);
  f.dispatcher.Pump();
  f.clock.Advance(2000);
  f.dispatcher.Pump();  // third failure: dropped; the resolved event goes next
  std::vector<Notification> got = f.a->delivered();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2].kind, EventKind::kFiring);
  EXPECT_EQ(got[3].kind, EventKind::kResolved);
  NotifierStats a = f.dispatcher.Stats().notifiers[0];
  EXPECT_EQ(a.dropped, 1u);
  EXPECT_EQ(a.failed_attempts, 3u);
  EXPECT_EQ(a.sent, 1u);
  EXPECT_EQ(a.last_error, "peer down");
}

TEST(NotificationDispatcher, TickResendsFiringAlertsOncePerInterval) {
  ManualClock clock;
  NotificationDispatcher dispatcher(&clock);
  auto owned = std::make_unique<ScriptedNotifier>("am", 60'000);
  ScriptedNotifier* am = owned.get();
  dispatcher.AddNotifier(std::move(owned));
  auto plain_owned = std::make_unique<ScriptedNotifier>("plain");
  ScriptedNotifier* plain = plain_owned.get();
  dispatcher.AddNotifier(std::move(plain_owned));

  int64_t now = clock.NowMillis();
  AlertRecord firing = MakeAlert("a1", "0", now);
  AlertRecord pending = MakeAlert("a2", "1", 0);
  pending.state = AlertState::kPending;
  pending.firing_since_ms = 0;
  AlertRecord silenced = MakeAlert("a3", "2", now);
  dispatcher.Enqueue(Firing(firing));  // remembered: its rule annotation "runbook"
  dispatcher.Pump();
  std::vector<AlertRecord> active = {firing, pending, silenced};
  auto is_silenced = [](const AlertRecord& a) { return a.id == "a3"; };

  dispatcher.Tick(now, active, is_silenced);  // the first tick sends at once
  dispatcher.Pump();
  ASSERT_EQ(am->resent().size(), 1u);
  ASSERT_EQ(am->resent()[0].size(), 1u) << "pending and silenced alerts are not re-sent";
  EXPECT_EQ(am->resent()[0][0].alert.id, "a1");
  EXPECT_EQ(am->resent()[0][0].annotations.at("runbook"), "https://runbooks.example/gpu_hot");
  EXPECT_TRUE(plain->resent().empty());

  clock.Advance(30'000);
  dispatcher.Tick(clock.NowMillis(), active, is_silenced);
  dispatcher.Pump();
  EXPECT_EQ(am->resent().size(), 1u) << "not before the interval";
  clock.Advance(30'000);
  firing.value = 99;
  dispatcher.Tick(clock.NowMillis(), {firing}, is_silenced);
  dispatcher.Pump();
  ASSERT_EQ(am->resent().size(), 2u);
  EXPECT_EQ(am->resent()[1][0].annotations.at("value"), "99") << "values are fresh";
  EXPECT_EQ(dispatcher.Stats().notifiers[0].resends, 2u);

  // A resolved alert is forgotten and, no longer active, not re-sent.
  dispatcher.Enqueue(Resolved(firing, clock.NowMillis()));
  clock.Advance(60'000);
  dispatcher.Tick(clock.NowMillis(), {});
  dispatcher.Pump();
  EXPECT_EQ(am->resent().size(), 2u);
}

TEST(NotificationDispatcher, FailedResendIsCountedNotRetried) {
  ManualClock clock;
  NotificationDispatcher dispatcher(&clock);
  auto owned = std::make_unique<ScriptedNotifier>("am", 60'000);
  ScriptedNotifier* am = owned.get();
  dispatcher.AddNotifier(std::move(owned));
  am->FailNext(1);
  dispatcher.Tick(clock.NowMillis(), {MakeAlert("a1", "0", clock.NowMillis())});
  EXPECT_EQ(dispatcher.Pump(), 1u);
  clock.Advance(10'000);
  EXPECT_EQ(dispatcher.Pump(), 0u);
  NotifierStats s = dispatcher.Stats().notifiers[0];
  EXPECT_EQ(s.failed_attempts, 1u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.queued, 0u);
}

// Blocks in Deliver() until released.
class BlockingNotifier final : public Notifier {
 public:
  std::string_view name() const override { return "slow"; }
  Status Deliver(const Notification&) override {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    return Status::Ok();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [this] { return entered_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

TEST(NotificationDispatcher, SlowNotifierDoesNotBlockOthersOrTheCaller) {
  ManualClock clock;
  NotificationDispatcher dispatcher(&clock);
  auto slow_owned = std::make_unique<BlockingNotifier>();
  BlockingNotifier* slow = slow_owned.get();
  auto fast_owned = std::make_unique<ScriptedNotifier>("fast");
  ScriptedNotifier* fast = fast_owned.get();
  dispatcher.AddNotifier(std::move(slow_owned));
  dispatcher.AddNotifier(std::move(fast_owned));
  dispatcher.Start();

  for (int i = 0; i < 3; ++i) {
    dispatcher.Enqueue(Firing(MakeAlert("a" + std::to_string(i), "0", clock.NowMillis())));
  }
  ASSERT_TRUE(slow->WaitEntered());
  // The fast notifier's worker delivers all three while the slow one is stuck on the first.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (fast->delivered().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(fast->delivered().size(), 3u);
  DispatcherStats stats = dispatcher.Stats();
  EXPECT_EQ(stats.notifiers[0].queued, 3u);
  EXPECT_EQ(stats.notifiers[1].sent, 3u);
  slow->Release();
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (dispatcher.Stats().notifiers[0].sent < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(dispatcher.Stats().notifiers[0].sent, 3u);
  dispatcher.Stop();
}

TEST(NotificationDispatcher, WorkerRetriesWhenTheClockReachesTheBackoff) {
  ManualClock clock;
  NotificationDispatcher dispatcher(&clock);
  auto owned = std::make_unique<ScriptedNotifier>("a");
  ScriptedNotifier* a = owned.get();
  dispatcher.AddNotifier(std::move(owned));
  a->FailNext(1);
  dispatcher.Start();
  dispatcher.Enqueue(Firing(MakeAlert("a1", "0", clock.NowMillis())));
  auto wait_for = [&](size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (a->delivered().size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return a->delivered().size();
  };
  EXPECT_EQ(wait_for(1), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(a->delivered().size(), 1u) << "the retry waits for the (manual) clock";
  clock.Advance(1000);
  EXPECT_EQ(wait_for(2), 2u);
  dispatcher.Stop();
  EXPECT_EQ(dispatcher.Stats().notifiers[0].sent, 1u);
}

}  // namespace
}  // namespace echomon::alert
