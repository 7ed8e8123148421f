#include "server/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

namespace echomon::server {
namespace {

using nlohmann::json;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two series of cpu utilisation, 10 samples one second apart ending at "now".
    for (const char* cpu : {"0", "1"}) {
      auto id = store_.Resolve("cpu_percent", core::Labels{{"cpu", cpu}}, core::MetricType::kGauge,
                               "CPU use.");
      for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(store_.Append(id, kStart + i * 1000, (cpu[0] == '0' ? 10 : 20) + i).ok());
      }
    }
    clock_.Set(kStart + 9000);
  }

  void StartServer(bool require_token_for_reads = false, std::vector<Route> routes = {}) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.token = "s3cret";
    o.require_token_for_reads = require_token_for_reads;
    ServerHooks hooks;
    hooks.status = [] { return json{{"uptime_seconds", 12}}; };
    hooks.reload = [this] {
      ++reloads_;
      return Status::Ok();
    };
    hooks.routes = std::move(routes);
    server_ = std::make_unique<HttpServer>(&store_, &clock_, o, hooks);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  json GetJson(const std::string& path, int expect_status = 200) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res) << path;
    if (!res) return {};
    EXPECT_EQ(res->status, expect_status) << path << " -> " << res->body;
    return json::parse(res->body);
  }

  static constexpr int64_t kStart = 1'700'000'000'000;
  store::SeriesStore store_{store::StoreOptions{}};
  ManualClock clock_;
  int reloads_ = 0;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, ServesHealthAndMetrics) {
  StartServer();
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "ok\n");
  auto index = client_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_NE(index->body.find("/api/v1/status"), std::string::npos);
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("cpu_percent{cpu=\"0\"} 19\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("cpu_percent{cpu=\"1\"} 29\n"), std::string::npos);
}

TEST_F(HttpServerTest, InstantQueryReturnsTheLatestValuePerSeries) {
  StartServer();
  json body = GetJson("/api/v1/query?metric=cpu_percent&labels=cpu%3D%221%22");
  ASSERT_EQ(body["status"], "success");
  ASSERT_EQ(body["data"]["series"].size(), 1u);
  EXPECT_EQ(body["data"]["series"][0]["labels"]["cpu"], "1");
  EXPECT_DOUBLE_EQ(body["data"]["series"][0]["value"][0].get<double>(), (kStart + 9000) / 1000.0);
  EXPECT_DOUBLE_EQ(body["data"]["series"][0]["value"][1].get<double>(), 29);
}

TEST_F(HttpServerTest, InstantQuerySelectsSeriesByRegexMatchers) {
  StartServer();
  // labels=cpu=~"[01]" (every series), then cpu!~"0" (only cpu 1); anchored, so "1." is none.
  json both = GetJson("/api/v1/query?metric=cpu_percent&labels=cpu%3D~%22%5B01%5D%22");
  EXPECT_EQ(both["data"]["series"].size(), 2u) << both.dump();
  json one = GetJson("/api/v1/query?metric=cpu_percent&labels=%7Bcpu%21~%220%22%7D");
  ASSERT_EQ(one["data"]["series"].size(), 1u) << one.dump();
  EXPECT_EQ(one["data"]["series"][0]["labels"]["cpu"], "1");
  json none = GetJson("/api/v1/query?metric=cpu_percent&labels=cpu%3D~%221.%22");
  EXPECT_TRUE(none["data"]["series"].empty()) << none.dump();
  // A bad regex is a 400 naming the parameter, the position and the regex error.
  const std::string error =
      GetJson("/api/v1/query?metric=cpu_percent&labels=cpu%3D~%22(%22", 400)["error"];
  EXPECT_NE(error.find("labels"), std::string::npos) << error;
  EXPECT_NE(error.find("at offset 5: invalid regular expression \"(\" for 'cpu'"),
            std::string::npos)
      << error;
}

TEST_F(HttpServerTest, RangeQueryWithRelativeStartAndStepAggregation) {
  StartServer();
  json raw = GetJson("/api/v1/query?metric=cpu_percent&labels=cpu=0&start=-4s&end=now");
  ASSERT_EQ(raw["data"]["series"].size(), 1u);
  auto points = raw["data"]["series"][0]["points"];
  ASSERT_EQ(points.size(), 5u);  // t = now-4s .. now
  EXPECT_DOUBLE_EQ(points[0][1].get<double>(), 15);
  EXPECT_DOUBLE_EQ(points[4][1].get<double>(), 19);

  const std::string start = std::to_string(kStart / 1000);
  const std::string end = std::to_string((kStart + 9000) / 1000);
  json stepped = GetJson("/api/v1/query?metric=cpu_percent&labels=cpu=0&start=" + start +
                         "&end=" + end + "&step=5s&agg=max");
  auto sp = stepped["data"]["series"][0]["points"];
  ASSERT_GE(sp.size(), 2u);
  EXPECT_DOUBLE_EQ(sp[0][1].get<double>(), 14);  // max of samples 0..4
}

TEST_F(HttpServerTest, BadQueriesGetAClearError) {
  StartServer();
  EXPECT_NE(GetJson("/api/v1/query", 400)["error"].get<std::string>().find("metric"),
            std::string::npos);
  EXPECT_NE(GetJson("/api/v1/query?metric=1bad", 400)["error"].get<std::string>().find("metric"),
            std::string::npos);
  EXPECT_NE(GetJson("/api/v1/query?metric=cpu_percent&labels=%7Bcpu%3D", 400)["error"]
                .get<std::string>()
                .find("labels"),
            std::string::npos);
  EXPECT_NE(GetJson("/api/v1/query?metric=cpu_percent&start=yesterday", 400)["error"]
                .get<std::string>()
                .find("start"),
            std::string::npos);
  EXPECT_NE(GetJson("/api/v1/query?metric=cpu_percent&start=-1h&step=0s", 400)["error"]
                .get<std::string>()
                .find("step"),
            std::string::npos);
  EXPECT_NE(GetJson("/api/v1/query?metric=cpu_percent&start=-1h&step=1s&agg=median", 400)["error"]
                .get<std::string>()
                .find("agg"),
            std::string::npos);
  EXPECT_NE(GetJson("/api/v1/query?metric=cpu_percent&start=-1h&end=-2h", 400)["error"]
                .get<std::string>()
                .find("after"),
            std::string::npos);
}

TEST_F(HttpServerTest, ListsSeriesAndStatus) {
  StartServer();
  json series = GetJson("/api/v1/series?metric=cpu_percent");
  ASSERT_EQ(series["data"].size(), 2u);
  EXPECT_EQ(series["data"][0]["type"], "gauge");
  EXPECT_EQ(series["data"][0]["help"], "CPU use.");
  EXPECT_EQ(GetJson("/api/v1/status")["uptime_seconds"], 12);
}

TEST_F(HttpServerTest, ReloadRequiresTheToken) {
  StartServer();
  auto denied = client_->Post("/api/v1/reload", "", "text/plain");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(reloads_, 0);
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
  auto wrong_res = client_->Post("/api/v1/reload", wrong, "", "text/plain");
  ASSERT_TRUE(wrong_res);
  EXPECT_EQ(wrong_res->status, 401);
  httplib::Headers good = {{"Authorization", "Bearer s3cret"}};
  auto ok = client_->Post("/api/v1/reload", good, "", "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(reloads_, 1);
}

TEST_F(HttpServerTest, BeyondLoopbackEveryReadNeedsTheTokenButHealth) {
  StartServer(/*require_token_for_reads=*/true);
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  httplib::Headers good = {{"Authorization", "Bearer s3cret"}};
  auto authed = client_->Get("/metrics", good);
  ASSERT_TRUE(authed);
  EXPECT_EQ(authed->status, 200);
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(HttpServerTest, ExtensionRoutesGetCapturesParamsBodyAndTokenChecks) {
  std::vector<Route> routes;
  routes.push_back(
      {"POST", R"(/api/v1/things/([a-z0-9]+)/poke)", /*mutating=*/true, [](const ApiRequest& r) {
         return ApiResponse::Json(json{{"id", r.captures.at(0)},
                                       {"force", r.params.count("force") > 0},
                                       {"body", r.body},
                                       {"authorized", r.authorized}});
       }});
  routes.push_back({"GET", "/", false, [](const ApiRequest&) {
                      ApiResponse page;
                      page.body = "<html>dashboard</html>";
                      page.content_type = "text/html";
                      return page;
                    }});
  routes.push_back({"GET", "/api/v1/boom", false,
                    [](const ApiRequest&) -> ApiResponse { throw std::runtime_error("kaput"); }});
  StartServer(false, std::move(routes));
  auto denied = client_->Post("/api/v1/things/abc/poke", "{}", "application/json");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  httplib::Headers good = {{"Authorization", "Bearer s3cret"}};
  auto ok = client_->Post("/api/v1/things/abc/poke?force=1", good, "{\"x\":1}", "application/json");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  json data = json::parse(ok->body)["data"];
  EXPECT_EQ(data["id"], "abc");
  EXPECT_EQ(data["force"], true);
  EXPECT_EQ(data["body"], "{\"x\":1}");
  EXPECT_EQ(data["authorized"], true);
  auto page = client_->Get("/");  // replaces the built-in index
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "<html>dashboard</html>");
  auto boom = client_->Get("/api/v1/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_NE(boom->body.find("kaput"), std::string::npos);
}

TEST_F(HttpServerTest, InvalidUtf8InAnAnswerBecomesReplacementCharacters) {
  // E.g. a process name or command output cut by a cap in the middle of a character.
  std::vector<Route> routes;
  routes.push_back({"GET", "/api/v1/bytes", false, [](const ApiRequest&) {
                      return ApiResponse::Json(json{{"output", "ps \xd1"}, {"raw", "\xff\xfe!"}});
                    }});
  routes.push_back({"GET", "/api/v1/bad", false,
                    [](const ApiRequest&) { return ApiResponse::Error(409, "busy: \xd1"); }});
  StartServer(false, std::move(routes));
  const std::string fffd = "\xEF\xBF\xBD";
  json data = GetJson("/api/v1/bytes")["data"];
  EXPECT_EQ(data["output"], "ps " + fffd);
  EXPECT_EQ(data["raw"], fffd + fffd + "!");
  json err = GetJson("/api/v1/bad", 409);
  EXPECT_EQ(err["error"], "busy: " + fffd);
  EXPECT_EQ(GetJson("/api/v1/status")["uptime_seconds"], 12);  // still serving
}

TEST(HttpServerAddress, RejectsMalformedListenAddresses) {
  store::SeriesStore store{store::StoreOptions{}};
  ManualClock clock;
  for (const char* bad : {"9470", "127.0.0.1:", "127.0.0.1:70000", ":80", "[::1]80"}) {
    ServerOptions o;
    o.listen = bad;
    o.token = "t";
    HttpServer s(&store, &clock, o, {});
    Status st = s.Start();
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.message().find(bad), std::string::npos) << st.message();
  }
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("[::1]:9470", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9470);
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
}

TEST(HttpServerAddress, ReportsAPortInUse) {
  store::SeriesStore store{store::StoreOptions{}};
  ManualClock clock;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.token = "t";
  HttpServer first(&store, &clock, o, {});
  ASSERT_TRUE(first.Start().ok());
  o.listen = first.address();
  HttpServer second(&store, &clock, o, {});
  Status st = second.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(first.address()), std::string::npos) << st.message();
}

TEST(QueryTime, ParsesNowRelativeAndUnixSeconds) {
  int64_t t = 0;
  ASSERT_TRUE(ParseQueryTime("now", 5000, &t));
  EXPECT_EQ(t, 5000);
  ASSERT_TRUE(ParseQueryTime("1700000000.5", 0, &t));
  EXPECT_EQ(t, 1'700'000'000'500);
  EXPECT_FALSE(ParseQueryTime("", 0, &t));
  EXPECT_FALSE(ParseQueryTime("12abc", 0, &t));
}

}  // namespace
}  // namespace echomon::server

namespace echomon::server {
namespace {

TEST(QueryString, KeepsEqualsSignsInValuesAndDecodesPercentEscapes) {
  auto p = ParseQueryString("/api/v1/query?metric=m&labels=mount=/,fstype!=%22tmpfs%22&x&step=1s");
  EXPECT_EQ(p["metric"], "m");
  EXPECT_EQ(p["labels"], "mount=/,fstype!=\"tmpfs\"");
  EXPECT_EQ(p["x"], "");
  EXPECT_EQ(p["step"], "1s");
  auto q = ParseQueryString("/p?a=1&a=2&b=%zz&c=a+b");
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "%zz");
  EXPECT_EQ(q["c"], "a b");
  EXPECT_TRUE(ParseQueryString("/no-query").empty());
}

}  // namespace
}  // namespace echomon::server
