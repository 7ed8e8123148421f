// Reports: the numbers of a report built by a real agent fed known samples (a callback
// collector that induces alerts, a loopback engine whose counters and histograms the test
// advances), the HTML's structure, and its rendering by a real browser (PDF and PNG).
#include "report/report.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "core/config.h"
#include "echomon/clock.h"
#include "echomon/monitor.h"
#include "store/series_store.h"

namespace echomon {
namespace {

using nlohmann::json;

constexpr int64_t kT0 = 1'764'000'000'000;

// A vLLM-like /metrics endpoint whose counters the test advances between scrapes.
class FakeEngine {
 public:
  FakeEngine() {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      res.set_content(Exposition(), "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeEngine() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

  // One interval of traffic: tokens generated, requests finished fast (<= 0.1 s) or slow
  // ((1 s, 5 s]), requests running at the scrape.
  void Advance(double tokens, int fast, int slow, int running) {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_ += tokens;
    fast_ += fast;
    slow_ += slow;
    running_ = running;
  }

 private:
  std::string Exposition() const {
    const std::string m = "{model_name=\"m\"";
    auto bucket = [&](const char* le, double v) {
      return "vllm:e2e_request_latency_seconds_bucket" + m + ",le=\"" + le + "\"} " +
             std::to_string(v) + "\n";
    };
    std::string s;
    s += "# TYPE vllm:generation_tokens_total counter\n";
    s += "vllm:generation_tokens_total" + m + "} " + std::to_string(tokens_) + "\n";
    s += "# TYPE vllm:num_requests_running gauge\n";
    s += "vllm:num_requests_running" + m + "} " + std::to_string(running_) + "\n";
    s += "# TYPE vllm:e2e_request_latency_seconds histogram\n";
    s += bucket("0.1", fast_) + bucket("0.5", fast_) + bucket("1.0", fast_) +
         bucket("5.0", fast_ + slow_) + bucket("+Inf", fast_ + slow_);
    s += "vllm:e2e_request_latency_seconds_sum" + m + "} " +
         std::to_string(0.05 * fast_ + 3 * slow_) + "\n";
    s += "vllm:e2e_request_latency_seconds_count" + m + "} " + std::to_string(fast_ + slow_) + "\n";
    return s;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  double tokens_ = 1000, fast_ = 0, slow_ = 0;
  int running_ = 0;
};

json GetJson(const std::string& address, const std::string& path) {
  httplib::Client client("http://" + address);
  auto res = client.Get(path.c_str());
  if (!res) return json();
  json body = json::parse(res->body, nullptr, false);
  return body.is_discarded() ? json() : body;
}

std::string ArtifactDir() {
  const std::string dir = std::string(ECHOMON_BINARY_DIR) + "/test-artifacts/report";
  std::filesystem::create_directories(dir);
  return dir;
}

// The agent and the report it served, built once for the whole suite.
class ReportOfAnAgent : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = new FakeEngine();
    dir_ = new testing::TempDir();
    const std::string config = dir_->File("agent.yaml");
    testing::WriteFile(config,
                       "host: {enabled: false}\n"
                       "alerting: {default_rules: false}\n"
                       "anomaly: {enabled: false}\n"
                       "report:\n"
                       "  window: 1h\n"
                       "  slo: {latency_p95_ms: 500, min_tokens_per_second: 50}\n"
                       "scrape:\n  targets:\n"
                       "    - {name: vllm, kind: engine, url: 'http://127.0.0.1:" +
                           std::to_string(engine_->port()) + "/metrics'}\n");
    clock_ = new ManualClock(kT0);
    MonitorOptions o;
    o.clock = clock_;
    o.config_file = config;
    o.persist = false;
    o.run_loop = false;
    o.listen = "127.0.0.1:0";
    auto m = Monitor::Create(o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    monitor_ = m->release();
    // Critical above 90, warning above 50 on the value the callback reports.
    RuleDefinition rule;
    rule.name = "app_queue_high";
    rule.metric = "app_queue_depth";
    rule.labels = {{"collector", "app"}};
    rule.warning = 50;
    rule.critical = 90;
    ASSERT_TRUE(monitor_->AddRule(rule).ok());
    monitor_->RegisterCollector("app", [] {
      return std::map<std::string, double>{{"app_queue_depth", queue_.load()}};
    });
    ASSERT_TRUE(monitor_->Start().ok());

    // Tick 1 is the engine's baseline. Ticks 2-9 are busy: tokens per interval
    // 100,100,20,100,20,100,20,100 (5 of 8 meet 50 tokens/s) and 10 requests finishing, fast in
    // ticks 2-7 (p95 95 ms) and slow in ticks 8-9 (p95 4.8 s): 6 of 8 meet 500 ms. Ticks 10-14
    // are idle (nothing running). The queue is 95 (critical) in ticks 3-5 and 60 (warning) in
    // ticks 8-12: two alerts, resolved after 3 s and 5 s.
    const double tokens[] = {0, 0, 100, 100, 20, 100, 20, 100, 20, 100, 0, 0, 0, 0, 0};
    for (int tick = 1; tick <= 14; ++tick) {
      const bool busy = tick >= 2 && tick <= 9;
      const bool slow = tick == 8 || tick == 9;
      engine_->Advance(tokens[tick], busy && !slow ? 10 : 0, busy && slow ? 10 : 0,
                       tick <= 9 ? 4 : 0);
      queue_ = tick >= 3 && tick <= 5 ? 95 : tick >= 8 && tick <= 12 ? 60 : 0;
      clock_->Advance(1000);
      monitor_->CollectOnce();
    }
    report_ = new json(GetJson(monitor_->http_address(), "/api/v1/report?format=json"));
    httplib::Client client("http://" + monitor_->http_address());
    auto res = client.Get("/api/v1/report?format=html&since=15s");
    html_ = new std::string(res && res->status == 200 ? res->body : "");
    html_content_type_ = new std::string(res ? res->get_header_value("Content-Type") : "");
    testing::WriteFile(ArtifactDir() + "/report.html", *html_);
    testing::WriteFile(ArtifactDir() + "/report.json", report_->dump(2));
  }

  static void TearDownTestSuite() {
    if (monitor_) monitor_->Stop();
    delete monitor_;
    delete clock_;
    delete engine_;
    delete dir_;
    delete report_;
    delete html_;
    delete html_content_type_;
  }

  static const json& Report() { return (*report_)["data"]; }

  static inline FakeEngine* engine_ = nullptr;
  static inline testing::TempDir* dir_ = nullptr;
  static inline ManualClock* clock_ = nullptr;
  static inline Monitor* monitor_ = nullptr;
  static inline std::atomic<double> queue_{0};
  static inline json* report_ = nullptr;
  static inline std::string* html_ = nullptr;
  static inline std::string* html_content_type_ = nullptr;
};

TEST_F(ReportOfAnAgent, CountsAlertsBySeverityAndTheMeanTimeToResolve) {
  ASSERT_EQ((*report_)["status"], "success") << report_->dump();
  const json& alerts = Report()["alerts"];
  EXPECT_EQ(alerts["fired"], 2) << alerts.dump(2);
  EXPECT_EQ(alerts["by_severity"]["critical"], 1);
  EXPECT_EQ(alerts["by_severity"]["warning"], 1);
  EXPECT_EQ(alerts["by_severity"]["info"], 0);
  EXPECT_EQ(alerts["resolved"], 2);
  // Firing at tick 3, resolved at tick 6: 3 s; firing at tick 8, resolved at 13: 5 s.
  EXPECT_DOUBLE_EQ(alerts["mean_time_to_resolve_seconds"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(alerts["max_time_to_resolve_seconds"].get<double>(), 5.0);
  ASSERT_EQ(alerts["top_rules"].size(), 1u);
  EXPECT_EQ(alerts["top_rules"][0]["rule"], "app_queue_high");
  EXPECT_EQ(alerts["top_rules"][0]["fired"], 2);
  EXPECT_DOUBLE_EQ(alerts["top_rules"][0]["firing_seconds"].get<double>(), 8.0);
  EXPECT_EQ(alerts["active"]["firing"], 0);
  EXPECT_EQ(Report()["system_status"]["overall"], "ok") << Report()["system_status"].dump();
}

TEST_F(ReportOfAnAgent, EngineServiceLevelsAreTheShareOfIntervalsThatMetTheTargets) {
  const json& engine = Report()["engine"];
  ASSERT_TRUE(engine["available"].get<bool>()) << engine.dump(2);
  EXPECT_EQ(engine["targets"]["latency_p95_ms"], 500.0);
  EXPECT_EQ(engine["targets"]["min_tokens_per_second"], 50.0);
  ASSERT_EQ(engine["engines"].size(), 1u) << engine.dump(2);
  const json& e = engine["engines"][0];
  EXPECT_EQ(e["engine"], "vllm");
  EXPECT_EQ(e["model"], "m");
  // Latency: 8 intervals with finished requests, 6 at p95 95 ms, 2 at 4.8 s.
  EXPECT_EQ(e["latency_p95"]["intervals"], 8) << e.dump(2);
  EXPECT_EQ(e["latency_p95"]["met"], 6);
  EXPECT_DOUBLE_EQ(e["latency_p95"]["share"].get<double>(), 0.75);
  EXPECT_NEAR(e["latency_p95"]["worst_ms"].get<double>(), 4800, 1e-6);
  EXPECT_NEAR(e["latency_p95"]["mean_ms"].get<double>(), (6 * 95.0 + 2 * 4800.0) / 8, 1e-6);
  // Throughput: 8 busy intervals (5 at 100 tokens/s, 3 at 20), 5 idle ones not counted.
  EXPECT_EQ(e["throughput"]["intervals"], 8);
  EXPECT_EQ(e["throughput"]["idle_intervals"], 5);
  EXPECT_EQ(e["throughput"]["met"], 5);
  EXPECT_DOUBLE_EQ(e["throughput"]["share"].get<double>(), 0.625);
  EXPECT_NEAR(e["throughput"]["mean"].get<double>(), 70.0, 1e-9);
  EXPECT_NEAR(e["throughput"]["min"].get<double>(), 20.0, 1e-9);
  EXPECT_DOUBLE_EQ(e["availability"]["share"].get<double>(), 1.0);
}

TEST_F(ReportOfAnAgent, ComponentStatusIsMeasuredNotAssumed) {
  std::map<std::string, json> by_name;
  for (const auto& c : Report()["component_status"]) by_name[c["name"]] = c;
  ASSERT_TRUE(by_name.count("engine vllm")) << Report()["component_status"].dump(2);
  EXPECT_EQ(by_name["engine vllm"]["state"], "up");
  ASSERT_TRUE(by_name.count("app"));
  EXPECT_EQ(by_name["app"]["state"], "healthy");
  EXPECT_EQ(by_name["app"]["kind"], "collector");
  ASSERT_TRUE(by_name.count("engine:vllm"));
  EXPECT_EQ(by_name["engine:vllm"]["healthy"], true);
  ASSERT_TRUE(by_name.count("gpu"));
}

TEST_F(ReportOfAnAgent, ChartsAndSummaryCarryTheSamples) {
  const json& charts = Report()["dashboard_data"]["charts"];
  json throughput;
  for (const auto& c : charts) {
    if (c["id"] == "engine_throughput") throughput = c;
  }
  ASSERT_FALSE(throughput.is_null()) << charts.dump();
  ASSERT_EQ(throughput["series"].size(), 1u);
  EXPECT_EQ(throughput["series"][0]["label"], "vllm/m");
  EXPECT_GE(throughput["series"][0]["points"].size(), 1u);
  EXPECT_EQ(throughput["threshold"], 50.0);
  bool queue = false;
  for (const auto& m : Report()["performance_summary"]["metrics"]) {
    if (m["name"] == "echomon_engine_generation_tokens_per_second") {
      EXPECT_DOUBLE_EQ(m["max"].get<double>(), 100.0);
      EXPECT_DOUBLE_EQ(m["min"].get<double>(), 0.0);
      queue = true;
    }
  }
  EXPECT_TRUE(queue);
}

TEST_F(ReportOfAnAgent, BadParametersAreRefusedNamingTheParameter) {
  httplib::Client client("http://" + monitor_->http_address());
  auto res = client.Get("/api/v1/report?format=pdf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("format"), std::string::npos) << res->body;
  res = client.Get("/api/v1/report?since=yesterday");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("since"), std::string::npos) << res->body;
  // A window of 5 s leaves the first alert (ticks 3-6) and most engine intervals out.
  json small = GetJson(monitor_->http_address(), "/api/v1/report?since=5s");
  EXPECT_EQ(small["data"]["window"]["seconds"], 5.0);
  EXPECT_EQ(small["data"]["alerts"]["fired"], 0) << small["data"]["alerts"].dump();
}

// ---- HTML structure ----------------------------------------------------------------------------

// Checks that every element opened is closed in order (void elements and "/>" aside), and
// returns the first problem or "".
std::string CheckBalanced(const std::string& html) {
  static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link", "col"};
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    if (html.compare(i, 4, "<!--") == 0) {
      i = html.find("-->", i);
      if (i == std::string::npos) return "unterminated comment";
      continue;
    }
    if (html.compare(i, 2, "<!") == 0) {  // doctype
      i = html.find('>', i);
      continue;
    }
    const size_t end = html.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    std::string tag = html.substr(i + 1, end - i - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    if (closing) tag.erase(0, 1);
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        return "</" + name + "> at " + std::to_string(i) + " closes <" +
               (stack.empty() ? std::string("nothing") : stack.back()) + ">";
      }
      stack.pop_back();
    } else if (!self_closing && !kVoid.count(name)) {
      stack.push_back(name);
      if (name == "style" || name == "script") {  // raw text up to the closing tag
        const size_t close = html.find("</" + name, end);
        if (close == std::string::npos) return "unclosed <" + name + ">";
        i = close;
        continue;
      }
    }
    i = end + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  return "";
}

TEST_F(ReportOfAnAgent, HtmlIsSelfContainedBalancedAndHasSvgCharts) {
  ASSERT_FALSE(html_->empty());
  EXPECT_NE(html_content_type_->find("text/html"), std::string::npos) << *html_content_type_;
  EXPECT_EQ(html_->rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(CheckBalanced(*html_), "");
  for (const char* section :
       {"id=\"system\"", "id=\"components\"", "id=\"charts\"", "id=\"performance\"",
        "id=\"alerts\"", "id=\"incidents\"", "id=\"engine\"", "@media print"}) {
    EXPECT_NE(html_->find(section), std::string::npos) << section;
  }
  size_t svgs = 0, paths = 0;
  for (size_t p = 0; (p = html_->find("<svg", p)) != std::string::npos; ++p) ++svgs;
  for (size_t p = 0; (p = html_->find("<path class=\"series\"", p)) != std::string::npos; ++p) {
    ++paths;
  }
  EXPECT_GE(svgs, 5u);
  EXPECT_GE(paths, 2u);  // throughput and latency (p50, p95, p99) have data
  EXPECT_NE(html_->find(" d=\"M"), std::string::npos);
  // Nothing fetched from elsewhere, nothing executed.
  EXPECT_EQ(html_->find("<script"), std::string::npos);
  EXPECT_EQ(html_->find("src=\"http"), std::string::npos);
  EXPECT_EQ(html_->find("href=\"http"), std::string::npos);
  EXPECT_NE(html_->find("app_queue_high"), std::string::npos);
  EXPECT_NE(html_->find("75.0%"), std::string::npos);  // the latency SLO share
}

TEST(ReportHtml, EscapesTextFromTheAgent) {
  json report = {{"system_status", {{"hostname", "<b>host</b>"}}},
                 {"component_status", json::array({{{"name", "x<script>alert(1)</script>"},
                                                    {"kind", "component"},
                                                    {"state", "up"},
                                                    {"healthy", true},
                                                    {"detail", "a & b"}}})}};
  const std::string html = report::RenderHtml(report);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("x&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b"), std::string::npos);
  EXPECT_EQ(CheckBalanced(html), "");
}

// ---- configuration -----------------------------------------------------------------------------

TEST(ReportConfig, ReadsTheWindowAndTargetsAndNamesBadValues) {
  auto ok = core::LoadConfigString(
      "report:\n  window: 6h\n  slo: {latency_p95_ms: 750, min_tokens_per_second: 25.5}\n",
      "agent.yaml");
  ASSERT_TRUE(ok.ok()) << ok.errors[0].ToString();
  EXPECT_TRUE(ok.warnings.empty());
  EXPECT_EQ(ok.config.report.window_ms, 6 * 3600'000);
  EXPECT_EQ(ok.config.report.latency_p95_ms, 750);
  EXPECT_EQ(ok.config.report.min_tokens_per_second, 25.5);
  EXPECT_EQ(core::DefaultConfig().report.window_ms, 24 * 3600'000);

  auto bad = core::LoadConfigString(
      "report:\n  window: forever\n  slo:\n    latency_p95_ms: -1\n    min_tokens: 3\n",
      "agent.yaml");
  ASSERT_EQ(bad.errors.size(), 3u);
  EXPECT_EQ(bad.errors[0].ToString().rfind("agent.yaml:2:11: report.window:", 0), 0u)
      << bad.errors[0].ToString();
  EXPECT_EQ(bad.errors[1].ToString().rfind("agent.yaml:4:21: report.slo.latency_p95_ms: must be "
                                           "positive",
                                           0),
            0u)
      << bad.errors[1].ToString();
  EXPECT_NE(bad.errors[2].ToString().find("report.slo.min_tokens: unknown key"), std::string::npos)
      << bad.errors[2].ToString();
}

// ---- pure summaries ----------------------------------------------------------------------------

TEST(ReportSummaries, WithoutEngineOrIncidentsTheReportSaysSo) {
  store::SeriesStore store({});
  report::ReportInputs in;
  in.store = &store;
  in.status = {{"interval_ms", 1000}, {"collectors", json::array()}};
  report::ReportOptions o;
  o.now_ms = kT0;
  const json r = report::BuildReport(in, o);
  EXPECT_EQ(r["engine"]["available"], false);
  EXPECT_EQ(r["engine"]["message"], "no engine data");
  EXPECT_EQ(r["incidents"]["enabled"], false);
  EXPECT_EQ(r["incidents"]["message"], "incident response not enabled");
  EXPECT_TRUE(r["alerts"]["mean_time_to_resolve_seconds"].is_null());
  const std::string html = report::RenderHtml(r);
  EXPECT_NE(html.find("no engine data"), std::string::npos);
  EXPECT_NE(html.find("incident response not enabled"), std::string::npos);
  EXPECT_NE(html.find("no data in this window"), std::string::npos);
}

TEST(ReportSummaries, IncidentsOfTheWindowAndComponentsAsTheyReportThemselves) {
  store::SeriesStore store({});
  report::ReportInputs in;
  in.store = &store;
  in.status = {{"interval_ms", 1000}};
  const double now = kT0 / 1000.0;
  in.incident_stats = {{"enabled", true}, {"total_responses", 3}, {"success_rate", 0.5}};
  in.incidents = json::array({
      {{"id", "inc-3"}, {"state", "acting"}, {"opened_at", now - 60}, {"closed_at", nullptr}},
      {{"id", "inc-2"}, {"state", "resolved"}, {"opened_at", now - 600}, {"closed_at", now - 480}},
      {{"id", "inc-1"},
       {"state", "resolved"},
       {"opened_at", now - 7200},
       {"closed_at", now - 7000}},
  });
  in.components = json::array({{{"name", "dtesn"},
                                {"healthy", true},
                                {"stale", true},
                                {"source", "push"},
                                {"last_error", ""}},
                               {{"name", "echo_self"}, {"healthy", true}, {"source", "exec"}}});
  report::ReportOptions o;
  o.now_ms = kT0;
  o.window_ms = 3600'000;
  const json r = report::BuildReport(in, o);
  const json& w = r["incidents"]["window"];
  EXPECT_EQ(w["opened"], 2) << r["incidents"].dump(2);
  EXPECT_EQ(w["resolved"], 1);
  EXPECT_EQ(w["active"], 1);
  EXPECT_DOUBLE_EQ(w["mean_time_to_resolve_seconds"].get<double>(), 120.0);
  EXPECT_EQ(r["incidents"]["recent"].size(), 2u);
  std::map<std::string, json> by_name;
  for (const auto& c : r["component_status"]) by_name[c["name"]] = c;
  EXPECT_EQ(by_name["dtesn"]["state"], "stale");
  EXPECT_EQ(by_name["dtesn"]["healthy"], false);
  EXPECT_EQ(by_name["echo_self"]["state"], "healthy");
  EXPECT_EQ(r["system_status"]["overall"], "degraded");
  EXPECT_NE(r["system_status"]["problems"].dump().find("dtesn stale"), std::string::npos);
  const std::string html = report::RenderHtml(r);
  EXPECT_NE(html.find("inc-3"), std::string::npos);
  EXPECT_EQ(html.find("inc-1"), std::string::npos);
  EXPECT_EQ(CheckBalanced(html), "");
}

TEST(ReportSummaries, AlertsFiredBeforeTheWindowCountTowardsFiringTimeNotMttr) {
  auto t = [](const std::string& id, const std::string& from, const std::string& to,
              const std::string& sev, double at) {
    return json{{"alert_id", id}, {"rule", "r"},     {"from", from},
                {"to", to},       {"severity", sev}, {"at", at}};
  };
  const double s0 = kT0 / 1000.0;
  const json history = json::array({
      t("a", "firing", "resolved", "warning", s0 + 10),  // fired before the window
      t("b", "inactive", "pending", "info", s0 + 20),
      t("b", "pending", "firing", "info", s0 + 30),
      t("b", "firing", "firing", "critical", s0 + 40),  // escalated: counts as critical
      t("b", "firing", "resolved", "critical", s0 + 90),
      t("c", "inactive", "pending", "warning", s0 + 100),  // never fired
      t("c", "pending", "inactive", "warning", s0 + 101),
  });
  const json a = report::SummarizeAlerts(history, json::array(), kT0, kT0 + 3600'000, 5);
  EXPECT_EQ(a["fired"], 1);
  EXPECT_EQ(a["by_severity"]["critical"], 1);
  EXPECT_EQ(a["by_severity"]["info"], 0);
  EXPECT_EQ(a["resolved"], 1);
  EXPECT_DOUBLE_EQ(a["mean_time_to_resolve_seconds"].get<double>(), 60.0);
  EXPECT_EQ(a["top_rules"][0]["pending"], 2);
  EXPECT_DOUBLE_EQ(a["top_rules"][0]["firing_seconds"].get<double>(), 10.0 + 60.0);
}

// ---- rendering in a real browser ----------------------------------------------------------------

// Decodes an 8-bit RGB or RGBA, non-interlaced PNG into RGB pixels (zlib inflate + the five
// row filters). Returns false with *why on anything else.
bool DecodePng(const std::string& data, int* width, int* height, std::vector<uint8_t>* rgb,
               std::string* why) {
  if (data.size() < 8 || data.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    *why = "no PNG signature";
    return false;
  }
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(data[at])) << 24) | (uint32_t(uint8_t(data[at + 1])) << 16) |
           (uint32_t(uint8_t(data[at + 2])) << 8) | uint32_t(uint8_t(data[at + 3]));
  };
  std::string idat;
  int depth = 0, color = 0, interlace = 0;
  for (size_t at = 8; at + 8 <= data.size();) {
    const uint32_t len = be32(at);
    const std::string type = data.substr(at + 4, 4);
    if (at + 12 + len > data.size()) break;
    if (type == "IHDR") {
      *width = static_cast<int>(be32(at + 8));
      *height = static_cast<int>(be32(at + 12));
      depth = uint8_t(data[at + 16]);
      color = uint8_t(data[at + 17]);
      interlace = uint8_t(data[at + 20]);
    } else if (type == "IDAT") {
      idat += data.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
    *why = "unsupported PNG: depth " + std::to_string(depth) + " color " + std::to_string(color);
    return false;
  }
  const int channels = color == 6 ? 4 : 3;
  const size_t stride = static_cast<size_t>(*width) * channels;
  std::vector<uint8_t> raw((stride + 1) * static_cast<size_t>(*height));
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_len != raw.size()) {
    *why = "IDAT does not inflate to the image size";
    return false;
  }
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  rgb->clear();
  for (int y = 0; y < *height; ++y) {
    const uint8_t* row = raw.data() + y * (stride + 1);
    const uint8_t filter = row[0];
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<size_t>(channels) ? cur[x - channels] : 0;
      const int b = prev[x];
      const int c = x >= static_cast<size_t>(channels) ? prev[x - channels] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          *why = "bad filter";
          return false;
      }
      cur[x] = static_cast<uint8_t>(row[1 + x] + pred);
    }
    for (int x = 0; x < *width; ++x) {
      for (int k = 0; k < 3; ++k) rgb->push_back(cur[x * channels + k]);
    }
    prev = cur;
  }
  return true;
}

TEST_F(ReportOfAnAgent, RendersToPdfAndPngInChromium) {
  const std::string chromium = "/usr/bin/chromium";
  if (access(chromium.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it); the HTML report "
                    "was not rendered";
  }
  const std::string dir = ArtifactDir();
  const std::string page = "file://" + dir + "/report.html";
  testing::TempDir profile;
  const std::vector<std::string> common = {chromium,
                                           "--headless",
                                           "--no-sandbox",
                                           "--disable-gpu",
                                           "--user-data-dir=" + profile.path(),
                                           "--no-first-run",
                                           "--hide-scrollbars"};
  std::string out, err;
  std::vector<std::string> pdf_cmd = common;
  pdf_cmd.push_back("--print-to-pdf=" + dir + "/report.pdf");
  pdf_cmd.push_back("--no-pdf-header-footer");
  pdf_cmd.push_back(page);
  std::filesystem::remove(dir + "/report.pdf");
  ASSERT_EQ(testing::RunCommand(pdf_cmd, &out, &err, 60'000), 0) << err;
  const std::string pdf = testing::ReadFile(dir + "/report.pdf");
  EXPECT_EQ(pdf.rfind("%PDF", 0), 0u);
  EXPECT_GT(pdf.size(), 20'000u) << "a report with charts and tables prints to more than 20 KB";

  std::vector<std::string> png_cmd = common;
  png_cmd.push_back("--screenshot=" + dir + "/report.png");
  png_cmd.push_back("--window-size=1280,2400");
  png_cmd.push_back(page);
  std::filesystem::remove(dir + "/report.png");
  ASSERT_EQ(testing::RunCommand(png_cmd, &out, &err, 60'000), 0) << err;
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  std::string why;
  ASSERT_TRUE(DecodePng(testing::ReadFile(dir + "/report.png"), &width, &height, &rgb, &why))
      << why;
  EXPECT_EQ(width, 1280);
  EXPECT_EQ(height, 2400);
  std::set<uint32_t> colors;
  size_t blue = 0;
  for (size_t i = 0; i + 2 < rgb.size(); i += 3) {
    colors.insert(uint32_t(rgb[i]) << 16 | uint32_t(rgb[i + 1]) << 8 | rgb[i + 2]);
    // The first series colour (#2563eb) drawn by the charts.
    if (std::abs(rgb[i] - 0x25) < 30 && std::abs(rgb[i + 1] - 0x63) < 30 &&
        std::abs(rgb[i + 2] - 0xeb) < 30) {
      ++blue;
    }
  }
  EXPECT_GT(colors.size(), 50u) << "the screenshot is nearly uniform";
  EXPECT_GT(blue, 100u) << "no chart line pixels in the screenshot";
}

}  // namespace
}  // namespace echomon
