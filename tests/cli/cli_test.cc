// End-to-end tests of the echomon binary as a user runs it: real child processes, real files,
// real HTTP on loopback.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"

namespace echomon {
namespace {

using nlohmann::json;
using testing::BuiltBinary;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;

const std::string kEchomon = BuiltBinary("src/cli/echomon");

// Polls url's /healthz until it answers (the agent is starting); bounded.
bool WaitForAgent(int port, int timeout_ms = 10'000) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(0, 200'000);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = client.Get("/healthz");
    if (res && res->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(Cli, VersionPrintsTheVersion) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "version"}, &out, &err), 0);
  EXPECT_EQ(out.rfind("echomon ", 0), 0u) << out;
}

TEST(Cli, UnknownCommandIsAUsageError) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "frobnicate"}, &out, &err), 64);
}

TEST(Cli, CheckConfigNamesFileLineAndKeyOfEachProblem) {
  TempDir dir;
  const std::string path = dir.File("agent.yaml");
  testing::WriteFile(path,
                     "interval: 1s\n"
                     "storage:\n"
                     "  retention: forever\n"
                     "server:\n"
                     "  listne: 127.0.0.1:1\n");
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "check-config", path}, &out, &err), 1);
  EXPECT_NE(err.find(path + ":3"), std::string::npos) << err;
  EXPECT_NE(err.find("storage.retention"), std::string::npos) << err;
  EXPECT_NE(err.find(path + ":5"), std::string::npos) << err;
  EXPECT_NE(err.find("server.listne"), std::string::npos) << err;
}

TEST(Cli, CheckConfigAcceptsTheShippedExampleAndThePrototypeFormat) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "check-config",
                        std::string(ECHOMON_SOURCE_DIR) + "/examples/echomon.yaml"},
                       &out, &err),
            0)
      << err;
  TempDir dir;
  const std::string legacy = dir.File("prototype.json");
  testing::WriteFile(legacy,
                     R"({"monitoring_interval": 1.0, "max_metrics_history": 1000,
                         "alert_thresholds": {"cpu_usage": 85.0, "memory_usage": 90.0},
                         "degradation_detection": {"window_size": 10, "threshold": 0.15}})");
  EXPECT_EQ(RunCommand({kEchomon, "check-config", legacy}, &out, &err), 0) << err;
}

TEST(Cli, CheckConfigOfAMissingFileFails) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "check-config", "/nonexistent/echomon.yaml"}, &out, &err), 1);
  EXPECT_NE(err.find("/nonexistent/echomon.yaml"), std::string::npos) << err;
}

TEST(Cli, StatusOfNoAgentExitsTwo) {
  const int port = testing::FreeLoopbackPort();
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "status", "--url", "http://127.0.0.1:" + std::to_string(port)},
                       &out, &err),
            2);
  EXPECT_NE(err.find("no agent answered"), std::string::npos) << err;
}

// Runs the agent, asks it for its status, reloads it with SIGHUP, stops it with SIGTERM, starts
// it again on the same data directory and checks that the earlier history is still there.
TEST(Cli, RunServesStatusReloadsOnSighupAndKeepsHistoryAcrossRestarts) {
  TempDir dir;
  const int port = testing::FreeLoopbackPort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config, "interval: 200ms\nstorage:\n  data_dir: data\n");
  const std::string url = "http://" + listen;

  double first_sample_t = 0;
  {
    Subprocess agent({kEchomon, "run", "--config", config, "--listen", listen});
    ASSERT_TRUE(WaitForAgent(port)) << agent.Stderr();
    EXPECT_NE(agent.Stdout().find("http://" + listen), std::string::npos) << agent.Stdout();

    // Wait (bounded) for a few collection ticks.
    httplib::Client client("127.0.0.1", port);
    json series;
    for (int i = 0; i < 100; ++i) {
      auto res = client.Get("/api/v1/query?metric=echomon_store_series&start=-1h");
      ASSERT_TRUE(res);
      series = json::parse(res->body);
      if (!series["data"]["series"].empty() && series["data"]["series"][0]["points"].size() >= 3) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_GE(series["data"]["series"][0]["points"].size(), 3u) << series.dump();
    first_sample_t = series["data"]["series"][0]["points"][0][0].get<double>();

    std::string out, err;
    EXPECT_EQ(RunCommand({kEchomon, "status", "--url", url}, &out, &err), 0) << out << err;
    EXPECT_NE(out.find("COLLECTOR"), std::string::npos) << out;
    EXPECT_NE(out.find("interval 200 ms"), std::string::npos) << out;
    EXPECT_EQ(RunCommand({kEchomon, "status", "--url", url, "--json"}, &out, &err), 0);
    json status = json::parse(out);
    EXPECT_EQ(status["interval_ms"], 200);
    EXPECT_FALSE(status["collectors"].empty());
    EXPECT_EQ(status["config"], config);

    // SIGHUP reloads the configuration.
    testing::WriteFile(config, "interval: 300ms\nstorage:\n  data_dir: data\n");
    agent.Signal(SIGHUP);
    bool reloaded = false;
    for (int i = 0; i < 100 && !reloaded; ++i) {
      auto res = client.Get("/api/v1/status");
      reloaded = res && json::parse(res->body)["interval_ms"] == 300;
      if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(reloaded) << agent.Stderr();

    agent.Signal(SIGTERM);
    EXPECT_EQ(agent.Wait(10'000), 0) << agent.Stderr();
  }
  EXPECT_TRUE(std::filesystem::exists(dir.File("data/echomon.db")));
  {
    Subprocess agent({kEchomon, "run", "--config", config, "--listen", listen});
    ASSERT_TRUE(WaitForAgent(port)) << agent.Stderr();
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/api/v1/query?metric=echomon_store_series&start=-1h");
    ASSERT_TRUE(res);
    json body = json::parse(res->body);
    ASSERT_FALSE(body["data"]["series"].empty()) << body.dump();
    EXPECT_DOUBLE_EQ(body["data"]["series"][0]["points"][0][0].get<double>(), first_sample_t);
    agent.Signal(SIGINT);
    EXPECT_EQ(agent.Wait(10'000), 0) << agent.Stderr();
  }
}

TEST(Cli, RunWithABadConfigExitsNonZeroWithoutCrashing) {
  TempDir dir;
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config, "interval: [1, 2\n");
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "run", "--config", config}, &out, &err, 10'000), 1);
  EXPECT_NE(err.find(config), std::string::npos) << err;
}

TEST(Cli, RunOnAPortInUseExitsTwo) {
  TempDir dir;
  httplib::Server blocker;
  const int port = blocker.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "run", "--listen", "127.0.0.1:" + std::to_string(port),
                        "--data-dir", dir.File("data")},
                       &out, &err, 10'000),
            2);
  EXPECT_NE(err.find("cannot bind"), std::string::npos) << err;
}

}  // namespace
}  // namespace echomon
