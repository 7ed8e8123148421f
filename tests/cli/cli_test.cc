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
using testing::WaitForAgent;

const std::string kEchomon = BuiltBinary("src/cli/echomon");

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

namespace echomon {
namespace {

// echomon alerts / silence against a running agent whose rule fires at once (the store always
// holds more than one series) at critical severity.
TEST(Cli, AlertsAndSilencesFromTheCommandLine) {
  TempDir dir;
  const int port = testing::FreeLoopbackPort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const std::string config = dir.File("agent.yaml");
  testing::WriteFile(config, "interval: 200ms\nserver: {listen: '" + listen +
                                 "'}\nalerting: {default_rules: false}\n"
                                 "rules:\n  - name: many_series\n    metric: echomon_store_series\n"
                                 "    critical: 1\n");
  Subprocess agent({kEchomon, "run", "--config", config});
  ASSERT_TRUE(WaitForAgent(port)) << agent.Stderr();
  std::string out, err;
  bool firing = false;
  for (int i = 0; i < 100 && !firing; ++i) {  // bounded wait for the first ticks
    RunCommand({kEchomon, "alerts", "--config", config, "--json"}, &out, &err);
    firing = out.find("\"firing\"") != std::string::npos;
    if (!firing) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(firing) << out << err;
  // A critical alert firing unsilenced: exit 1, readable table.
  EXPECT_EQ(RunCommand({kEchomon, "alerts", "--config", config}, &out, &err), 1) << err;
  EXPECT_NE(out.find("many_series"), std::string::npos) << out;
  EXPECT_NE(out.find("critical"), std::string::npos) << out;

  // silence add reads the token from <data_dir>/token.
  EXPECT_EQ(RunCommand({kEchomon, "silence", "--config", config, "add", "alertname=\"many_series\"",
                        "-d", "1h", "-a", "ci", "-m", "known"},
                       &out, &err),
            0)
      << err;
  const std::string id = out.substr(0, out.find('\n'));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(RunCommand({kEchomon, "silence", "--config", config, "list"}, &out, &err), 0);
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("known"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({kEchomon, "alerts", "--config", config}, &out, &err), 0) << out;
  EXPECT_EQ(RunCommand({kEchomon, "silence", "--config", config, "expire", id}, &out, &err), 0)
      << err;
  EXPECT_EQ(RunCommand({kEchomon, "alerts", "--config", config}, &out, &err), 1);
  // Without the token a mutation is refused.
  EXPECT_EQ(RunCommand({kEchomon, "silence", "--url", "http://" + listen, "--token", "wrong", "add",
                        "alertname=\"x\""},
                       &out, &err),
            1);
  EXPECT_NE(err.find("401"), std::string::npos) << err;
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(10'000), 0) << agent.Stderr();
}

}  // namespace
}  // namespace echomon

namespace echomon {
namespace {

TEST(Cli, ExpfmtCheckValidatesRealCapturesAndNamesTheLineOfAnError) {
  const std::string shared = ECHOMON_SHARED_DATA_DIR;
  std::string out, err;
  EXPECT_EQ(
      RunCommand({kEchomon, "expfmt-check", shared + "/exposition/vllm_v0_sample.txt"}, &out, &err),
      0)
      << err;
  EXPECT_NE(out.find("valid prometheus"), std::string::npos) << out;
  TempDir dir;
  const std::string bad = dir.File("bad.txt");
  testing::WriteFile(bad, "# TYPE a counter\na_total 1\na_total{x=\"1\" 2\n");
  EXPECT_EQ(RunCommand({kEchomon, "expfmt-check", bad}, &out, &err), 1);
  EXPECT_NE(err.find(bad + ":3:"), std::string::npos) << err;
  // OpenMetrics requires # EOF; stdin works too.
  testing::WriteFile(bad, "# TYPE a counter\na_total 1\n");
  EXPECT_EQ(
      RunCommand({kEchomon, "expfmt-check", "--format", "openmetrics"}, &out, &err, 10'000, bad),
      1);
  EXPECT_NE(err.find("<stdin>:"), std::string::npos) << err;
}

TEST(Cli, DetectScoresACsvAndRejectsABadRowByLine) {
  TempDir dir;
  const std::string in = dir.File("in.csv"), out_csv = dir.File("out.csv");
  std::string csv = "timestamp,value\n";
  for (int i = 0; i < 400; ++i) {
    csv += "2024-01-01 00:" + std::string(i / 60 < 10 ? "0" : "") + std::to_string(i / 60) + ":" +
           (i % 60 < 10 ? "0" : "") + std::to_string(i % 60) + "," +
           std::to_string(i == 350 ? 500.0 : 10.0 + (i % 7)) + "\n";
  }
  testing::WriteFile(in, csv);
  std::string out, err;
  ASSERT_EQ(RunCommand({kEchomon, "detect", "--input", in, "--output", out_csv, "-q"}, &out, &err),
            0)
      << err;
  const std::string scored = testing::ReadFile(out_csv);
  EXPECT_EQ(scored.rfind("timestamp,value,anomaly_score\n", 0), 0u) << scored.substr(0, 80);
  EXPECT_EQ(std::count(scored.begin(), scored.end(), '\n'), 401);
  testing::WriteFile(in, "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,abc\n");
  EXPECT_EQ(RunCommand({kEchomon, "detect", "--input", in, "--output", out_csv}, &out, &err), 1);
  EXPECT_NE(err.find("line 3"), std::string::npos) << err;
}

}  // namespace
}  // namespace echomon
