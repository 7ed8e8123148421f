// The friendly CLI against a real agent: query with its sparkline and --json, status' exit code
// when something is critical, reports written to files, and the shell completion script.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
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

bool HasSparkChar(const std::string& s) {
  for (const char* bar : {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}) {
    if (s.find(bar) != std::string::npos) return true;
  }
  return false;
}

// One agent for the suite: 200 ms interval, a rule that is critical at once (memory total is
// never below 1 EB), and nothing else that could page.
class CliAgainstAnAgent : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    port_ = testing::FreeLoopbackPort();
    url_ = "http://127.0.0.1:" + std::to_string(port_);
    const std::string config = dir_->File("agent.yaml");
    testing::WriteFile(config,
                       "interval: 200ms\n"
                       "storage: {data_dir: data}\n"
                       "alerting: {default_rules: false}\n"
                       "rules:\n"
                       "  - name: memory_total_tiny\n"
                       "    metric: echomon_memory_total_bytes\n"
                       "    comparison: below\n"
                       "    critical: 1e18\n");
    agent_ = new Subprocess(
        {kEchomon, "run", "--config", config, "--listen", "127.0.0.1:" + std::to_string(port_)});
    // Wait (bounded) for the alert to fire and a few samples to be stored.
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(0, 200'000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      auto res = client.Get("/api/v1/alerts");
      if (res && res->status == 200) {
        json body = json::parse(res->body, nullptr, false);
        if (!body.is_discarded() && body["data"].size() > 0 &&
            body["data"][0]["state"] == "firing") {
          firing_ = true;
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // a few more ticks
  }
  static void TearDownTestSuite() {
    delete agent_;
    delete dir_;
  }

  void SetUp() override { ASSERT_TRUE(firing_) << agent_->Stderr(); }

  static inline TempDir* dir_ = nullptr;
  static inline Subprocess* agent_ = nullptr;
  static inline int port_ = 0;
  static inline std::string url_;
  static inline bool firing_ = false;
};

TEST_F(CliAgainstAnAgent, QueryPrintsLatestMinAvgMaxAndASparkline) {
  std::string out, err;
  ASSERT_EQ(RunCommand({kEchomon, "query", "echomon_memory_used_percent", "--url", url_, "--since",
                        "5m", "--step", "1s"},
                       &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("LATEST"), std::string::npos) << out;
  EXPECT_NE(out.find("MAX"), std::string::npos) << out;
  EXPECT_TRUE(HasSparkChar(out)) << out;
  EXPECT_EQ(out.find("\033["), std::string::npos) << "no colour when stdout is not a terminal";

  ASSERT_EQ(RunCommand({kEchomon, "query", "echomon_cpu_usage_percent", "--labels", "cpu=\"total\"",
                        "--url", url_, "--since", "5m", "--step", "1s", "--json"},
                       &out, &err),
            0)
      << err;
  json q = json::parse(out);
  ASSERT_EQ(q["series"].size(), 1u) << q.dump(2);
  const json& s = q["series"][0];
  EXPECT_EQ(s["labels"]["cpu"], "total");
  ASSERT_TRUE(s["latest"]["value"].is_number()) << s.dump();
  EXPECT_LE(s["min"].get<double>(), s["avg"].get<double>());
  EXPECT_LE(s["avg"].get<double>(), s["max"].get<double>());
  EXPECT_GE(s["points"].size(), 2u);  // 1 s steps over the ~1.5 s the agent has run
  EXPECT_TRUE(HasSparkChar(s["sparkline"].get<std::string>())) << s["sparkline"];
  EXPECT_EQ(q["step_seconds"], 1.0);

  EXPECT_EQ(RunCommand({kEchomon, "query", "no_such_metric", "--url", url_}, &out, &err), 1);
  EXPECT_NE(err.find("no series named no_such_metric"), std::string::npos) << err;
  EXPECT_EQ(RunCommand({kEchomon, "query", "x", "--url", url_, "--since", "soon"}, &out, &err), 64);
  EXPECT_NE(err.find("--since"), std::string::npos) << err;
}

TEST_F(CliAgainstAnAgent, StatusExitsOneWhileACriticalAlertFires) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kEchomon, "status", "--url", url_}, &out, &err), 1) << out << err;
  EXPECT_NE(out.find("CRITICAL"), std::string::npos) << out;
  EXPECT_NE(out.find("critical alert memory_total_tiny"), std::string::npos) << out;
  EXPECT_NE(out.find("COLLECTOR"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({kEchomon, "status", "--url", url_, "--json"}, &out, &err), 1);
  json status = json::parse(out);
  EXPECT_TRUE(status["assessment"]["critical"].get<bool>());
  EXPECT_EQ(status["interval_ms"], 200);
  // Silencing the alert makes the agent not critical any more.
  const std::string token = testing::ReadFile(dir_->File("data/token"));
  ASSERT_EQ(
      RunCommand({kEchomon, "silence", "--url", url_, "--token", token.substr(0, token.find('\n')),
                  "add", "alertname=\"memory_total_tiny\"", "-d", "1h", "-m", "test"},
                 &out, &err),
      0)
      << err;
  const std::string id = out.substr(0, out.find('\n'));
  EXPECT_EQ(RunCommand({kEchomon, "status", "--url", url_}, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("OK"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({kEchomon, "silence", "--url", url_, "list", "--json"}, &out, &err), 0);
  EXPECT_EQ(json::parse(out)[0]["id"], id);
  EXPECT_EQ(RunCommand({kEchomon, "silence", "--url", url_, "--token",
                        token.substr(0, token.find('\n')), "expire", id},
                       &out, &err),
            0)
      << err;
  EXPECT_EQ(RunCommand({kEchomon, "status", "--url", url_}, &out, &err), 1) << out;
}

TEST_F(CliAgainstAnAgent, ReportWritesHtmlAndJsonFiles) {
  std::string out, err;
  const std::string html = dir_->File("report.html");
  ASSERT_EQ(
      RunCommand({kEchomon, "report", "--url", url_, "--since", "10m", "-o", html}, &out, &err), 0)
      << err;
  const std::string page = testing::ReadFile(html);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u) << page.substr(0, 100);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("memory_total_tiny"), std::string::npos);
  EXPECT_NE(err.find("wrote html report to " + html), std::string::npos) << err;

  const std::string js = dir_->File("report.json");
  ASSERT_EQ(
      RunCommand({kEchomon, "report", "--url", url_, "--format", "json", "-o", js}, &out, &err), 0)
      << err;
  json r = json::parse(testing::ReadFile(js));
  EXPECT_EQ(r["kind"], "echomon-report");
  EXPECT_EQ(r["system_status"]["overall"], "critical") << r["system_status"].dump();
  EXPECT_GE(r["alerts"]["active"]["critical_firing"].get<int>(), 1);
  EXPECT_EQ(r["window"]["seconds"], 86400.0);  // report.window's default
  EXPECT_EQ(RunCommand({kEchomon, "report", "--url", url_, "--format", "pdf"}, &out, &err), 64);
}

TEST(CliCompletion, BashScriptIsValidAndCompletesSubcommandsAndChoices) {
  TempDir dir;
  std::string out, err;
  ASSERT_EQ(RunCommand({kEchomon, "completion", "bash"}, &out, &err), 0) << err;
  const std::string script = dir.File("echomon.bash");
  testing::WriteFile(script, out);
  for (const char* word :
       {"status", "alerts", "query", "report", "silence", "completion", "--json", "--since"}) {
    EXPECT_NE(out.find(word), std::string::npos) << word;
  }
  std::string bash_out, bash_err;
  ASSERT_EQ(RunCommand({"bash", "-n", script}, &bash_out, &bash_err), 0) << bash_err;
  // Run the completion function the way bash would for "echomon rep<TAB>" and
  // "echomon report --format <TAB>" and "echomon silence l<TAB>".
  const std::string driver = dir.File("drive.sh");
  testing::WriteFile(driver, "source " + script +
                                 "\n"
                                 "COMP_WORDS=(echomon rep); COMP_CWORD=1; _echomon\n"
                                 "echo \"1:${COMPREPLY[*]}\"\n"
                                 "COMP_WORDS=(echomon report --format ''); COMP_CWORD=3; _echomon\n"
                                 "echo \"2:${COMPREPLY[*]}\"\n"
                                 "COMP_WORDS=(echomon silence l); COMP_CWORD=2; _echomon\n"
                                 "echo \"3:${COMPREPLY[*]}\"\n"
                                 "COMP_WORDS=(echomon completion ''); COMP_CWORD=2; _echomon\n"
                                 "echo \"4:${COMPREPLY[*]}\"\n");
  ASSERT_EQ(RunCommand({"bash", driver}, &bash_out, &bash_err), 0) << bash_err;
  EXPECT_NE(bash_out.find("1:report\n"), std::string::npos) << bash_out;
  EXPECT_NE(bash_out.find("2:html json\n"), std::string::npos) << bash_out;
  EXPECT_NE(bash_out.find("3:list\n"), std::string::npos) << bash_out;
  EXPECT_NE(bash_out.find("4:bash zsh"), std::string::npos) << bash_out;

  ASSERT_EQ(RunCommand({kEchomon, "completion", "zsh"}, &out, &err), 0) << err;
  EXPECT_EQ(out.rfind("#compdef echomon", 0), 0u);
  EXPECT_NE(out.find("report"), std::string::npos);
  if (access("/usr/bin/zsh", X_OK) == 0 || access("/bin/zsh", X_OK) == 0) {
    testing::WriteFile(dir.File("_echomon"), out);
    EXPECT_EQ(RunCommand({"zsh", "-n", dir.File("_echomon")}, &bash_out, &bash_err), 0) << bash_err;
  }
  EXPECT_EQ(RunCommand({kEchomon, "completion", "fish"}, &out, &err), 64);
}

TEST(CliJson, VersionHasJsonToo) {
  std::string out, err;
  ASSERT_EQ(RunCommand({kEchomon, "version", "--json"}, &out, &err), 0);
  EXPECT_FALSE(json::parse(out)["version"].get<std::string>().empty());
}

}  // namespace
}  // namespace echomon
