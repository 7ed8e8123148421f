// exec: argv without a shell, a limited environment, timeouts that kill the process group,
// capped output, running as another user.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>

#include "respond/actions/action_test_util.h"

namespace echomon::respond {
namespace {

using testing::Act;
using testing::Alive;
using testing::Exists;
using testing::json;

TEST(ExecAction, PassesArgvVerbatimWithoutAShell) {
  ActionLimits limits;
  ActionResult r = Act("exec", {{"argv", {"/bin/echo", "$(id)", "a b", ";", "*"}}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, "$(id) a b ; *\n");
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.command, (std::vector<std::string>{"/bin/echo", "$(id)", "a b", ";", "*"}));
}

TEST(ExecAction, LooksUpProgramsInPath) {
  ActionLimits limits;
  ActionResult r = Act("exec", {{"argv", {"echo", "hi"}}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, "hi\n");
  ActionResult missing = Act("exec", {{"argv", {"no-such-program-echomon"}}}, limits);
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.error.find("not found"), std::string::npos) << missing.error;
}

TEST(ExecAction, EnvironmentIsLimitedAndCarriesTheAlert) {
  ::setenv("ECHOMON_TEST_SECRET", "leaked", 1);
  ActionLimits limits;
  ActionContext ctx;
  ctx.alertname = "DiskFull";
  ctx.severity = "critical";
  ctx.value = 93.5;
  ctx.incident_id = "inc-42";
  ctx.labels = {{"mount", "/data"}, {"job-name", "x"}};
  ActionResult r = testing::Act("exec", {{"argv", {"/usr/bin/env"}}, {"env", {{"EXTRA", "1"}}}},
                                limits, false, 10'000, ctx);
  ::unsetenv("ECHOMON_TEST_SECRET");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output.find("ECHOMON_TEST_SECRET"), std::string::npos) << r.output;
  for (const char* want :
       {"ECHOMON_ALERTNAME=DiskFull\n", "ECHOMON_SEVERITY=critical\n", "ECHOMON_VALUE=93.5\n",
        "ECHOMON_INCIDENT_ID=inc-42\n", "ECHOMON_LABEL_MOUNT=/data\n", "ECHOMON_LABEL_JOB_NAME=x\n",
        "EXTRA=1\n", "PATH=", "HOME=", "LANG="}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << " missing in:\n" << r.output;
  }
  // Nothing else: count the lines.
  size_t lines = std::count(r.output.begin(), r.output.end(), '\n');
  EXPECT_EQ(lines, 10u) << r.output;
}

TEST(ExecAction, RunsInTheWorkingDirectory) {
  echomon::testing::TempDir dir;
  ActionLimits limits;
  ActionResult r = Act("exec", {{"argv", {"/bin/pwd"}}, {"cwd", dir.path()}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  char real[PATH_MAX];
  ASSERT_NE(::realpath(dir.path().c_str(), real), nullptr);
  EXPECT_EQ(r.output, std::string(real) + "\n");
  ActionResult bad = Act("exec", {{"argv", {"/bin/pwd"}}, {"cwd", dir.File("missing")}}, limits);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("No such file"), std::string::npos) << bad.error;
}

TEST(ExecAction, NonZeroExitIsAFailureWithTheStatus) {
  ActionLimits limits;
  ActionResult r = Act("exec", {{"argv", {"/bin/sh", "-c", "echo oops >&2; exit 3"}}}, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.output, "oops\n");
  EXPECT_NE(r.error.find("status 3"), std::string::npos) << r.error;
}

TEST(ExecAction, TimeoutKillsTheWholeProcessGroup) {
  ActionLimits limits;
  ActionResult r =
      Act("exec", {{"argv", {"/bin/sh", "-c", "sleep 300 & echo $!; wait"}}}, limits, false, 500);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_LT(r.duration_ms, 5000);
  int grandchild = std::atoi(r.output.c_str());
  ASSERT_GT(grandchild, 1) << r.output;
  EXPECT_TRUE(testing::WaitFor([&] { return !Alive(grandchild); }))
      << "background child " << grandchild << " survived the timeout";
}

// A restart script starts a service in the background and exits: the command is judged by its
// own exit, the background child keeps running, and the action returns well before the timeout.
TEST(ExecAction, BackgroundChildHoldingTheOutputDoesNotMakeATimeout) {
  echomon::testing::TempDir dir;
  std::string pid_file = dir.File("bg.pid");
  ActionLimits limits;
  ActionResult r = Act(
      "exec", {{"argv", {"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; echo started"}}},
      limits, false, 8000);
  int bg = std::atoi(echomon::testing::ReadFile(pid_file).c_str());
  ASSERT_GT(bg, 1);
  bool alive = Alive(bg);
  ::kill(bg, SIGKILL);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(r.duration_ms, 3000);
  EXPECT_TRUE(alive) << "the background child was killed after a clean exit";
}

// Output that is not UTF-8 (or cut inside a character by the cap) is made valid, so the result
// can always be serialised.
TEST(ExecAction, InvalidUtf8OutputIsReplaced) {
  ActionLimits limits;
  ActionResult r =
      Act("exec", {{"argv", {"/usr/bin/printf", "a\\321b\\377"}}}, limits);  // a\xd1 b \xff
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_NO_THROW(r.ToJson().dump());
  limits.max_output_bytes = 4;  // "abc" + 1 of the 4 bytes of U+1F600: cut before it
  ActionResult capped = Act("exec", {{"argv", {"/usr/bin/printf", "abc\xF0\x9F\x98\x80"}}}, limits);
  ASSERT_TRUE(capped.ok) << capped.error;
  EXPECT_EQ(capped.output, "abc");
  EXPECT_TRUE(capped.output_truncated);
}

TEST(ExecAction, OutputIsCapped) {
  ActionLimits limits;
  limits.max_output_bytes = 1000;
  ActionResult r = Act("exec", {{"argv", {"/usr/bin/head", "-c", "100000", "/dev/zero"}}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output.size(), 1000u);
  EXPECT_TRUE(r.output_truncated);
}

TEST(ExecAction, RunsAsAnotherUserOnlyAsRoot) {
  ActionLimits limits;
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody on this host";
  ActionResult r = Act("exec", {{"argv", {"/usr/bin/id", "-u"}}, {"user", "nobody"}}, limits);
  if (::geteuid() == 0) {
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.output, std::to_string(nobody->pw_uid) + "\n");
  } else {
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("needs root"), std::string::npos) << r.error;
  }
  ActionResult unknown =
      Act("exec", {{"argv", {"/usr/bin/id"}}, {"user", "no-such-user-echomon"}}, limits);
  EXPECT_FALSE(unknown.ok);
  EXPECT_NE(unknown.error.find("not found"), std::string::npos) << unknown.error;
}

TEST(ExecAction, DryRunRunsNothing) {
  echomon::testing::TempDir dir;
  ActionLimits limits;
  std::string marker = dir.File("marker");
  ActionResult r = Act("exec", {{"argv", {"/usr/bin/touch", marker}}}, limits, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.dry_run);
  EXPECT_NE(r.summary.find("would run /usr/bin/touch"), std::string::npos) << r.summary;
  EXPECT_FALSE(Exists(marker));
  ActionResult real = Act("exec", {{"argv", {"/usr/bin/touch", marker}}}, limits);
  ASSERT_TRUE(real.ok) << real.error;
  EXPECT_TRUE(Exists(marker));
}

}  // namespace
}  // namespace echomon::respond
