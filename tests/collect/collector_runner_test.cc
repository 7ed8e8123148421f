// CollectorRunner: ordering, failures, timeouts with a collector blocked on a gate, replacement
// and removal. The timeout waits here are the behaviour under test (kept to 50 ms).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "collect/collector.h"
#include "core/log.h"
#include "test_util.h"

namespace echomon::collect {
namespace {

using core::SampleBatch;
using testing::CountSamples;
using testing::FindSample;

// Emits one gauge "<name>_value" = value.
class FixedCollector final : public Collector {
 public:
  FixedCollector(std::string name, double value, Status status = Status::Ok())
      : name_(std::move(name)), value_(value), status_(std::move(status)) {}
  std::string_view name() const override { return name_; }
  Status Collect(SampleBatch& out) override {
    core::Sample& s = out.emplace_back();
    s.name = name_ + "_value";
    s.value = value_;
    s.help = "test";
    return status_;
  }

 private:
  std::string name_;
  double value_;
  Status status_;
};

// A gate that blocked collectors wait on until Open().
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitUntilSomeoneWaits() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return waiting_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// Emits "slow_value" = call number; blocks on the gate while it is closed.
class BlockingCollector final : public Collector {
 public:
  explicit BlockingCollector(Gate* gate) : gate_(gate) {}
  std::string_view name() const override { return "slow"; }
  Status Collect(SampleBatch& out) override {
    int call = ++calls_;
    gate_->Wait();
    core::Sample& s = out.emplace_back();
    s.name = "slow_value";
    s.value = call;
    s.help = "test";
    return Status::Ok();
  }

 private:
  Gate* gate_;
  std::atomic<int> calls_{0};
};

// A copy of the named collector's health (name empty when absent).
CollectorHealth HealthOf(const std::vector<CollectorHealth>& all, std::string_view name) {
  for (const CollectorHealth& h : all) {
    if (h.name == name) return h;
  }
  return CollectorHealth{};
}

TEST(CollectorRunner, MergesInNameOrderThenSelfMetrics) {
  ManualClock clock;
  CollectorRunner runner(&clock, RunnerOptions{5000});
  runner.Add(std::make_unique<FixedCollector>("zeta", 3));
  runner.Add(std::make_unique<FixedCollector>("alpha", 1));
  runner.Add(std::make_unique<FixedCollector>("mid", 2));
  SampleBatch out;
  runner.RunOnce(out);
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out[0].name, "alpha_value");
  EXPECT_EQ(out[1].name, "mid_value");
  EXPECT_EQ(out[2].name, "zeta_value");
  EXPECT_EQ(out.back().name, "echomon_collection_duration_seconds");
  EXPECT_EQ(CountSamples(out, "echomon_collector_up"), 3u);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "mid"}), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_samples", {"collector", "mid"}), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_errors_total", {"collector", "mid"}), 0);
  auto health = runner.Health();
  ASSERT_EQ(health.size(), 3u);
  EXPECT_EQ(health[0].name, "alpha");
  EXPECT_EQ(health[0].runs, 1u);
  EXPECT_EQ(health[0].last_run_ms, clock.NowMillis());
  EXPECT_TRUE(health[0].healthy);
}

TEST(CollectorRunner, FailingCollectorIsCountedAndKeepsItsSamples) {
  ManualClock clock;
  CollectorRunner runner(&clock, RunnerOptions{5000});
  runner.Add(std::make_unique<FixedCollector>("bad", 7, Status::IoError("disk on fire")));
  runner.Add(std::make_unique<FixedCollector>("good", 1));
  SampleBatch out;
  runner.RunOnce(out);
  EXPECT_EQ(ECHOMON_VALUE(out, "bad_value"), 7);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "bad"}), 0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_errors_total", {"collector", "bad"}), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "good"}), 1);
  CollectorHealth bad = HealthOf(runner.Health(), "bad");
  ASSERT_EQ(bad.name, "bad");
  EXPECT_FALSE(bad.healthy);
  EXPECT_EQ(bad.errors, 1u);
  EXPECT_NE(bad.last_error.find("disk on fire"), std::string::npos);

  EXPECT_FALSE(core::WarnOnce("collector:bad", "probe"));  // logged once already

  // Replacing it by name with a working collector recovers.
  runner.Add(std::make_unique<FixedCollector>("bad", 8));
  out.clear();
  runner.RunOnce(out);
  EXPECT_EQ(ECHOMON_VALUE(out, "bad_value"), 8);
  EXPECT_EQ(CountSamples(out, "bad_value"), 1u);
  auto health = runner.Health();
  EXPECT_EQ(health.size(), 2u);
  bad = HealthOf(health, "bad");
  ASSERT_EQ(bad.name, "bad");
  EXPECT_TRUE(bad.healthy);
  EXPECT_TRUE(bad.last_error.empty());
  EXPECT_TRUE(core::WarnOnce("collector:bad", "probe"));  // recovery reset the key
  core::ResetOnce("collector:bad");
}

TEST(CollectorRunner, ThrowingCollectorIsAnError) {
  class Throwing final : public Collector {
   public:
    std::string_view name() const override { return "throwing"; }
    Status Collect(SampleBatch&) override { throw std::runtime_error("kaboom"); }
  };
  ManualClock clock;
  CollectorRunner runner(&clock, RunnerOptions{5000});
  runner.Add(std::make_unique<Throwing>());
  SampleBatch out;
  runner.RunOnce(out);
  CollectorHealth h = HealthOf(runner.Health(), "throwing");
  EXPECT_EQ(h.errors, 1u);
  EXPECT_NE(h.last_error.find("kaboom"), std::string::npos);
}

TEST(CollectorRunner, RemoveDropsTheCollector) {
  ManualClock clock;
  CollectorRunner runner(&clock, RunnerOptions{5000});
  runner.Add(std::make_unique<FixedCollector>("a", 1));
  runner.Add(std::make_unique<FixedCollector>("b", 2));
  EXPECT_TRUE(runner.Remove("a"));
  EXPECT_FALSE(runner.Remove("a"));
  SampleBatch out;
  runner.RunOnce(out);
  EXPECT_EQ(FindSample(out, "a_value"), nullptr);
  EXPECT_EQ(ECHOMON_VALUE(out, "b_value"), 2);
  ASSERT_EQ(runner.Health().size(), 1u);
  EXPECT_EQ(runner.Health()[0].name, "b");
}

TEST(CollectorRunner, SlowCollectorTimesOutIsSkippedWhileBusyAndComesBack) {
  Gate gate;
  CollectorRunner runner(SystemClock::Get(), RunnerOptions{50});
  runner.Add(std::make_unique<FixedCollector>("fast", 1));
  runner.Add(std::make_unique<BlockingCollector>(&gate));

  SampleBatch out;
  auto start = std::chrono::steady_clock::now();
  runner.RunOnce(out);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(45));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(ECHOMON_VALUE(out, "fast_value"), 1);
  EXPECT_EQ(FindSample(out, "slow_value"), nullptr);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "slow"}), 0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_timeouts_total", {"collector", "slow"}), 1);
  CollectorHealth slow = HealthOf(runner.Health(), "slow");
  ASSERT_EQ(slow.name, "slow");
  EXPECT_FALSE(slow.healthy);
  EXPECT_TRUE(slow.busy);
  EXPECT_EQ(slow.timeouts, 1u);
  EXPECT_NE(slow.last_error.find("timed out"), std::string::npos);

  // Still blocked: skipped without waiting for it.
  gate.WaitUntilSomeoneWaits();
  out.clear();
  runner.RunOnce(out);
  EXPECT_EQ(ECHOMON_VALUE(out, "fast_value"), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_timeouts_total", {"collector", "slow"}), 2);
  EXPECT_EQ(HealthOf(runner.Health(), "slow").timeouts, 2u);

  // Released: its late result is discarded; the next tick runs it again.
  gate.Open();
  for (int i = 0; i < 5000 && HealthOf(runner.Health(), "slow").busy; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  runner.SetTimeout(5000);
  out.clear();
  runner.RunOnce(out);
  EXPECT_EQ(ECHOMON_VALUE(out, "slow_value"), 2);  // the second call's output, not the first's
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "slow"}), 1);
  slow = HealthOf(runner.Health(), "slow");
  EXPECT_TRUE(slow.healthy);
  EXPECT_EQ(slow.timeouts, 2u);
  EXPECT_EQ(slow.runs, 1u);
}

TEST(CollectorRunner, DestructorWaitsForABusyCollector) {
  Gate gate;
  std::thread opener;
  {
    CollectorRunner runner(SystemClock::Get(), RunnerOptions{20});
    runner.Add(std::make_unique<BlockingCollector>(&gate));
    SampleBatch out;
    runner.RunOnce(out);
    EXPECT_EQ(HealthOf(runner.Health(), "slow").timeouts, 1u);
    // Replacing a busy collector retires it without waiting.
    runner.Add(std::make_unique<FixedCollector>("slow", 9));
    opener = std::thread([&gate] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      gate.Open();
    });
  }
  opener.join();
}

TEST(CollectorRunner, ConcurrentUseIsSafe) {
  ManualClock clock;
  CollectorRunner runner(&clock, RunnerOptions{5000});
  runner.Add(std::make_unique<FixedCollector>("a", 1));
  std::atomic<bool> stop{false};
  std::thread mutator([&] {
    for (int i = 0; !stop; ++i) {
      runner.Add(std::make_unique<FixedCollector>("b", i));
      (void)runner.Health();
      if (i % 2 == 0) runner.Remove("b");
      runner.SetTimeout(5000);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (int i = 0; i < 200; ++i) {
    SampleBatch out;
    runner.RunOnce(out);
    EXPECT_EQ(ECHOMON_VALUE(out, "a_value"), 1);
  }
  stop = true;
  mutator.join();
}

}  // namespace
}  // namespace echomon::collect
