// Exec collectors with real child programs: a good one, a failing one, one that hangs, one
// that prints garbage, and one that prints too much. None may block the tick.
#include <gtest/gtest.h>

#include <chrono>

#include "collect/push/components_collector.h"
#include "collect/push/exec_program.h"
#include "common/test_util.h"

namespace echomon::collect::push {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

ExecSpec Sh(const std::string& name, const std::string& script, int64_t timeout_ms = 5000) {
  ExecSpec s;
  s.name = name;
  s.program.argv = {"/bin/sh", "-c", script};
  s.program.timeout_ms = timeout_ms;
  s.interval_ms = 10'000;
  return s;
}

const core::Sample* Find(const core::SampleBatch& batch, const std::string& name,
                         const std::string& component) {
  for (const auto& s : batch) {
    const std::string* c = s.labels.Get("component");
    if (s.name == name && c != nullptr && *c == component) return &s;
  }
  return nullptr;
}

const ComponentStatus* StatusOf(const std::vector<ComponentStatus>& all, const std::string& n) {
  for (const auto& s : all) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

TEST(RunProgram, ReturnsStdoutAndReportsFailuresPrecisely) {
  ProgramSpec ok;
  ok.argv = {"printf", "a 1\\n"};  // looked up in PATH
  auto out = RunProgram(ok);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "a 1\n");

  ProgramSpec env;
  env.argv = {"/bin/sh", "-c", "echo \"$GREETING:$HOME\""};
  env.env = {{"GREETING", "hi"}};
  out = RunProgram(env);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "hi:\n");  // only the configured environment (and PATH)

  ProgramSpec fail;
  fail.argv = {"/bin/sh", "-c", "echo 'sensor offline' >&2; exit 3"};
  out = RunProgram(fail);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "exited with status 3: sensor offline");

  ProgramSpec missing;
  missing.argv = {"/nonexistent/echomon-plugin"};
  out = RunProgram(missing);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kNotFound);
  EXPECT_NE(out.status().message().find("No such file"), std::string::npos);

  ProgramSpec slow;
  slow.argv = {"/bin/sh", "-c", "sleep 30"};
  slow.timeout_ms = 200;
  const auto start = std::chrono::steady_clock::now();
  out = RunProgram(slow);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kTimeout);
  EXPECT_LT(took, std::chrono::seconds(5));

  ProgramSpec chatty;
  chatty.argv = {"/bin/sh", "-c", "yes metric_line_that_never_ends"};
  chatty.max_output_bytes = 4096;
  out = RunProgram(chatty);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(out.status().message().find("max_output (4096 bytes)"), std::string::npos);
}

TEST(ComponentsCollector, RunsProgramsWithoutBlockingAndReportsEachOutcome) {
  ManualClock clock(kT0);
  auto registry = std::make_shared<ComponentRegistry>(&clock, PushLimits{});
  std::vector<ExecSpec> specs;
  specs.push_back(Sh("dtesn",
                     "printf '# TYPE dtesn_membrane_level gauge\\n"
                     "dtesn_membrane_level{tree=\"a\"} 3\\n"
                     "# TYPE dtesn_psystem_transitions_total counter\\n"
                     "dtesn_psystem_transitions_total 42\\n'"));
  specs.back().labels.Set("site", "lab");
  specs.push_back(Sh("broken", "echo 'no reservoir' >&2; exit 2"));
  specs.push_back(Sh("hung", "sleep 30", 300));
  specs.push_back(Sh("garbage", "echo 'this is { not exposition'"));
  ComponentsCollector collector(registry, std::move(specs), &clock);

  core::SampleBatch out;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(collector.Collect(out).ok());
  // The tick returned at once although "hung" sleeps for 30 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  // Every program is declared from the first tick (a fast one may already have finished).
  EXPECT_NE(Find(out, "echomon_component_up", "dtesn"), nullptr);
  ASSERT_TRUE(collector.WaitIdle(10'000));

  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());  // not due again: only emits
  EXPECT_EQ(collector.runs(), (std::vector<uint64_t>{1, 1, 1, 1}));
  const core::Sample* level = Find(out, "dtesn_membrane_level", "dtesn");
  ASSERT_NE(level, nullptr);
  EXPECT_EQ(level->value, 3);
  EXPECT_EQ(*level->labels.Get("tree"), "a");
  EXPECT_EQ(*level->labels.Get("site"), "lab");
  EXPECT_EQ(Find(out, "dtesn_psystem_transitions_total", "dtesn")->type,
            core::MetricType::kCounter);
  EXPECT_EQ(Find(out, "echomon_component_up", "dtesn")->value, 1);
  for (const char* bad : {"broken", "hung", "garbage"}) {
    EXPECT_EQ(Find(out, "echomon_component_up", bad)->value, 0) << bad;
    EXPECT_EQ(Find(out, "echomon_component_errors_total", bad)->value, 1) << bad;
  }
  auto status = registry->Snapshot();
  EXPECT_EQ(StatusOf(status, "broken")->last_error, "exited with status 2: no reservoir");
  EXPECT_EQ(StatusOf(status, "hung")->last_error, "timed out after 300 ms (killed)");
  EXPECT_NE(StatusOf(status, "garbage")->last_error.find("output is not valid prometheus: line 1"),
            std::string::npos)
      << StatusOf(status, "garbage")->last_error;
  EXPECT_EQ(StatusOf(status, "dtesn")->source, ComponentSource::kExec);
  EXPECT_TRUE(StatusOf(status, "dtesn")->healthy);

  // Due again after the interval: every program runs a second time.
  clock.Advance(10'000);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.runs(), (std::vector<uint64_t>{2, 2, 2, 2}));
  ASSERT_TRUE(collector.WaitIdle(10'000));
}

TEST(ComponentsCollector, AFailedRunClearsTheComponentsSeries) {
  ManualClock clock(kT0);
  auto registry = std::make_shared<ComponentRegistry>(&clock, PushLimits{});
  testing::TempDir dir;
  const std::string flag = dir.File("fail");
  std::vector<ExecSpec> specs;
  specs.push_back(
      Sh("flaky", "if [ -e " + flag + " ]; then exit 1; fi; echo 'reservoir_size 100'"));
  specs.back().interval_ms = 1000;
  ComponentsCollector collector(registry, std::move(specs), &clock);
  core::SampleBatch out;
  collector.Collect(out);
  ASSERT_TRUE(collector.WaitIdle(10'000));
  out.clear();
  collector.Collect(out);
  ASSERT_NE(Find(out, "reservoir_size", "flaky"), nullptr);
  testing::WriteFile(flag, "");
  clock.Advance(1000);
  collector.Collect(out);
  ASSERT_TRUE(collector.WaitIdle(10'000));
  out.clear();
  collector.Collect(out);
  EXPECT_EQ(Find(out, "reservoir_size", "flaky"), nullptr);
  EXPECT_EQ(Find(out, "echomon_component_up", "flaky")->value, 0);
}

TEST(ComponentsCollector, DestructionKillsARunningProgramPromptly) {
  ManualClock clock(kT0);
  auto registry = std::make_shared<ComponentRegistry>(&clock, PushLimits{});
  std::vector<ExecSpec> specs;
  specs.push_back(Sh("hung", "sleep 30", 60'000));
  const auto start = std::chrono::steady_clock::now();
  {
    ComponentsCollector collector(registry, std::move(specs), &clock);
    core::SampleBatch out;
    collector.Collect(out);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace echomon::collect::push
