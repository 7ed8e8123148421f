// The maintenance API and CLI against the real echomon binary: run a task through
// POST /api/v1/maintenance/{task}/run and `echomon maintenance run`, and find its history again
// after a restart without the task running at start-up.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
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

json Tasks(int port) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/api/v1/maintenance");
  if (!res || res->status != 200) return nullptr;
  json body = json::parse(res->body);
  json data = body["data"];
  return data;
}

json FindTask(const json& data, const std::string& name) {
  for (const auto& t : data["tasks"]) {
    if (t["name"] == name) return t;
  }
  return nullptr;
}

class MaintenanceAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::FreeLoopbackPort();
    config_ = dir_.File("agent.yaml");
    stamp_ = dir_.File("stamps/stamp");
    std::filesystem::create_directories(dir_.File("stamps"));
    testing::WriteFile(config_,
                       "interval: 200ms\n"
                       "server: {listen: '127.0.0.1:" +
                           std::to_string(port_) +
                           "'}\n"
                           "storage: {data_dir: " +
                           dir_.File("var") +
                           "}\n"
                           "maintenance:\n"
                           "  tasks:\n"
                           "    - name: stamp\n"
                           "      interval: 2h\n"
                           "      actions:\n"
                           "        - type: exec\n"
                           "          params: {argv: [/usr/bin/touch, " +
                           stamp_ + "]}\n");
  }
  std::unique_ptr<Subprocess> StartAgent() {
    auto agent = std::make_unique<Subprocess>(
        std::vector<std::string>{kEchomon, "run", "--config", config_});
    EXPECT_TRUE(WaitForAgent(port_)) << agent->Stderr();
    return agent;
  }
  TempDir dir_;
  int port_ = 0;
  std::string config_, stamp_;
};

TEST_F(MaintenanceAgent, RunsATaskThroughTheApiAndTheCliAndKeepsItsHistory) {
  double next_before = 0;
  {
    auto agent = StartAgent();
    json data = Tasks(port_);
    ASSERT_TRUE(data.is_object());
    ASSERT_EQ(data["tasks"].size(), 5u) << data.dump();
    json stamp = FindTask(data, "stamp");
    EXPECT_EQ(stamp["schedule"], "every 2h");
    EXPECT_EQ(stamp["runs"], 0);
    next_before = stamp["next_run"].get<double>();

    // The run endpoint needs the token.
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30, 0);
    auto denied = client.Post("/api/v1/maintenance/stamp/run", "", "application/json");
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->status, 401);
    EXPECT_FALSE(std::filesystem::exists(stamp_));
    std::string token = testing::ReadFile(dir_.File("var/token"));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    httplib::Headers auth = {{"Authorization", "Bearer " + token}};
    auto ran = client.Post("/api/v1/maintenance/stamp/run", auth, "", "application/json");
    ASSERT_TRUE(ran);
    ASSERT_EQ(ran->status, 200) << ran->body;
    json run = json::parse(ran->body)["data"];
    EXPECT_EQ(run["ok"], true) << run.dump();
    EXPECT_EQ(run["trigger"], "manual");
    EXPECT_TRUE(std::filesystem::exists(stamp_));
    auto unknown = client.Post("/api/v1/maintenance/nope/run", auth, "", "application/json");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 404);

    // The CLI runs it too (token from <data_dir>/token via --config).
    std::filesystem::remove(stamp_);
    std::string out, err;
    EXPECT_EQ(
        RunCommand({kEchomon, "maintenance", "run", "stamp", "--config", config_}, &out, &err), 0)
        << err;
    EXPECT_NE(out.find("stamp ok"), std::string::npos) << out;
    EXPECT_TRUE(std::filesystem::exists(stamp_));
    EXPECT_EQ(RunCommand({kEchomon, "maintenance", "run", "nope", "--config", config_}, &out, &err),
              1);
    EXPECT_NE(err.find("no maintenance task \"nope\""), std::string::npos) << err;
    EXPECT_EQ(RunCommand({kEchomon, "maintenance", "list", "--config", config_}, &out, &err), 0)
        << err;
    EXPECT_NE(out.find("stamp"), std::string::npos);
    EXPECT_NE(out.find("system_cleanup"), std::string::npos);
    EXPECT_EQ(
        RunCommand({kEchomon, "maintenance", "list", "--json", "--config", config_}, &out, &err),
        0);
    json listed = json::parse(out);
    EXPECT_EQ(FindTask(listed, "stamp")["runs"], 2);
    EXPECT_EQ(FindTask(listed, "stamp")["last_result"]["ok"], true);
    agent->Signal(SIGTERM);
    EXPECT_EQ(agent->Wait(10'000), 0) << agent->Stderr();
  }
  // After a restart the history is there, the schedule is kept and nothing ran at start-up.
  std::filesystem::remove(stamp_);
  auto agent = StartAgent();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few ticks
  json data = Tasks(port_);
  json stamp = FindTask(data, "stamp");
  EXPECT_EQ(stamp["runs"], 2) << stamp.dump();
  EXPECT_EQ(stamp["next_run"].get<double>(), next_before);
  EXPECT_FALSE(std::filesystem::exists(stamp_));
  for (const auto& t : data["tasks"]) {
    if (t["name"] != "stamp") {
      EXPECT_EQ(t["runs"], 0) << t.dump();
    }
  }
  ASSERT_GE(data["recent_runs"].size(), 2u);
  EXPECT_EQ(data["recent_runs"][0]["task"], "stamp");
}

}  // namespace
}  // namespace echomon
