#include "alert/alert_tracker.h"

#include <gtest/gtest.h>

#include "alert/sqlite_journal.h"
#include "common/test_util.h"

namespace echomon::alert {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

Observation Holds(Severity s, double v, core::Labels labels = {{"mount", "/"}}) {
  return Observation{std::move(labels), s, v, 90, "disk usage high"};
}
Observation Clear(double v, core::Labels labels = {{"mount", "/"}}) {
  return Observation{std::move(labels), std::nullopt, v, 90, ""};
}

// Counts events per kind; a convenience for flapping tests.
struct Tally {
  int firing = 0, changed = 0, resolved = 0;
  void Add(const std::vector<AlertEvent>& events) {
    for (const auto& e : events) {
      if (e.kind == EventKind::kFiring) ++firing;
      if (e.kind == EventKind::kSeverityChanged) ++changed;
      if (e.kind == EventKind::kResolved) ++resolved;
    }
  }
};

TEST(AlertTracker, PendingUntilTheConditionHeldForTheDurationThenFiresOnce) {
  ManualClock clock(kT0);
  AlertTracker tracker(&clock, nullptr);
  RuleTiming timing{.for_ms = 3000};
  EXPECT_TRUE(tracker.Evaluate("disk", timing, {Holds(Severity::kWarning, 91)}).empty());
  ASSERT_EQ(tracker.Active().size(), 1u);
  EXPECT_EQ(tracker.Active()[0].state, AlertState::kPending);
  clock.Advance(2999);
  EXPECT_TRUE(tracker.Evaluate("disk", timing, {Holds(Severity::kWarning, 92)}).empty());
  clock.Advance(1);  // exactly `for` after the condition started: fires
  auto events = tracker.Evaluate("disk", timing, {Holds(Severity::kWarning, 93)});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kFiring);
  EXPECT_EQ(events[0].alert.state, AlertState::kFiring);
  EXPECT_EQ(events[0].alert.active_since_ms, kT0);
  EXPECT_EQ(events[0].alert.firing_since_ms, kT0 + 3000);
  EXPECT_EQ(events[0].alert.value, 93);
  // The condition persisting produces no further events.
  for (int i = 0; i < 10; ++i) {
    clock.Advance(1000);
    EXPECT_TRUE(tracker.Evaluate("disk", timing, {Holds(Severity::kWarning, 94)}).empty());
  }
  clock.Advance(1000);
  events = tracker.Evaluate("disk", timing, {Clear(50)});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kResolved);
  EXPECT_EQ(events[0].alert.resolved_at_ms, clock.NowMillis());
  EXPECT_EQ(events[0].alert.value, 50);
  EXPECT_TRUE(tracker.Active().empty());
}

TEST(AlertTracker, AConditionThatEndsWhilePendingNeverNotifies) {
  ManualClock clock(kT0);
  AlertTracker tracker(&clock, nullptr);
  RuleTiming timing{.for_ms = 5000};
  Tally tally;
  for (int i = 0; i < 20; ++i) {  // flapping faster than `for`
    tally.Add(tracker.Evaluate("cpu", timing, {i % 2 ? Clear(10) : Holds(Severity::kWarning, 90)}));
    clock.Advance(1000);
  }
  EXPECT_EQ(tally.firing + tally.resolved + tally.changed, 0);
}

TEST(AlertTracker, KeepFiringForRidesOutFlapsWithOneNotification) {
  ManualClock clock(kT0);
  AlertTracker tracker(&clock, nullptr);
  RuleTiming timing{.for_ms = 0, .keep_firing_for_ms = 5000};
  Tally tally;
  for (int i = 0; i < 20; ++i) {
    tally.Add(tracker.Evaluate("cpu", timing, {i % 3 ? Clear(10) : Holds(Severity::kWarning, 90)}));
    clock.Advance(1000);
  }
  EXPECT_EQ(tally.firing, 1);
  EXPECT_EQ(tally.resolved, 0);
  // Quiet for keep_firing_for: resolves exactly once.
  for (int i = 0; i < 10; ++i) {
    tally.Add(tracker.Evaluate("cpu", timing, {Clear(10)}));
    clock.Advance(1000);
  }
  EXPECT_EQ(tally.resolved, 1);
}

TEST(AlertTracker, SeverityChangesAreTransitionsOfTheSameAlert) {
  ManualClock clock(kT0);
  AlertTracker tracker(&clock, nullptr);
  RuleTiming timing;
  auto fired = tracker.Evaluate("mem", timing, {Holds(Severity::kWarning, 91)});
  ASSERT_EQ(fired.size(), 1u);
  const std::string id = fired[0].alert.id;
  clock.Advance(1000);
  auto up = tracker.Evaluate("mem", timing, {Holds(Severity::kCritical, 97)});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].kind, EventKind::kSeverityChanged);
  EXPECT_EQ(up[0].previous_severity, Severity::kWarning);
  EXPECT_EQ(up[0].alert.severity, Severity::kCritical);
  EXPECT_EQ(up[0].alert.id, id);
  clock.Advance(1000);
  auto down = tracker.Evaluate("mem", timing, {Holds(Severity::kWarning, 92)});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].alert.severity, Severity::kWarning);
  EXPECT_EQ(down[0].alert.id, id);
  EXPECT_EQ(tracker.Active().size(), 1u);
}

TEST(AlertTracker, OneAlertPerLabelSetAndMissingSeriesCountAsNotHolding) {
  ManualClock clock(kT0);
  AlertTracker tracker(&clock, nullptr);
  RuleTiming timing;
  auto events = tracker.Evaluate("disk", timing,
                                 {Holds(Severity::kWarning, 91, {{"mount", "/"}}),
                                  Holds(Severity::kWarning, 95, {{"mount", "/data"}})});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].alert.fingerprint, events[1].alert.fingerprint);
  EXPECT_LT(events[0].alert.id, events[1].alert.id);
  clock.Advance(1000);
  // /data vanished from the evaluation (unmounted): it resolves; / keeps firing silently.
  events = tracker.Evaluate("disk", timing, {Holds(Severity::kWarning, 91, {{"mount", "/"}})});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kResolved);
  EXPECT_EQ(*events[0].alert.labels.Get("mount"), "/data");
  // Another rule's evaluation never touches this rule's alerts.
  EXPECT_TRUE(tracker.Evaluate("other", timing, {}).empty());
  EXPECT_EQ(tracker.Active().size(), 1u);
}

TEST(AlertTracker, FingerprintIsStableAndDependsOnRuleAndLabels) {
  core::Labels a{{"mount", "/"}};
  EXPECT_EQ(AlertTracker::Fingerprint("disk", a), AlertTracker::Fingerprint("disk", a));
  EXPECT_NE(AlertTracker::Fingerprint("disk", a), AlertTracker::Fingerprint("disk2", a));
  EXPECT_NE(AlertTracker::Fingerprint("disk", a),
            AlertTracker::Fingerprint("disk", core::Labels{{"mount", "/data"}}));
  EXPECT_EQ(AlertTracker::Fingerprint("disk", a).size(), 16u);
}

TEST(SqliteAlertJournal, FiringAlertsSurviveARestartWithoutBeingAnnouncedAgain) {
  testing::TempDir dir;
  const std::string db = dir.File("echomon.db");
  ManualClock clock(kT0);
  RuleTiming timing;
  std::string id;
  {
    auto journal = SqliteAlertJournal::Open(db);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    AlertTracker tracker(&clock, journal->get());
    auto events = tracker.Evaluate("disk", timing, {Holds(Severity::kCritical, 99)});
    ASSERT_EQ(events.size(), 1u);
    id = events[0].alert.id;
  }
  clock.Advance(60'000);
  auto journal = SqliteAlertJournal::Open(db);
  ASSERT_TRUE(journal.ok());
  AlertTracker tracker(&clock, journal->get());
  ASSERT_TRUE(tracker.Restore().ok());
  ASSERT_EQ(tracker.Active().size(), 1u);
  EXPECT_EQ(tracker.Active()[0].id, id);
  EXPECT_EQ(tracker.Active()[0].state, AlertState::kFiring);
  EXPECT_EQ(tracker.Active()[0].severity, Severity::kCritical);
  EXPECT_EQ(*tracker.Active()[0].labels.Get("mount"), "/");
  // Still true after the restart: no new notification.
  EXPECT_TRUE(tracker.Evaluate("disk", timing, {Holds(Severity::kCritical, 99)}).empty());
  clock.Advance(1000);
  auto resolved = tracker.Evaluate("disk", timing, {Clear(40)});
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert.id, id);

  auto history = (*journal)->History(0);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);  // inactive->pending, pending->firing, firing->resolved
  EXPECT_EQ((*history)[0].to, AlertState::kPending);
  EXPECT_EQ((*history)[1].to, AlertState::kFiring);
  EXPECT_EQ((*history)[2].to, AlertState::kResolved);
  EXPECT_EQ((*history)[2].at_ms, kT0 + 61'000);
  auto active = (*journal)->LoadActive();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
}

TEST(SqliteAlertJournal, AnUnopenablePathIsNamedInTheError) {
  auto journal = SqliteAlertJournal::Open("/nonexistent/dir/echomon.db");
  ASSERT_FALSE(journal.ok());
  EXPECT_NE(journal.status().message().find("/nonexistent/dir/echomon.db"), std::string::npos);
}

// A journal that fails: nothing may be notified that was not recorded.
class FailingJournal : public AlertJournal {
 public:
  Status Commit(const std::vector<Transition>&, const std::vector<AlertRecord>&) override {
    return Status::IoError("disk full");
  }
  Result<std::vector<AlertRecord>> LoadActive() override { return std::vector<AlertRecord>{}; }
};

TEST(AlertTracker, NothingIsNotifiedThatCouldNotBeRecorded) {
  ManualClock clock(kT0);
  FailingJournal journal;
  AlertTracker tracker(&clock, &journal);
  Status status;
  auto events = tracker.Evaluate("disk", RuleTiming{}, {Holds(Severity::kWarning, 95)}, &status);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(tracker.journal_errors(), 1u);
}

}  // namespace
}  // namespace echomon::alert
