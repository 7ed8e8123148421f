// WebhookNotifier against a loopback httplib server and AlertmanagerNotifier against a real
// Alertmanager (Debian's prometheus-alertmanager) started by the test.
#include "alert/notify/http_notifiers.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "alert/notify/dispatcher.h"
#include "common/test_util.h"
#include "notifier_test_util.h"

namespace echomon::alert {
namespace {

using echomon::testing::FreeLoopbackPort;
using echomon::testing::Subprocess;
using echomon::testing::TempDir;
using echomon::testing::WriteFile;
using testing::Firing;
using testing::MakeAlert;
using testing::Resolved;

constexpr int64_t kT0 = 1'700'000'000'123;

WebhookOptions Webhook(std::string url, int64_t timeout_ms = 5000) {
  WebhookOptions options;
  options.url = std::move(url);
  options.timeout_ms = timeout_ms;
  return options;
}

AlertmanagerOptions Alertmanager(std::string url, int64_t timeout_ms = 5000) {
  AlertmanagerOptions options;
  options.url = std::move(url);
  options.timeout_ms = timeout_ms;
  return options;
}

// An HTTP server on 127.0.0.1 that records POST /hook and answers with scripted status codes
// (200 once the script runs out).
class RecordingServer {
 public:
  explicit RecordingServer(int delay_ms = 0) {
    server_.Post("/hook", [this, delay_ms](const httplib::Request& req, httplib::Response& res) {
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      authorization_ = req.get_header_value("Authorization");
      content_type_ = req.get_header_value("Content-Type");
      int code = 200;
      if (!codes_.empty()) {
        code = codes_.front();
        codes_.pop_front();
      }
      res.status = code;
      res.set_content(code == 200 ? "ok" : "broken", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~RecordingServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void Answer(std::initializer_list<int> codes) {
    std::lock_guard<std::mutex> lock(mu_);
    codes_.insert(codes_.end(), codes);
  }
  std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::string authorization() const {
    std::lock_guard<std::mutex> lock(mu_);
    return authorization_;
  }
  std::string content_type() const {
    std::lock_guard<std::mutex> lock(mu_);
    return content_type_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::deque<int> codes_;
  std::vector<std::string> bodies_;
  std::string authorization_, content_type_;
};

const std::regex kRfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z)");

TEST(WebhookNotifier, PostsTheAlertmanagerWebhookShape) {
  RecordingServer server;
  WebhookOptions options = Webhook(server.url());
  options.headers = {{"Authorization", "Bearer s3cret"}};
  options.receiver = "ops";
  WebhookNotifier notifier(options);
  AlertRecord alert = MakeAlert("id1", "0", kT0);
  Status st = notifier.Deliver(Firing(alert, "http://agent.example:9100"));
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(server.bodies().size(), 1u);
  EXPECT_EQ(server.authorization(), "Bearer s3cret");
  EXPECT_EQ(server.content_type(), "application/json");

  nlohmann::json body = nlohmann::json::parse(server.bodies()[0]);
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["receiver"], "ops");
  EXPECT_EQ(body["groupKey"], "{}:{alertname=\"gpu_hot\",gpu=\"0\",host=\"node1\"}");
  EXPECT_EQ(body["groupLabels"]["alertname"], "gpu_hot");
  EXPECT_EQ(body["commonLabels"]["severity"], "critical");
  EXPECT_EQ(body["commonAnnotations"]["summary"], "GPU 0 is hot");
  EXPECT_EQ(body["externalURL"], "http://agent.example:9100");
  EXPECT_EQ(body["truncatedAlerts"], 0);
  ASSERT_EQ(body["alerts"].size(), 1u);
  const nlohmann::json& a = body["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["alertname"], "gpu_hot");
  EXPECT_EQ(a["labels"]["severity"], "critical");
  EXPECT_EQ(a["labels"]["gpu"], "0");
  EXPECT_EQ(a["labels"]["host"], "node1");
  EXPECT_EQ(a["annotations"]["runbook"], "https://runbooks.example/gpu_hot");
  EXPECT_EQ(a["annotations"]["value"], "91.5");
  EXPECT_EQ(a["startsAt"], "2023-11-14T22:13:20.123Z");
  EXPECT_TRUE(std::regex_match(a["startsAt"].get<std::string>(), kRfc3339));
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["generatorURL"], "http://agent.example:9100/api/v1/alerts/id1");
  EXPECT_EQ(a["fingerprint"], alert.fingerprint);
  EXPECT_EQ(a["fingerprint"].get<std::string>().size(), 16u);

  ASSERT_TRUE(notifier.Deliver(Resolved(alert, kT0 + 60'000)).ok());
  ASSERT_EQ(server.bodies().size(), 2u);
  nlohmann::json resolved = nlohmann::json::parse(server.bodies()[1]);
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(resolved["alerts"][0]["status"], "resolved");
  EXPECT_EQ(resolved["alerts"][0]["endsAt"], "2023-11-14T22:14:20.123Z");
}

TEST(WebhookNotifier, ServerErrorIsRetriedWithBackoffAndSucceeds) {
  RecordingServer server;
  server.Answer({500});
  ManualClock clock(kT0);
  NotificationDispatcher dispatcher(&clock);
  dispatcher.AddNotifier(std::make_unique<WebhookNotifier>(Webhook(server.url())));
  dispatcher.Enqueue(Firing(MakeAlert("id1", "0", kT0)));
  EXPECT_EQ(dispatcher.Pump(), 1u);
  NotifierStats s = dispatcher.Stats().notifiers[0];
  EXPECT_EQ(s.failed_attempts, 1u);
  EXPECT_NE(s.last_error.find("HTTP 500"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.queued, 1u);

  clock.Advance(999);
  EXPECT_EQ(dispatcher.Pump(), 0u);
  clock.Advance(1);
  EXPECT_EQ(dispatcher.Pump(), 1u);
  s = dispatcher.Stats().notifiers[0];
  EXPECT_EQ(s.sent, 1u);
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.queued, 0u);
  ASSERT_EQ(server.bodies().size(), 2u);
  EXPECT_EQ(server.bodies()[0], server.bodies()[1]) << "the retry sends the same body";
}

TEST(WebhookNotifier, GivesUpAfterMaxAttemptsAndCountsDropped) {
  RecordingServer server;
  server.Answer({500, 502, 503, 200});
  ManualClock clock(kT0);
  DispatcherOptions retry;
  retry.max_attempts = 3;
  NotificationDispatcher dispatcher(&clock, retry);
  dispatcher.AddNotifier(std::make_unique<WebhookNotifier>(Webhook(server.url())));
  dispatcher.Enqueue(Firing(MakeAlert("id1", "0", kT0)));
  dispatcher.Pump();
  clock.Advance(1000);
  dispatcher.Pump();
  clock.Advance(2000);
  dispatcher.Pump();
  clock.Advance(600'000);
  EXPECT_EQ(dispatcher.Pump(), 0u);
  EXPECT_EQ(server.bodies().size(), 3u);
  NotifierStats s = dispatcher.Stats().notifiers[0];
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.failed_attempts, 3u);
  EXPECT_EQ(s.sent, 0u);
  EXPECT_NE(s.last_error.find("HTTP 503"), std::string::npos) << s.last_error;
}

TEST(WebhookNotifier, RefusedConnectionFails) {
  int port = FreeLoopbackPort();  // nothing listens there
  WebhookNotifier notifier(Webhook("http://127.0.0.1:" + std::to_string(port) + "/hook", 1000));
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << st.message();
}

TEST(WebhookNotifier, SlowServerTimesOut) {
  RecordingServer server(/*delay_ms=*/1500);
  WebhookNotifier notifier(Webhook(server.url(), 200));
  auto start = std::chrono::steady_clock::now();
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kTimeout) << st.ToString();
  EXPECT_LT(elapsed, std::chrono::milliseconds(1200));
}

TEST(WebhookNotifier, BadUrlFails) {
  WebhookNotifier notifier(Webhook("ftp://example/hook"));
  EXPECT_EQ(notifier.Deliver(Firing(MakeAlert("id1", "0", kT0))).code(),
            StatusCode::kInvalidArgument);
}

TEST(AlertmanagerPayload, LabelsAnnotationsAndTimes) {
  AlertRecord alert = MakeAlert("id1", "0", kT0);
  std::vector<Notification> batch = {Firing(alert, "http://agent:9100"),
                                     Resolved(MakeAlert("id2", "1", kT0), kT0 + 5000)};
  nlohmann::json body = nlohmann::json::parse(AlertmanagerPayload(batch, kT0 + 1000, 240'000));
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["labels"]["alertname"], "gpu_hot");
  EXPECT_EQ(body[0]["labels"]["severity"], "critical");
  EXPECT_EQ(body[0]["labels"]["gpu"], "0");
  EXPECT_EQ(body[0]["annotations"]["summary"], "GPU 0 is hot");
  EXPECT_EQ(body[0]["startsAt"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(body[0]["endsAt"], "2023-11-14T22:17:21.123Z") << "now + 4 resend intervals";
  EXPECT_EQ(body[0]["generatorURL"], "http://agent:9100/api/v1/alerts/id1");
  EXPECT_EQ(body[1]["endsAt"], "2023-11-14T22:13:25.123Z") << "the resolve time";
  EXPECT_FALSE(body[1].contains("generatorURL"));
}

// A real Alertmanager on a free loopback port, clustering off, state in a TempDir.
class AlertmanagerProcess {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";

  AlertmanagerProcess() : port_(FreeLoopbackPort()) {
    WriteFile(dir_.File("alertmanager.yml"),
              "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n");
    process_ = std::make_unique<Subprocess>(std::vector<std::string>{
        kBinary, "--config.file=" + dir_.File("alertmanager.yml"), "--storage.path=" + dir_.path(),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_),
        "--cluster.listen-address=", "--log.level=warn"});
  }

  // Waits (up to 15 s) for /-/ready. Returns false with the process output when it never is.
  bool WaitReady(std::string* why) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      httplib::Client client("127.0.0.1", port_);
      client.set_connection_timeout(std::chrono::milliseconds(200));
      auto res = client.Get("/-/ready");
      if (res && res->status == 200) return true;
      if (process_->Wait(0) >= 0) break;  // exited
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *why = "alertmanager did not become ready; stderr:\n" + process_->Stderr();
    return false;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The alerts Alertmanager lists as active.
  nlohmann::json ActiveAlerts() {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds(5));
    auto res = client.Get("/api/v2/alerts?active=true&silenced=false&inhibited=false");
    if (!res || res->status != 200) return nlohmann::json::array();
    return nlohmann::json::parse(res->body);
  }

 private:
  TempDir dir_;
  int port_;
  std::unique_ptr<Subprocess> process_;
};

// The alert with this alertname and gpu label from an /api/v2/alerts answer, or null.
nlohmann::json FindAlert(const nlohmann::json& alerts, const std::string& rule,
                         const std::string& gpu) {
  for (const auto& a : alerts) {
    if (a["labels"].value("alertname", "") == rule && a["labels"].value("gpu", "") == gpu) {
      return a;
    }
  }
  return nullptr;
}

TEST(AlertmanagerNotifier, FiringAlertIsActiveAndResolvedOneDisappears) {
  ASSERT_EQ(::access(AlertmanagerProcess::kBinary, X_OK), 0)
      << AlertmanagerProcess::kBinary
      << " is missing: run scripts/setup.sh (it installs prometheus-alertmanager)";
  AlertmanagerProcess am;
  std::string why;
  ASSERT_TRUE(am.WaitReady(&why)) << why;

  // Alertmanager compares endsAt with its own wall clock, so this test uses the real one.
  SystemClock* clock = SystemClock::Get();
  NotificationDispatcher dispatcher(clock);
  dispatcher.AddNotifier(std::make_unique<AlertmanagerNotifier>(Alertmanager(am.url()), clock));
  const int64_t now = clock->NowMillis();
  AlertRecord gpu0 = MakeAlert("id1", "0", now - 1000, "echomon_test_gpu_hot");
  AlertRecord gpu1 = MakeAlert("id2", "1", now - 1000, "echomon_test_gpu_hot");
  dispatcher.Enqueue(Firing(gpu0, "http://127.0.0.1:9100"));
  EXPECT_EQ(dispatcher.Pump(), 1u);
  NotifierStats s = dispatcher.Stats().notifiers[0];
  ASSERT_EQ(s.sent, 1u) << s.last_error;

  nlohmann::json listed = FindAlert(am.ActiveAlerts(), "echomon_test_gpu_hot", "0");
  ASSERT_FALSE(listed.is_null()) << am.ActiveAlerts().dump();
  EXPECT_EQ(listed["status"]["state"], "active");
  EXPECT_EQ(listed["labels"]["severity"], "critical");
  EXPECT_EQ(listed["labels"]["host"], "node1");
  EXPECT_EQ(listed["annotations"]["summary"], "GPU 0 is hot");
  EXPECT_EQ(listed["annotations"]["runbook"], "https://runbooks.example/gpu_hot");
  EXPECT_EQ(listed["generatorURL"], "http://127.0.0.1:9100/api/v1/alerts/id1");

  // Tick re-sends every firing alert it is given (here gpu1 was restored, never announced).
  dispatcher.Tick(clock->NowMillis(), {gpu0, gpu1});
  EXPECT_EQ(dispatcher.Pump(), 1u);
  EXPECT_EQ(dispatcher.Stats().notifiers[0].resends, 1u);
  EXPECT_FALSE(FindAlert(am.ActiveAlerts(), "echomon_test_gpu_hot", "1").is_null());

  dispatcher.Enqueue(Resolved(gpu0, clock->NowMillis()));
  EXPECT_EQ(dispatcher.Pump(), 1u);
  ASSERT_EQ(dispatcher.Stats().notifiers[0].sent, 2u) << dispatcher.Stats().notifiers[0].last_error;
  // endsAt is now, so Alertmanager drops it from the active list at once; allow its clock a
  // moment to pass the resolve time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!FindAlert(am.ActiveAlerts(), "echomon_test_gpu_hot", "0").is_null() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  nlohmann::json active = am.ActiveAlerts();
  EXPECT_TRUE(FindAlert(active, "echomon_test_gpu_hot", "0").is_null()) << active.dump();
  EXPECT_FALSE(FindAlert(active, "echomon_test_gpu_hot", "1").is_null()) << active.dump();
}

TEST(AlertmanagerNotifier, UnreachableAlertmanagerFails) {
  ManualClock clock(kT0);
  AlertmanagerNotifier notifier(
      Alertmanager("http://127.0.0.1:" + std::to_string(FreeLoopbackPort()), 1000), &clock);
  Status st = notifier.Deliver(Firing(MakeAlert("id1", "0", kT0)));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/api/v2/alerts"), std::string::npos) << st.message();
  EXPECT_EQ(notifier.resend_interval_ms(), 60'000);
}

}  // namespace
}  // namespace echomon::alert
