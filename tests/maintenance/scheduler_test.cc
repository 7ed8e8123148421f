// The scheduler with a ManualClock: first runs, jitter, cron, persisted history across a
// restart (no start-up storm), failures, timeouts, manual runs.
#include "maintenance/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <set>
#include <thread>

#include "common/test_util.h"

namespace echomon::maintenance {
namespace {

using echomon::testing::TempDir;

constexpr int64_t kT0 = 1'795'755'600'000;  // Friday 2026-11-27 05:00 UTC
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

struct Counter {
  std::atomic<int> runs{0};
  bool ok = true;
};

MaintenanceTask CountingTask(const std::string& name, int64_t interval, Counter* counter,
                             int64_t jitter = 0) {
  MaintenanceTask t;
  t.name = name;
  t.schedule = Schedule::Every(interval);
  t.jitter_ms = jitter;
  t.run = [counter](const TaskRunContext&) {
    ++counter->runs;
    TaskOutcome o;
    o.ok = counter->ok;
    o.summary = counter->ok ? "done" : "";
    o.error = counter->ok ? "" : "disk on fire";
    return o;
  };
  return t;
}

std::unique_ptr<RunHistory> OpenHistory(const TempDir& dir) {
  auto h = RunHistory::Open(dir.File("echomon.db"));
  EXPECT_TRUE(h.ok()) << h.status().message();
  return std::move(h.value());
}

double NextRun(const MaintenanceScheduler& s, const std::string& name) {
  return s.TaskJson(name)["next_run"].get<double>() * 1000;
}

TEST(MaintenanceScheduler, FirstStartRunsNothingUntilAPeriodHasPassed) {
  TempDir dir;
  auto history = OpenHistory(dir);
  ManualClock clock(kT0);
  Counter c;
  MaintenanceScheduler s(&clock, history.get());
  ASSERT_TRUE(s.Start({CountingTask("cleanup", 6 * kHour, &c)}).ok());
  s.Tick(kT0);
  clock.Advance(6 * kHour - 1);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 0);
  clock.Advance(1);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 1);
  // Next one a period after that run started.
  EXPECT_EQ(NextRun(s, "cleanup"), kT0 + 12 * kHour);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 1);
  auto json = s.TaskJson("cleanup");
  EXPECT_EQ(json["runs"], 1);
  EXPECT_EQ(json["last_result"]["ok"], true);
  EXPECT_EQ(json["last_result"]["summary"], "done");
}

TEST(MaintenanceScheduler, JitterStaysWithinItsBoundsAndSpreadsTasks) {
  ManualClock clock(kT0);
  std::vector<MaintenanceTask> tasks;
  Counter c;
  for (int i = 0; i < 50; ++i) {
    tasks.push_back(CountingTask("t" + std::to_string(i), kHour, &c, 10 * kMin));
  }
  MaintenanceScheduler s(&clock, nullptr, {.seed = 7});
  ASSERT_TRUE(s.Start(tasks).ok());
  std::set<int64_t> distinct;
  for (int i = 0; i < 50; ++i) {
    double next = NextRun(s, "t" + std::to_string(i));
    EXPECT_GE(next, kT0 + kHour);
    EXPECT_LE(next, kT0 + kHour + 10 * kMin);
    distinct.insert(static_cast<int64_t>(next));
  }
  EXPECT_GT(distinct.size(), 40u);  // not one storm
  // After a run the next time gets a fresh jitter within bounds too.
  clock.Set(kT0 + kHour + 10 * kMin);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 50);
  for (int i = 0; i < 50; ++i) {
    double next = NextRun(s, "t" + std::to_string(i));
    EXPECT_GE(next, kT0 + 2 * kHour + 10 * kMin);
    EXPECT_LE(next, kT0 + 2 * kHour + 20 * kMin);
  }
}

TEST(MaintenanceScheduler, CronTasksRunAtTheirTimes) {
  ManualClock clock(kT0);
  Counter c;
  MaintenanceTask t = CountingTask("nightly", kHour, &c);
  t.schedule = Schedule::Cron(*CronExpression::Parse("30 2 * * *"));
  MaintenanceScheduler s(&clock, nullptr);
  ASSERT_TRUE(s.Start({t}).ok());
  const int64_t sat0230 = kT0 + 21 * kHour + 30 * kMin;
  EXPECT_EQ(NextRun(s, "nightly"), sat0230);
  s.Tick(sat0230 - 1);
  s.WaitIdle();
  EXPECT_EQ(c.runs, 0);
  clock.Set(sat0230);
  s.Tick(sat0230);
  s.WaitIdle();
  EXPECT_EQ(c.runs, 1);
  EXPECT_EQ(NextRun(s, "nightly"), sat0230 + 24 * kHour);
}

// A cron with no date in the searched years (a leap day seen from 2097, next one in 2104) is
// never due: a reload must not make it due at once (-1 plus jitter was a time in the past).
TEST(MaintenanceScheduler, ACronThatNeverMatchesIsNeverDueAfterAReload) {
  constexpr int64_t k2097 = 4'012'934'400'000;  // 2097-03-01 00:00 UTC
  ManualClock clock(k2097);
  Counter c;
  MaintenanceTask t = CountingTask("leap", kHour, &c, 10 * kMin);
  t.schedule = Schedule::Cron(*CronExpression::Parse("30 2 * * *"));
  SchedulerOptions options;
  options.seed = 7;
  MaintenanceScheduler s(&clock, nullptr, options);
  ASSERT_TRUE(s.Start({t}).ok());
  ASSERT_GT(NextRun(s, "leap"), k2097);
  t.schedule = Schedule::Cron(*CronExpression::Parse("0 0 29 2 *"));
  for (int reload = 0; reload < 5; ++reload) {
    ASSERT_TRUE(s.SetTasks({t}).ok());
    s.Tick(clock.NowMillis());
    s.WaitIdle();
    EXPECT_EQ(c.runs, 0) << "reload " << reload;
    clock.Advance(kHour);
  }
  clock.Advance(40 * 24 * kHour);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 0);
}

TEST(MaintenanceScheduler, HistorySurvivesARestartWithoutAStartupStorm) {
  TempDir dir;
  ManualClock clock(kT0);
  Counter c;
  {
    auto history = OpenHistory(dir);
    MaintenanceScheduler s(&clock, history.get());
    ASSERT_TRUE(
        s.Start({CountingTask("cleanup", 6 * kHour, &c), CountingTask("trim", 4 * kHour, &c)})
            .ok());
    clock.Set(kT0 + 6 * kHour);
    s.Tick(clock.NowMillis());
    s.WaitIdle();
    EXPECT_EQ(c.runs, 2);
  }
  // Restart an hour later: nothing is due, nothing runs at start, the record is there.
  clock.Set(kT0 + 7 * kHour);
  auto history = OpenHistory(dir);
  MaintenanceScheduler s(&clock, history.get());
  ASSERT_TRUE(
      s.Start({CountingTask("cleanup", 6 * kHour, &c), CountingTask("trim", 4 * kHour, &c)}).ok());
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 2);
  auto cleanup = s.TaskJson("cleanup");
  EXPECT_EQ(cleanup["runs"], 1);
  EXPECT_EQ(cleanup["last_run"].get<double>() * 1000, kT0 + 6 * kHour);
  EXPECT_EQ(NextRun(s, "cleanup"), kT0 + 12 * kHour);  // kept, not restarted from now
  EXPECT_EQ(NextRun(s, "trim"), kT0 + 10 * kHour);
  auto recent = history->Recent("cleanup", 10);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].trigger, "schedule");
  EXPECT_TRUE((*recent)[0].ok);
}

TEST(MaintenanceScheduler, RestartsBeforeTheFirstRunDoNotPostponeIt) {
  TempDir dir;
  ManualClock clock(kT0);
  Counter c;
  double first = 0;
  for (int restart = 0; restart < 5; ++restart) {
    auto history = OpenHistory(dir);
    MaintenanceScheduler s(&clock, history.get());
    ASSERT_TRUE(s.Start({CountingTask("cleanup", 6 * kHour, &c, 10 * kMin)}).ok());
    if (restart == 0) first = NextRun(s, "cleanup");
    EXPECT_EQ(NextRun(s, "cleanup"), first) << restart;  // neither postponed nor re-jittered
    clock.Advance(kHour);
  }
  EXPECT_GE(first, kT0 + 6 * kHour);
  EXPECT_LE(first, kT0 + 6 * kHour + 10 * kMin);
}

TEST(MaintenanceScheduler, AShortenedIntervalTakesEffectAtRestart) {
  TempDir dir;
  ManualClock clock(kT0);
  Counter c;
  {
    auto history = OpenHistory(dir);
    MaintenanceScheduler s(&clock, history.get());
    ASSERT_TRUE(s.Start({CountingTask("cleanup", 24 * kHour, &c)}).ok());
  }
  auto history = OpenHistory(dir);
  MaintenanceScheduler s(&clock, history.get());
  ASSERT_TRUE(s.Start({CountingTask("cleanup", kHour, &c)}).ok());
  EXPECT_EQ(NextRun(s, "cleanup"), kT0 + kHour);
}

TEST(MaintenanceScheduler, OverdueTasksRunOnceStaggeredAfterStart) {
  TempDir dir;
  ManualClock clock(kT0);
  Counter c;
  std::vector<MaintenanceTask> tasks = {CountingTask("a", kHour, &c), CountingTask("b", kHour, &c),
                                        CountingTask("c", kHour, &c)};
  {
    auto history = OpenHistory(dir);
    MaintenanceScheduler s(&clock, history.get());
    ASSERT_TRUE(s.Start(tasks).ok());
  }
  // The agent was down for a day: 24 periods missed.
  clock.Set(kT0 + 25 * kHour);
  auto history = OpenHistory(dir);
  MaintenanceScheduler s(&clock, history.get(),
                         {.startup_delay_ms = kMin, .startup_stagger_ms = 30'000});
  ASSERT_TRUE(s.Start(tasks).ok());
  const int64_t now = clock.NowMillis();
  s.Tick(now);
  s.WaitIdle();
  EXPECT_EQ(c.runs, 0);  // no storm at start
  EXPECT_EQ(NextRun(s, "a"), now + kMin);
  EXPECT_EQ(NextRun(s, "b"), now + kMin + 30'000);
  EXPECT_EQ(NextRun(s, "c"), now + kMin + 60'000);
  clock.Set(now + kMin);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 1);
  clock.Set(now + 2 * kMin);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 3);  // each once, no catch-up of the 24 missed periods
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 3);
}

TEST(MaintenanceScheduler, CountsFailuresAndExceptions) {
  TempDir dir;
  auto history = OpenHistory(dir);
  ManualClock clock(kT0);
  Counter c;
  c.ok = false;
  MaintenanceTask thrower;
  thrower.name = "thrower";
  thrower.schedule = Schedule::Every(kHour);
  thrower.run = [](const TaskRunContext&) -> TaskOutcome { throw std::runtime_error("boom"); };
  MaintenanceScheduler s(&clock, history.get());
  ASSERT_TRUE(s.Start({CountingTask("bad", kHour, &c), thrower}).ok());
  for (int i = 1; i <= 3; ++i) {
    clock.Set(kT0 + i * kHour);
    s.Tick(clock.NowMillis());
    s.WaitIdle();
  }
  auto bad = s.TaskJson("bad");
  EXPECT_EQ(bad["runs"], 3);
  EXPECT_EQ(bad["failures"], 3);
  EXPECT_EQ(bad["last_result"]["ok"], false);
  EXPECT_EQ(bad["last_result"]["summary"], "disk on fire");
  auto th = s.TaskJson("thrower");
  EXPECT_EQ(th["failures"], 3);
  EXPECT_NE(th["last_result"]["summary"].get<std::string>().find("internal error: boom"),
            std::string::npos);
  core::SampleBatch metrics;
  s.AppendSelfMetrics(metrics);
  bool found = false;
  for (const auto& m : metrics) {
    if (m.name == "echomon_maintenance_failures_total" && *m.labels.Get("task") == "bad") {
      EXPECT_EQ(m.value, 3);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(MaintenanceScheduler, ARunPastItsTimeoutIsAFailure) {
  ManualClock clock(kT0);
  MaintenanceTask slow;
  slow.name = "slow";
  slow.schedule = Schedule::Every(kHour);
  slow.timeout_ms = 50;
  int64_t seen_remaining = -1;
  slow.run = [&](const TaskRunContext& ctx) {
    seen_remaining = ctx.remaining_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    TaskOutcome o;
    o.ok = true;
    return o;
  };
  MaintenanceScheduler s(&clock, nullptr);
  ASSERT_TRUE(s.Start({slow}).ok());
  auto run = s.RunNow("slow");
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->ok);
  EXPECT_TRUE(run->timed_out);
  EXPECT_NE(run->error.find("exceeded the task timeout of 50ms"), std::string::npos) << run->error;
  EXPECT_GT(seen_remaining, 0);
  EXPECT_LE(seen_remaining, 50);
  EXPECT_EQ(s.TaskJson("slow")["failures"], 1);
}

TEST(MaintenanceScheduler, TasksRunOffTheTickThreadOneAtATime) {
  ManualClock clock(kT0);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  MaintenanceTask blocking;
  blocking.name = "blocking";
  blocking.schedule = Schedule::Every(kMin);
  blocking.run = [&](const TaskRunContext&) {
    ++started;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    TaskOutcome o;
    o.ok = true;
    return o;
  };
  MaintenanceScheduler s(&clock, nullptr);
  ASSERT_TRUE(s.Start({blocking}).ok());
  clock.Set(kT0 + kMin);
  s.Tick(clock.NowMillis());  // returns although the task blocks
  for (int i = 0; i < 200 && started == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(started, 1);
  EXPECT_EQ(s.TaskJson("blocking")["running"], true);
  clock.Set(kT0 + 5 * kMin);
  s.Tick(clock.NowMillis());  // still running: not started twice
  auto manual = s.RunNow("blocking");
  EXPECT_EQ(manual.status().code(), StatusCode::kUnavailable);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  s.WaitIdle();
  EXPECT_EQ(started, 1);
  EXPECT_EQ(s.TaskJson("blocking")["running"], false);
}

TEST(MaintenanceScheduler, ManualRunsAreRecordedAndKeepTheSchedule) {
  TempDir dir;
  auto history = OpenHistory(dir);
  ManualClock clock(kT0);
  Counter c;
  MaintenanceScheduler s(&clock, history.get());
  ASSERT_TRUE(s.Start({CountingTask("cleanup", 6 * kHour, &c)}).ok());
  clock.Advance(kHour);
  auto run = s.RunNow("cleanup");
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->ok);
  EXPECT_EQ(run->trigger, "manual");
  EXPECT_GT(run->id, 0);
  EXPECT_EQ(c.runs, 1);
  EXPECT_EQ(NextRun(s, "cleanup"), kT0 + 6 * kHour);
  EXPECT_EQ(s.RunNow("nope").status().code(), StatusCode::kNotFound);
  auto json = s.ToJson();
  ASSERT_EQ(json["recent_runs"].size(), 1u);
  EXPECT_EQ(json["recent_runs"][0]["trigger"], "manual");
  EXPECT_EQ(json["tasks"][0]["runs"], 1);
}

TEST(MaintenanceScheduler, DisabledTasksNeverRunOnSchedule) {
  ManualClock clock(kT0);
  Counter c;
  MaintenanceTask t = CountingTask("off", kMin, &c);
  t.enabled = false;
  MaintenanceScheduler s(&clock, nullptr);
  ASSERT_TRUE(s.Start({t}).ok());
  clock.Advance(kHour);
  s.Tick(clock.NowMillis());
  s.WaitIdle();
  EXPECT_EQ(c.runs, 0);
  EXPECT_TRUE(s.TaskJson("off")["next_run"].is_null());
  EXPECT_TRUE(s.RunNow("off").ok());  // a manual run still works
  EXPECT_EQ(c.runs, 1);
}

TEST(MaintenanceScheduler, DuplicateNamesAreRefused) {
  ManualClock clock(kT0);
  Counter c;
  MaintenanceScheduler s(&clock, nullptr);
  EXPECT_FALSE(s.Start({CountingTask("x", kMin, &c), CountingTask("x", kMin, &c)}).ok());
}

}  // namespace
}  // namespace echomon::maintenance
