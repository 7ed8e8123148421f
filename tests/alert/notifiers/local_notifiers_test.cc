// FileNotifier, LogNotifier, ProgramNotifier and CallbackNotifier against real files and
// real child processes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "alert/notify/callback_notifier.h"
#include "alert/notify/dispatcher.h"
#include "alert/notify/file_notifier.h"
#include "alert/notify/log_notifier.h"
#include "alert/notify/program_notifier.h"
#include "common/test_util.h"
#include "notifier_test_util.h"

namespace echomon::alert {
namespace {

using echomon::testing::ReadFile;
using echomon::testing::TempDir;
using testing::Firing;
using testing::MakeAlert;
using testing::Resolved;

constexpr int64_t kT0 = 1'700'000'000'123;

ProgramOptions Program(std::vector<std::string> argv, int64_t timeout_ms = 10'000) {
  ProgramOptions options;
  options.argv = std::move(argv);
  options.timeout_ms = timeout_ms;
  return options;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(NotificationJson, CarriesTheAlertAndAnnotations) {
  Notification n = Firing(MakeAlert("01ABC", "0", kT0), "http://agent:9100/");
  nlohmann::json doc = nlohmann::json::parse(NotificationJson(n));
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["event"], "firing");
  EXPECT_EQ(doc["status"], "firing");
  EXPECT_EQ(doc["at"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(doc["at_ms"], kT0);
  EXPECT_EQ(doc["alert"]["id"], "01ABC");
  EXPECT_EQ(doc["alert"]["rule"], "gpu_hot");
  EXPECT_EQ(doc["alert"]["labels"]["gpu"], "0");
  EXPECT_EQ(doc["alert"]["severity"], "critical");
  EXPECT_EQ(doc["alert"]["state"], "firing");
  EXPECT_DOUBLE_EQ(doc["alert"]["value"].get<double>(), 91.5);
  EXPECT_TRUE(doc["alert"]["resolved_at"].is_null());
  EXPECT_FALSE(doc["alert"].contains("previous_severity"));
  EXPECT_EQ(doc["annotations"]["summary"], "GPU 0 is hot");
  EXPECT_EQ(doc["annotations"]["value"], "91.5");
  EXPECT_EQ(doc["annotations"]["threshold"], "85");
  EXPECT_EQ(doc["annotations"]["runbook"], "https://runbooks.example/gpu_hot");
  EXPECT_EQ(doc["generator_url"], "http://agent:9100/api/v1/alerts/01ABC");
}

TEST(FormatRfc3339, FormatsUtcWithMillisAndGoZeroTime) {
  EXPECT_EQ(FormatRfc3339(kT0), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339(1000), "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(FormatRfc3339(0), "0001-01-01T00:00:00Z");
}

TEST(FileNotifier, TwoAlertsInTheSameMillisecondGetTwoFiles) {
  TempDir tmp;
  const std::string dir = tmp.File("alerts");  // does not exist yet
  FileNotifier notifier(dir);
  Notification first = Firing(MakeAlert("id1", "0", kT0));
  Notification second = Firing(MakeAlert("id2", "1", kT0));
  ASSERT_TRUE(notifier.Deliver(first).ok());
  ASSERT_TRUE(notifier.Deliver(second).ok());
  // The same event delivered twice (a retry after a late failure) does not overwrite either.
  ASSERT_TRUE(notifier.Deliver(second).ok());

  std::vector<std::string> names = ListDir(dir);
  ASSERT_EQ(names.size(), 3u) << "no temporary files are left behind";
  EXPECT_EQ(names[0], "alert_1700000000123_id1_firing.json");
  EXPECT_EQ(names[1], "alert_1700000000123_id2_firing-1.json");
  EXPECT_EQ(names[2], "alert_1700000000123_id2_firing.json");
  for (const auto& name : names) {
    nlohmann::json doc = nlohmann::json::parse(ReadFile(dir + "/" + name));
    EXPECT_EQ(doc["event"], "firing") << name;
    EXPECT_EQ(doc["alert"]["id"], name.find("id1") != std::string::npos ? "id1" : "id2");
  }
}

TEST(FileNotifier, ResolvedAndSeverityChangedEventsHaveTheirOwnFiles) {
  TempDir tmp;
  FileNotifier notifier(tmp.path());
  AlertRecord alert = MakeAlert("id1", "0", kT0);
  ASSERT_TRUE(notifier.Deliver(Firing(alert)).ok());
  AlertEvent changed{EventKind::kSeverityChanged, alert, Severity::kWarning};
  ASSERT_TRUE(notifier.Deliver(MakeNotification(changed, kT0)).ok());
  ASSERT_TRUE(notifier.Deliver(Resolved(alert, kT0 + 5000)).ok());
  std::vector<std::string> names = ListDir(tmp.path());
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[1], "alert_1700000000123_id1_severity_changed.json");
  EXPECT_EQ(names[2], "alert_1700000005123_id1_resolved.json");
  nlohmann::json changed_doc = nlohmann::json::parse(ReadFile(tmp.File(names[1])));
  EXPECT_EQ(changed_doc["alert"]["previous_severity"], "warning");
  nlohmann::json resolved = nlohmann::json::parse(ReadFile(tmp.File(names[2])));
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(resolved["alert"]["resolved_at"], "2023-11-14T22:13:25.123Z");
}

TEST(FileNotifier, UnwritableDirectoryFailsNamingThePath) {
  TempDir tmp;
  // A regular file where a directory is needed: fails even for root.
  echomon::testing::WriteFile(tmp.File("blocker"), "x");
  const std::string dir = tmp.File("blocker") + "/alerts";
  FileNotifier notifier(dir);
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find(dir), std::string::npos) << st.message();
}

TEST(LogNotifier, LineNamesRuleLabelsSeverityAndValues) {
  Notification n = Firing(MakeAlert("id1", "0", kT0));
  std::string line = LogNotifier::FormatLine(n);
  EXPECT_NE(line.find("alert firing: gpu_hot{gpu=\"0\",host=\"node1\"}"), std::string::npos)
      << line;
  EXPECT_NE(line.find("severity=critical"), std::string::npos) << line;
  EXPECT_NE(line.find("value=91.5 threshold=85"), std::string::npos) << line;
  EXPECT_NE(line.find("summary=\"GPU 0 is hot\""), std::string::npos) << line;
  LogNotifier notifier;
  EXPECT_TRUE(notifier.Deliver(n).ok());
  AlertEvent changed{EventKind::kSeverityChanged, n.alert, Severity::kWarning};
  EXPECT_NE(LogNotifier::FormatLine(MakeNotification(changed, kT0)).find("(was warning)"),
            std::string::npos);
}

TEST(ProgramNotifier, GivesTheNotificationOnStdin) {
  TempDir tmp;
  const std::string out = tmp.File("stdin.json");
  ProgramNotifier notifier(Program({"/usr/bin/tee", out}));
  Notification n = Firing(MakeAlert("id1", "0", kT0));
  Status st = notifier.Deliver(n);
  ASSERT_TRUE(st.ok()) << st.ToString();
  nlohmann::json doc = nlohmann::json::parse(ReadFile(out));
  EXPECT_EQ(doc["alert"]["id"], "id1");
  EXPECT_EQ(doc["status"], "firing");
}

TEST(ProgramNotifier, GivesAMinimalEnvironment) {
  TempDir tmp;
  const std::string out = tmp.File("env.txt");
  ::setenv("ECHOMON_TEST_SECRET", "leak", 1);
  // The shell is only the test's way to capture env; the notifier itself never uses one.
  ProgramOptions options = Program({"/bin/sh", "-c", "env > \"$0\"", out});
  options.env = {{"EXTRA", "1"}};
  ProgramNotifier capture(options);
  Notification n = Resolved(MakeAlert("id1", "0", kT0), kT0 + 1000);
  ASSERT_TRUE(capture.Deliver(n).ok());
  ::unsetenv("ECHOMON_TEST_SECRET");
  std::string env = ReadFile(out);
  EXPECT_NE(env.find("ECHOMON_ALERT_RULE=gpu_hot\n"), std::string::npos) << env;
  EXPECT_NE(env.find("ECHOMON_ALERT_SEVERITY=critical\n"), std::string::npos) << env;
  EXPECT_NE(env.find("ECHOMON_ALERT_STATUS=resolved\n"), std::string::npos) << env;
  EXPECT_NE(env.find("ECHOMON_ALERT_FINGERPRINT=" + n.alert.fingerprint + "\n"), std::string::npos)
      << env;
  EXPECT_NE(env.find("ECHOMON_ALERT_VALUE=91.5\n"), std::string::npos) << env;
  EXPECT_NE(env.find("EXTRA=1\n"), std::string::npos) << env;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
  EXPECT_EQ(env.find("ECHOMON_TEST_SECRET"), std::string::npos) << "the agent's environment leaked";
  EXPECT_EQ(env.find("HOME="), std::string::npos) << env;
}

TEST(ProgramNotifier, NonZeroExitIsAFailureWithCodeAndStderr) {
  ProgramNotifier notifier(Program({"/bin/sh", "-c", "echo 'pager refused' >&2; exit 3"}));
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("exited with code 3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("pager refused"), std::string::npos) << st.message();
}

TEST(ProgramNotifier, ProgramThatIgnoresStdinAndExitsZeroSucceeds) {
  ProgramNotifier notifier(Program({"/bin/true"}));
  EXPECT_TRUE(notifier.Deliver(Firing(MakeAlert("id1", "0", kT0))).ok());
}

TEST(ProgramNotifier, ProgramPastItsTimeoutIsKilled) {
  ProgramNotifier notifier(Program({"/bin/sleep", "10"}, 200));
  auto start = std::chrono::steady_clock::now();
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kTimeout) << st.ToString();
  EXPECT_NE(st.message().find("timed out after 200 ms"), std::string::npos) << st.message();
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
}

TEST(ProgramNotifier, ProgramIgnoringSigtermIsKilledAfterTheGrace) {
  ProgramOptions options = Program({"/bin/sh", "-c", "trap '' TERM; /bin/sleep 10"}, 200);
  options.kill_grace_ms = 300;
  ProgramNotifier notifier(options);
  auto start = std::chrono::steady_clock::now();
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.code(), StatusCode::kTimeout) << st.ToString();
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
}

TEST(ProgramNotifier, MissingProgramFails) {
  ProgramNotifier notifier(Program({"/nonexistent/notify-pager"}));
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/nonexistent/notify-pager"), std::string::npos) << st.message();
}

TEST(CallbackNotifier, AThrowingHandlerDoesNotStopTheOthers) {
  std::vector<Alert> seen;
  CallbackNotifier notifier({[](const Alert&) { throw std::runtime_error("handler bug"); },
                             [&](const Alert& a) { seen.push_back(a); }});
  Notification n = Resolved(MakeAlert("id1", "0", kT0), kT0 + 1000);
  n.annotations["metric"] = "gpu_temperature_celsius";
  Status st = notifier.Deliver(n);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("handler bug"), std::string::npos) << st.message();
  EXPECT_EQ(notifier.handler_errors(), 1u);
  ASSERT_EQ(seen.size(), 1u);
  const Alert& a = seen[0];
  EXPECT_EQ(a.id, "id1");
  EXPECT_EQ(a.rule, "gpu_hot");
  EXPECT_EQ(a.metric, "gpu_temperature_celsius");
  EXPECT_EQ(a.labels.at("gpu"), "0");
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_TRUE(a.resolved);
  EXPECT_DOUBLE_EQ(a.value, 91.5);
  EXPECT_DOUBLE_EQ(a.threshold, 85);
  EXPECT_EQ(a.message, "GPU 0 is hot");
  EXPECT_EQ(a.timestamp_ms, kT0 + 1000);
}

TEST(CallbackNotifier, HandlerFailureIsCountedOnceNotRetried) {
  ManualClock clock;
  NotificationDispatcher dispatcher(&clock);
  int calls = 0;
  auto owned = std::make_unique<CallbackNotifier>(std::vector<AlertHandler>{[&](const Alert&) {
    ++calls;
    throw 42;  // not even a std::exception
  }});
  CallbackNotifier* notifier = owned.get();
  dispatcher.AddNotifier(std::move(owned));
  dispatcher.Enqueue(Firing(MakeAlert("id1", "0", kT0)));
  dispatcher.Pump();
  clock.Advance(60'000);
  dispatcher.Pump();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(notifier->handler_errors(), 1u);
  NotifierStats s = dispatcher.Stats().notifiers[0];
  EXPECT_EQ(s.name, "callback");
  EXPECT_EQ(s.failed_attempts, 1u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_NE(s.last_error.find("unknown exception"), std::string::npos) << s.last_error;
}

}  // namespace
}  // namespace echomon::alert
