// http against a loopback server, the allow-list, and restart with a health URL.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "respond/actions/action_test_util.h"

namespace echomon::respond {
namespace {

using echomon::testing::TempDir;
using testing::Act;
using testing::Exists;
using testing::json;

// A loopback HTTP server on a free port, run on its own thread.
class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Post("/admin/flush", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      token_ = req.get_header_value("X-Token");
      res.status = 202;
      res.set_content("{\"flushed\":true}", "application/json");
    });
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      res.status = healthy_ ? 200 : 503;
      res.set_content(healthy_ ? "ok" : "starting", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::string token() {
    std::lock_guard<std::mutex> lock(mu_);
    return token_;
  }
  std::atomic<bool> healthy_{true};
  int port_ = 0;

 private:
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::string token_;
};

TEST(HttpAction, CallsAnAllowedUrlWithMethodBodyAndHeaders) {
  LoopbackServer server;
  ActionLimits limits;
  limits.http_allow = {server.Url("/admin/")};
  ActionResult r = Act("http",
                       {{"url", server.Url("/admin/flush")},
                        {"method", "POST"},
                        {"body", "{\"all\":true}"},
                        {"headers", {{"X-Token", "t0k"}}},
                        {"expect_status", 202}},
                       limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.exit_status, 202);
  EXPECT_EQ(r.output, "{\"flushed\":true}");
  ASSERT_EQ(server.bodies().size(), 1u);
  EXPECT_EQ(server.bodies()[0], "{\"all\":true}");
  EXPECT_EQ(server.token(), "t0k");
}

TEST(HttpAction, UnexpectedStatusIsAFailure) {
  LoopbackServer server;
  server.healthy_ = false;
  ActionLimits limits;
  limits.http_allow = {server.Url("")};
  ActionResult r = Act("http", {{"url", server.Url("/health")}}, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.exit_status, 503);
  EXPECT_NE(r.error.find("expected 2xx"), std::string::npos) << r.error;
}

TEST(HttpAction, RefusesUrlsOffTheAllowList) {
  LoopbackServer server;
  ActionLimits limits;
  limits.http_allow = {server.Url("/admin")};
  for (const std::string& url :
       {server.Url("/health"), server.Url("/administrator"), server.Url("/admin/../health"),
        server.Url("/admin/%2e%2e/health"),
        "http://127.0.0.1:" + std::to_string(server.port_) + "0/admin/flush",
        std::string("http://evil.example/admin/flush"), std::string("ftp://127.0.0.1/admin")}) {
    ActionResult r = Act("http", {{"url", url}, {"method", "POST"}}, limits);
    EXPECT_FALSE(r.ok) << url;
    EXPECT_NE(r.error.find("params.url"), std::string::npos) << url << ": " << r.error;
    EXPECT_TRUE(ValidateAction({"http", "", {{"url", url}}, 1000}, limits).code() ==
                StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(server.bodies().empty());
}

TEST(HttpAction, DryRunSendsNothing) {
  LoopbackServer server;
  ActionLimits limits;
  limits.http_allow = {server.Url("/admin/")};
  ActionResult r =
      Act("http", {{"url", server.Url("/admin/flush")}, {"method", "POST"}}, limits, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.summary.find("would call POST"), std::string::npos) << r.summary;
  EXPECT_TRUE(server.bodies().empty());
}

TEST(HttpAction, UnreachableServerFailsWithinTheTimeout) {
  ActionLimits limits;
  int port = echomon::testing::FreeLoopbackPort();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  limits.http_allow = {url};
  ActionResult r = Act("http", {{"url", url}}, limits, false, 2000);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("request failed"), std::string::npos) << r.error;
  EXPECT_LT(r.duration_ms, 5000);
}

TEST(RestartAction, RunsTheRestartCommandAndWaitsForHealth) {
  LoopbackServer server;
  TempDir dir;
  ActionLimits limits;
  std::string marker = dir.File("restarted");
  limits.services["engine"] = {{"/usr/bin/touch", marker}, server.Url("/health"), 5000};
  server.healthy_ = false;
  std::thread recover([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    server.healthy_ = true;
  });
  ActionResult r = Act("restart", {{"service", "engine"}}, limits);
  recover.join();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(Exists(marker));
  EXPECT_GE(r.details["health_attempts"].get<int>(), 2);
  EXPECT_EQ(r.command, (std::vector<std::string>{"/usr/bin/touch", marker}));
}

TEST(RestartAction, FailsWhenHealthNeverComesBack) {
  LoopbackServer server;
  server.healthy_ = false;
  ActionLimits limits;
  limits.services["engine"] = {{"/bin/true"}, server.Url("/health"), 800};
  ActionResult r = Act("restart", {{"service", "engine"}}, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("did not answer 2xx"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("status 503"), std::string::npos) << r.error;
}

TEST(RestartAction, FailingCommandAndUnknownService) {
  ActionLimits limits;
  limits.services["engine"] = {{"/bin/false"}, "", 1000};
  ActionResult r = Act("restart", {{"service", "engine"}}, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("status 1"), std::string::npos) << r.error;
  ActionResult unknown = Act("restart", {{"service", "db"}}, limits);
  EXPECT_FALSE(unknown.ok);
  EXPECT_NE(unknown.error.find("not configured under actions.services"), std::string::npos)
      << unknown.error;
}

TEST(RestartAction, DryRunRestartsNothing) {
  TempDir dir;
  ActionLimits limits;
  limits.services["engine"] = {{"/usr/bin/touch", dir.File("restarted")}, "", 1000};
  ActionResult r = Act("restart", {{"service", "engine"}}, limits, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(Exists(dir.File("restarted")));
}

}  // namespace
}  // namespace echomon::respond
