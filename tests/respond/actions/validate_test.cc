// ValidateAction: messages name the parameter; results round-trip through JSON.
#include <gtest/gtest.h>

#include "core/config.h"
#include "respond/actions/action_test_util.h"

namespace echomon::respond {
namespace {

using testing::json;

std::string Problem(const std::string& type, json params, const ActionLimits& limits = {}) {
  Status s = ValidateAction({type, "", std::move(params), 1000}, limits);
  return s.ok() ? "ok" : s.message();
}

TEST(ValidateAction, NamesTheTypeAndParameter) {
  EXPECT_NE(Problem("reboot", json::object()).find("unknown action type \"reboot\""),
            std::string::npos);
  EXPECT_NE(Problem("exec", {{"argv", "rm -rf /"}}).find("params.argv"), std::string::npos);
  EXPECT_NE(Problem("exec", json::object()).find("params.argv"), std::string::npos);
  EXPECT_NE(Problem("exec", {{"argv", {"/bin/true"}}, {"shell", true}}).find("params.shell"),
            std::string::npos);
  EXPECT_NE(Problem("signal", {{"signal", "TERM"}}).find("process selector"), std::string::npos);
  EXPECT_NE(Problem("signal", {{"pid", 5}, {"signal", "BOGUS"}}).find("params.signal"),
            std::string::npos);
  EXPECT_NE(Problem("renice", {{"pid", 5}, {"nice", 40}}).find("params.nice"), std::string::npos);
  EXPECT_NE(Problem("cleanup", {{"patterns", {"*"}}, {"min_age", "soon"}}, {{"/tmp/x"}})
                .find("params.min_age"),
            std::string::npos);
  EXPECT_NE(Problem("rotate_logs", {{"keep", 0}}, {{"/tmp/x"}}).find("params.keep"),
            std::string::npos);
  EXPECT_NE(Problem("diagnose", {{"sample", "10s"}}).find("params.sample"), std::string::npos);
  EXPECT_NE(Problem("trim_memory", {{"x", 1}}).find("params.x"), std::string::npos);
  EXPECT_EQ(Problem("trim_memory", json::object()), "ok");
  EXPECT_EQ(Problem("exec", {{"argv", {"/bin/true"}}}), "ok");
  EXPECT_EQ(ValidateAction({"exec", "", {{"argv", {"/bin/true"}}}, 0}, {}).code(),
            StatusCode::kInvalidArgument);
}

TEST(ValidateAction, EveryTypeIsKnown) {
  EXPECT_EQ(kActionTypes.size(), 12u);
  for (auto type : kActionTypes) {
    Status s = ValidateAction({std::string(type), "", json::object(), 1000}, {});
    EXPECT_EQ(s.message().find("unknown action type"), std::string::npos) << type;
  }
}

TEST(ActionResult, RoundTripsThroughJson) {
  ActionResult r;
  r.type = "cleanup";
  r.name = "free disk";
  r.ok = true;
  r.summary = "deleted 3 file(s)";
  r.command = {"/bin/x", "y"};
  r.exit_status = 0;
  r.started_ms = 123;
  r.duration_ms = 45;
  r.output = "out";
  r.output_truncated = true;
  r.bytes_freed = 1ULL << 40;
  r.files_touched = 3;
  r.pids = {10, 11};
  r.details = {{"k", "v"}};
  ActionResult back = ActionResult::FromJson(r.ToJson());
  EXPECT_EQ(back.ToJson(), r.ToJson());
}

TEST(ActionLimitsFromConfig, DefaultsToTheAgentsOwnDirectories) {
  core::Config c;
  c.storage.data_dir = "/var/lib/echomon";
  ActionLimits l = ActionLimitsFromConfig(c);
  EXPECT_EQ(l.writable_dirs,
            (std::vector<std::string>{"/var/lib/echomon/logs", "/var/lib/echomon/reports",
                                      "/var/lib/echomon/alerts"}));
  auto loaded = core::LoadConfigString(R"(
storage: {data_dir: /srv/echomon}
actions:
  writable_dirs: [/srv/echomon/logs, /var/log/vllm/]
  http_allow: ["http://127.0.0.1:8000/admin/"]
  max_output: 4KiB
  services:
    vllm:
      restart: [/usr/bin/systemctl, restart, vllm]
      health_url: http://127.0.0.1:8000/health
      health_timeout: 2m
)",
                                       "t.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors[0].ToString();
  ActionLimits m = ActionLimitsFromConfig(loaded.config);
  EXPECT_EQ(m.writable_dirs, (std::vector<std::string>{"/srv/echomon/logs", "/var/log/vllm"}));
  EXPECT_EQ(m.http_allow, std::vector<std::string>{"http://127.0.0.1:8000/admin/"});
  EXPECT_EQ(m.max_output_bytes, 4096u);
  ASSERT_EQ(m.services.count("vllm"), 1u);
  EXPECT_EQ(m.services["vllm"].restart_command.size(), 3u);
  EXPECT_EQ(m.services["vllm"].health_timeout_ms, 120'000);
}

TEST(ActionLimitsFromConfig, BadSectionsNameTheKey) {
  auto bad = core::LoadConfigString("actions:\n  writable_dirs: [relative/dir]\n", "t.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.errors[0].ToString().find("t.yaml:2:"), std::string::npos)
      << bad.errors[0].ToString();
  EXPECT_NE(bad.errors[0].ToString().find("actions.writable_dirs"), std::string::npos);
  auto root = core::LoadConfigString("actions:\n  writable_dirs: [/]\n", "t.yaml");
  EXPECT_FALSE(root.ok());
  auto svc =
      core::LoadConfigString("actions:\n  services:\n    x: {health_url: http://a}\n", "t.yaml");
  ASSERT_FALSE(svc.ok());
  EXPECT_NE(svc.errors[0].ToString().find("needs restart"), std::string::npos);
}

}  // namespace
}  // namespace echomon::respond
