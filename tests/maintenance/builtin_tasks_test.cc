// The built-in tasks and operator tasks from the configuration, run for real.
#include "maintenance/builtin_tasks.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/time.h>

#include <filesystem>
#include <thread>

#include "common/test_util.h"

namespace echomon::maintenance {
namespace {

using echomon::testing::ReadFile;
using echomon::testing::TempDir;
using echomon::testing::WriteFile;
using nlohmann::json;

constexpr int64_t kHour = 3'600'000;

core::Config LoadOrDie(const std::string& yaml, const std::string& data_dir) {
  auto loaded =
      core::LoadConfigString("storage: {data_dir: " + data_dir + "}\n" + yaml, "agent.yaml");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].ToString());
  return loaded.config;
}

TaskDeps Deps(const core::Config& config, HealthReport* health = nullptr) {
  TaskDeps d;
  d.config = config;
  d.limits = respond::ActionLimitsFromConfig(config);
  d.data_dir = config.storage.data_dir;
  d.health = health;
  return d;
}

const MaintenanceTask* Find(const std::vector<MaintenanceTask>& tasks, const std::string& name) {
  for (const auto& t : tasks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TaskRunContext Context(const std::string& task) {
  TaskRunContext ctx;
  ctx.task = task;
  ctx.timeout_ms = 60'000;
  ctx.remaining_ms = [] { return int64_t{60'000}; };
  return ctx;
}

TEST(BuiltinTasks, HaveThePrototypesCadence) {
  TempDir dir;
  core::Config config = LoadOrDie("", dir.path());
  auto tasks = BuildTasks(config.maintenance, Deps(config));
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 4u);
  EXPECT_EQ(Find(*tasks, "system_cleanup")->schedule.interval_ms(), 6 * kHour);
  EXPECT_EQ(Find(*tasks, "memory_optimization")->schedule.interval_ms(), 4 * kHour);
  EXPECT_EQ(Find(*tasks, "health_check")->schedule.interval_ms(), kHour);
  EXPECT_EQ(Find(*tasks, "log_rotation")->schedule.interval_ms(), 24 * kHour);
  for (const auto& t : *tasks) {
    EXPECT_TRUE(t.enabled) << t.name;
    EXPECT_GT(t.jitter_ms, 0) << t.name;
    EXPECT_LE(t.jitter_ms, 5 * 60'000) << t.name;
  }
  // system_cleanup only touches the agent's own directories.
  const json& dirs = Find(*tasks, "system_cleanup")->actions[0]["params"]["dirs"];
  EXPECT_EQ(dirs, json({dir.path() + "/logs", dir.path() + "/reports", dir.path() + "/alerts"}));
}

TEST(BuiltinTasks, SystemCleanupDeletesOnlyOldFilesInTheAgentsDirectories) {
  TempDir dir;
  std::filesystem::create_directories(dir.File("logs"));
  std::filesystem::create_directories(dir.File("elsewhere"));
  WriteFile(dir.File("logs/old.log.1.gz"), "old");
  WriteFile(dir.File("logs/new.log"), "new");
  WriteFile(dir.File("elsewhere/old.txt"), "keep");
  struct timeval tv[2];
  ::gettimeofday(&tv[0], nullptr);
  tv[0].tv_sec -= 8 * 86400;
  tv[1] = tv[0];
  ::utimes(dir.File("logs/old.log.1.gz").c_str(), tv);
  ::utimes(dir.File("elsewhere/old.txt").c_str(), tv);
  core::Config config = LoadOrDie("", dir.path());
  auto tasks = BuildTasks(config.maintenance, Deps(config));
  ASSERT_TRUE(tasks.ok());
  TaskOutcome out = Find(*tasks, "system_cleanup")->run(Context("system_cleanup"));
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_FALSE(std::filesystem::exists(dir.File("logs/old.log.1.gz")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("logs/new.log")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("elsewhere/old.txt")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("reports")));  // nothing created
  EXPECT_EQ(out.results[0]["files_touched"], 1);
}

TEST(BuiltinTasks, HealthCheckWritesHealthJsonAndMetrics) {
  httplib::Server server;
  server.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  server.Get("/down", [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  TempDir dir;
  core::Config config =
      LoadOrDie("maintenance:\n  health_urls: [" + base + "/ok, " + base + "/down]\n", dir.path());
  HealthReport health;
  TaskDeps deps = Deps(config, &health);
  deps.status = [] {
    return json{{"monitoring", true},
                {"version", "test"},
                {"collectors", {{{"name", "cpu"}, {"healthy", true}}}}};
  };
  auto tasks = BuildTasks(config.maintenance, deps);
  ASSERT_TRUE(tasks.ok());
  TaskOutcome out = Find(*tasks, "health_check")->run(Context("health_check"));
  server.stop();
  thread.join();
  EXPECT_FALSE(out.ok);  // one URL is down
  EXPECT_NE(out.error.find(base + "/down"), std::string::npos) << out.error;
  EXPECT_NE(out.summary.find("2/3 target(s) healthy"), std::string::npos) << out.summary;
  json file = json::parse(ReadFile(dir.File("health.json")));
  EXPECT_EQ(file["healthy"], false);
  EXPECT_EQ(file["agent"]["healthy"], true);
  ASSERT_EQ(file["urls"].size(), 2u);
  EXPECT_EQ(file["urls"][0]["healthy"], true);
  EXPECT_EQ(file["urls"][1]["healthy"], false);
  EXPECT_EQ(file["urls"][1]["status"], 503);
  core::SampleBatch metrics;
  health.AppendSelfMetrics(metrics);
  std::map<std::string, double> by_target;
  for (const auto& m : metrics) {
    if (m.name == "echomon_maintenance_health_ok") by_target[*m.labels.Get("target")] = m.value;
  }
  EXPECT_EQ(by_target["agent"], 1.0);
  EXPECT_EQ(by_target[base + "/ok"], 1.0);
  EXPECT_EQ(by_target[base + "/down"], 0.0);
}

TEST(BuiltinTasks, HealthCheckSeesAnUnhealthyAgent) {
  TempDir dir;
  core::Config config = LoadOrDie("", dir.path());
  TaskDeps deps = Deps(config);
  deps.status = [] {
    return json{{"monitoring", true},
                {"collectors", {{{"name", "gpu"}, {"healthy", false}, {"last_error", "NVML"}}}}};
  };
  auto tasks = BuildTasks(config.maintenance, deps);
  ASSERT_TRUE(tasks.ok());
  TaskOutcome out = Find(*tasks, "health_check")->run(Context("health_check"));
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("collector gpu (NVML)"), std::string::npos) << out.error;
}

TEST(OperatorTasks, RunTheirActionsAndOverrideBuiltins) {
  TempDir dir;
  core::Config config = LoadOrDie(R"(
maintenance:
  tasks:
    - name: memory_optimization
      interval: 30m
      jitter: 0s
    - name: log_rotation
      enabled: false
    - name: stamp
      schedule: "*/5 * * * *"
      timeout: 10s
      actions:
        - type: exec
          name: write stamp
          params: {argv: [/usr/bin/touch, )" +
                                      dir.File("stamp") + R"(]}
        - type: trim_memory
)",
                                  dir.path());
  auto tasks = BuildTasks(config.maintenance, Deps(config));
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 5u);
  EXPECT_EQ(Find(*tasks, "memory_optimization")->schedule.interval_ms(), 30 * 60'000);
  EXPECT_EQ(Find(*tasks, "memory_optimization")->jitter_ms, 0);
  EXPECT_FALSE(Find(*tasks, "log_rotation")->enabled);
  const MaintenanceTask* stamp = Find(*tasks, "stamp");
  ASSERT_NE(stamp, nullptr);
  EXPECT_EQ(stamp->schedule.ToString(), "cron */5 * * * *");
  EXPECT_EQ(stamp->timeout_ms, 10'000);
  TaskOutcome out = stamp->run(Context("stamp"));
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_TRUE(std::filesystem::exists(dir.File("stamp")));
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0]["name"], "write stamp");
  EXPECT_EQ(out.results[1]["type"], "trim_memory");
}

TEST(OperatorTasks, DryRunTasksChangeNothing) {
  TempDir dir;
  core::Config config = LoadOrDie(R"(
maintenance:
  builtin_tasks: false
  tasks:
    - name: stamp
      interval: 1h
      dry_run: true
      actions:
        - type: exec
          params: {argv: [/usr/bin/touch, )" +
                                      dir.File("stamp") + R"(]}
)",
                                  dir.path());
  auto tasks = BuildTasks(config.maintenance, Deps(config));
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 1u);
  TaskOutcome out = (*tasks)[0].run(Context("stamp"));
  EXPECT_TRUE(out.ok);
  EXPECT_FALSE(std::filesystem::exists(dir.File("stamp")));
  EXPECT_EQ(out.results[0]["dry_run"], true);
}

TEST(OperatorTasks, InvalidTasksNameTheTaskLineAndParameter) {
  TempDir dir;
  core::Config config = LoadOrDie(R"(
maintenance:
  tasks:
    - name: wipe
      interval: 1h
      actions:
        - type: cleanup
          params: {dirs: [/etc], patterns: ["*"]}
)",
                                  dir.path());
  auto tasks = BuildTasks(config.maintenance, Deps(config));
  ASSERT_FALSE(tasks.ok());
  const std::string& m = tasks.status().message();
  EXPECT_NE(m.find("maintenance task 'wipe' (line 5)"), std::string::npos) << m;
  EXPECT_NE(m.find("params.dirs[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("outside the writable directories"), std::string::npos) << m;

  core::Config no_schedule = LoadOrDie(R"(
maintenance:
  tasks:
    - name: x
      actions: [{type: trim_memory}]
)",
                                       dir.path());
  auto t2 = BuildTasks(no_schedule.maintenance, Deps(no_schedule));
  ASSERT_FALSE(t2.ok());
  EXPECT_NE(t2.status().message().find("needs a schedule"), std::string::npos);

  auto bad_cron = core::LoadConfigString(
      "maintenance:\n  tasks:\n    - name: x\n      schedule: '61 * * * *'\n      actions: "
      "[{type: trim_memory}]\n",
      "agent.yaml");
  ASSERT_TRUE(bad_cron.ok());  // the loader checks the shape only ...
  auto t3 = BuildTasks(bad_cron.config.maintenance, Deps(bad_cron.config));
  ASSERT_FALSE(t3.ok());  // ... the scheduler the values
  EXPECT_NE(t3.status().message().find("minute field"), std::string::npos) << t3.status().message();
  auto four = core::LoadConfigString(
      "maintenance:\n  tasks:\n    - name: x\n      schedule: '* * * *'\n", "agent.yaml");
  ASSERT_FALSE(four.ok());
  EXPECT_NE(four.errors[0].ToString().find("agent.yaml:4:"), std::string::npos)
      << four.errors[0].ToString();
}

}  // namespace
}  // namespace echomon::maintenance
