// The push API and exec collectors inside a real agent: requests go through the Monitor's HTTP
// server, samples through the collector, the store and /metrics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "common/test_util.h"
#include "echomon/monitor.h"

namespace echomon {
namespace {

using nlohmann::json;
constexpr int64_t kT0 = 1'700'000'000'000;

struct Agent {
  explicit Agent(const std::string& extra_config = "", bool default_rules = false) {
    const std::string path = dir.File("agent.yaml");
    testing::WriteFile(path, std::string("host: {enabled: false}\nalerting: {default_rules: ") +
                                 (default_rules ? "true" : "false") +
                                 "}\nscrape: {engine_discovery: false}\n" + extra_config);
    MonitorOptions o;
    o.clock = &clock;
    o.config_file = path;
    o.persist = false;
    o.run_loop = false;
    o.listen = "127.0.0.1:0";
    auto m = Monitor::Create(o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    monitor = std::move(m).value();
    Status s = monitor->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    client = std::make_unique<httplib::Client>("http://" + monitor->http_address());
  }
  ~Agent() { monitor->Stop(); }

  httplib::Result Push(const std::string& body, const std::string& content_type,
                       const std::string& query = "", bool with_token = true) {
    httplib::Headers headers;
    if (with_token) headers.emplace("Authorization", "Bearer " + monitor->token());
    return client->Post(("/api/v1/push" + query).c_str(), headers, body, content_type.c_str());
  }
  std::string Get(const std::string& path) {
    auto r = client->Get(path.c_str());
    return r ? r->body : std::string();
  }
  double Value(const std::string& name, const std::string& component) {
    for (const auto& m : monitor->CurrentMetrics()) {
      auto it = m.labels.find("component");
      if (m.name == name && it != m.labels.end() && it->second == component) return m.value;
    }
    return -1;
  }
  void Tick(int64_t advance_ms = 1000) {
    clock.Advance(advance_ms);
    monitor->CollectOnce();
  }

  testing::TempDir dir;
  ManualClock clock{kT0};
  std::unique_ptr<Monitor> monitor;
  std::unique_ptr<httplib::Client> client;
};

TEST(PushApi, JsonAndTextPushesAreStoredAndExposed) {
  Agent agent;
  auto r = agent.Push(
      R"({"component":"dtesn","metrics":{"dtesn_membrane_level":3,"dtesn_psystem_transitions_total":17},"labels":{"tree":"main"}})",
      "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["data"]["accepted"], 2);
  r = agent.Push(
      "# HELP echo_self_step_seconds Time per evolution step.\n"
      "# TYPE echo_self_step_seconds histogram\n"
      "echo_self_step_seconds_bucket{le=\"0.1\"} 2\n"
      "echo_self_step_seconds_bucket{le=\"1\"} 5\n"
      "echo_self_step_seconds_bucket{le=\"+Inf\"} 6\n"
      "echo_self_step_seconds_sum 3.5\necho_self_step_seconds_count 6\n"
      "# TYPE evolution_convergence gauge\nevolution_convergence 0.93\n",
      "text/plain; version=0.0.4", "?component=echo-self");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = agent.Push("# TYPE fitness_improvement gauge\nfitness_improvement 0.25\n# EOF\n",
                 "application/openmetrics-text; version=1.0.0; charset=utf-8",
                 "?component=echo-self");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  agent.Tick();
  EXPECT_EQ(agent.Value("dtesn_membrane_level", "dtesn"), 3);
  EXPECT_EQ(agent.Value("evolution_convergence", "echo-self"), 0.93);
  EXPECT_EQ(agent.Value("fitness_improvement", "echo-self"), 0.25);
  EXPECT_EQ(agent.Value("echomon_component_up", "dtesn"), 1);

  const std::string metrics = agent.Get("/metrics");
  EXPECT_NE(metrics.find("dtesn_membrane_level{component=\"dtesn\",tree=\"main\"} 3\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("# TYPE dtesn_psystem_transitions_total counter\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE echo_self_step_seconds histogram\n"
                         "echo_self_step_seconds_bucket{component=\"echo-self\",le=\"0.1\"} 2\n"
                         "echo_self_step_seconds_bucket{component=\"echo-self\",le=\"1\"} 5\n"
                         "echo_self_step_seconds_bucket{component=\"echo-self\",le=\"+Inf\"} 6\n"
                         "echo_self_step_seconds_sum{component=\"echo-self\"} 3.5\n"
                         "echo_self_step_seconds_count{component=\"echo-self\"} 6\n"),
            std::string::npos)
      << metrics;

  const json status = json::parse(agent.Get("/api/v1/status"));
  const json& components = status["components"];
  ASSERT_TRUE(components.is_array()) << status.dump();
  ASSERT_EQ(components.size(), 2u);
  EXPECT_EQ(components[0]["name"], "dtesn");
  EXPECT_EQ(components[0]["source"], "push");
  EXPECT_EQ(components[0]["healthy"], true);
  EXPECT_EQ(components[0]["series"], 2);
  EXPECT_EQ(components[0]["last_seen"], kT0 / 1000.0);
  const json list = json::parse(agent.Get("/api/v1/components"));
  EXPECT_EQ(list["data"].size(), 2u);
}

TEST(PushApi, BadRequestsGetClearErrorsAndStoreNothing) {
  Agent agent(
      "components: {push: {max_body: 200, max_series_per_component: 3, "
      "max_labels_per_series: 2}}\n");
  struct Case {
    std::string body, content_type, query;
    int status;
    std::string error;
  };
  const Case cases[] = {
      {"{\"metrics\":", "application/json", "?component=c", 400, "malformed JSON"},
      {"{\"metrics\":{\"a\":1}}", "application/json", "", 400, "component name missing"},
      {"{\"metrics\":{\"a\":\"x\"}}", "application/json", "?component=c", 400,
       "metrics.a: value must be a number"},
      {"a 1\nb{x=\"1\" 2\n", "text/plain", "?component=c", 400, "line 2, column"},
      {"a 1\n", "text/plain", "", 400, "component name missing"},
      {"a 1\n", "application/xml", "?component=c", 415, "unsupported Content-Type"},
      {std::string(300, ' '), "text/plain", "?component=c", 413,
       "exceeds components.push.max_body (200 bytes)"},
      {"a 1\nb 1\nc 1\nd 1\n", "text/plain", "?component=c", 422, "max_series_per_component"},
      {"a{x=\"1\",y=\"2\",z=\"3\"} 1\n", "text/plain", "?component=c", 422,
       "max_labels_per_series"},
  };
  for (const auto& c : cases) {
    auto r = agent.Push(c.body, c.content_type, c.query);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
    const json body = json::parse(r->body);
    EXPECT_EQ(body["status"], "error");
    EXPECT_NE(body["error"].get<std::string>().find(c.error), std::string::npos)
        << c.body << " -> " << r->body;
  }
  agent.Tick();
  for (const auto& m : agent.monitor->CurrentMetrics()) {
    EXPECT_TRUE(m.name.rfind("echomon_", 0) == 0) << "stored " << m.name;
  }
  // Rejections that named no known component are counted on their own.
  bool counted = false;
  for (const auto& m : agent.monitor->CurrentMetrics()) {
    if (m.name == "echomon_push_rejected_total")
      counted = m.value == static_cast<double>(std::size(cases));
  }
  EXPECT_TRUE(counted);
}

// max_body above the server's default 1 MiB takes effect: a 2 MiB push is accepted with a 4 MiB
// limit; over max_body the push API's JSON 413 answers; over the server cap (max(1 MiB,
// max_body)) httplib itself answers 413 before the handler.
TEST(PushApi, MaxBodyAboveOneMebibyteIsHonoured) {
  Agent agent("components: {push: {max_body: 4MiB}}\n");
  std::string line = "big_metric 1\n";
  std::string body;
  while (body.size() < (2u << 20)) body += "# padding comment to make the body large enough\n";
  body += line;
  auto r = agent.Push(body, "text/plain", "?component=big");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body.substr(0, 300);
  agent.Tick();
  EXPECT_EQ(agent.Value("big_metric", "big"), 1);
  auto too_big = agent.Push(std::string((4u << 20) + 1, ' '), "text/plain", "?component=big");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);

  Agent small("components: {push: {max_body: 1000}}\n");
  auto over = small.Push(std::string(5000, ' '), "text/plain", "?component=c");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_NE(over->body.find("exceeds components.push.max_body (1000 bytes)"), std::string::npos)
      << over->body;
}

TEST(PushApi, TheTokenIsRequired) {
  Agent agent;
  auto r = agent.Push("{\"metrics\":{\"a\":1}}", "application/json", "?component=c", false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  httplib::Headers wrong{{"Authorization", "Bearer not-the-token"}};
  r = agent.client->Post("/api/v1/push?component=c", wrong, "a 1\n", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  agent.Tick();
  EXPECT_EQ(agent.Value("a", "c"), -1);
}

TEST(PushApi, StalenessAndDeletion) {
  Agent agent("components: {push: {staleness: 30s}}\n");
  ASSERT_EQ(agent
                .Push("{\"metrics\":{\"sensory_motor_latency_ms\":12}}", "application/json",
                      "?component=embodied")
                ->status,
            200);
  agent.Tick(1000);
  EXPECT_EQ(agent.Value("sensory_motor_latency_ms", "embodied"), 12);
  agent.Tick(30'000);  // 31 s after the push
  const json status = json::parse(agent.Get("/api/v1/status"));
  EXPECT_EQ(status["components"][0]["stale"], true);
  EXPECT_EQ(status["components"][0]["healthy"], false);
  EXPECT_EQ(agent.Value("echomon_component_up", "embodied"), 0);
  // The series is no longer emitted; /metrics drops it once the store calls it stale.
  agent.Tick(1000);
  agent.Tick(1000);
  agent.Tick(1000);
  agent.Tick(1000);
  EXPECT_EQ(agent.Get("/metrics").find("sensory_motor_latency_ms{"), std::string::npos);

  httplib::Headers auth{{"Authorization", "Bearer " + agent.monitor->token()}};
  auto r = agent.client->Delete("/api/v1/push/embodied", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = agent.client->Delete("/api/v1/push/embodied", auth);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(json::parse(agent.Get("/api/v1/components"))["data"].empty());
}

TEST(PushApi, DisabledPushAnswers404) {
  Agent agent("components: {push: {enabled: false}}\n");
  auto r = agent.Push("a 1\n", "text/plain", "?component=c");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("components.push.enabled"), std::string::npos);
}

TEST(ExecComponents, ConfiguredProgramsFeedTheStore) {
  Agent agent(
      "components:\n"
      "  exec:\n"
      "    - name: reservoir\n"
      "      argv: [/bin/sh, -c, 'echo \"dtesn_reservoir_spectral_radius $RADIUS\"']\n"
      "      env: {RADIUS: '0.95'}\n"
      "      interval: 5s\n"
      "      timeout: 2s\n"
      "      labels: {host_role: test}\n"
      "    - name: failing\n"
      "      argv: [/bin/sh, -c, 'echo broken >&2; exit 4']\n");
  agent.monitor->CollectOnce();  // starts both programs
  // Real child processes: poll the agent (bounded) until their results were emitted.
  double radius = -1;
  for (int i = 0; i < 200 && radius < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    agent.Tick(100);
    radius = agent.Value("dtesn_reservoir_spectral_radius", "reservoir");
  }
  EXPECT_EQ(radius, 0.95);
  const json status = json::parse(agent.Get("/api/v1/status"));
  const json& components = status["components"];
  ASSERT_EQ(components.size(), 2u) << status.dump();
  EXPECT_EQ(components[0]["name"], "failing");
  EXPECT_EQ(components[0]["source"], "exec");
  EXPECT_EQ(components[0]["healthy"], false);
  EXPECT_EQ(components[0]["last_error"], "exited with status 4: broken");
  EXPECT_EQ(components[1]["healthy"], true);
  EXPECT_EQ(agent.Value("echomon_component_errors_total", "failing"), 1);
}

TEST(ComponentsConfig, MistakesNameTheKeyAndLine) {
  testing::TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"components:\n  exec:\n    - {name: x}\n", "exec component 'x' needs a non-empty argv"},
      {"components:\n  push: {max_body: 10}\n",
       "components.push.max_body: must be between 64 and 67108864 bytes"},
      {"components:\n  push: {staleness: -5s}\n", "components.push.staleness"},
      {"components:\n  exec:\n    - {name: a, argv: [/bin/true]}\n"
       "    - {name: a, argv: [/bin/true]}\n",
       "exec component 'a' is defined twice"},
      {"components:\n  exec:\n    - {name: a, argv: [/bin/true], shell: yes}\n", "shell"},
      {"scrape:\n  targets:\n    - {url: 'http://127.0.0.1:1/metrics', interval: 0s}\n",
       "interval"},
  };
  for (const auto& [config, expected] : cases) {
    const std::string path = dir.File("bad.yaml");
    testing::WriteFile(path, config);
    MonitorOptions o;
    o.config_file = path;
    o.persist = false;
    o.serve_http = false;
    o.run_loop = false;
    auto m = Monitor::Create(o);
    ASSERT_FALSE(m.ok()) << config;
    EXPECT_NE(m.status().message().find(expected), std::string::npos)
        << config << " -> " << m.status().message();
    EXPECT_NE(m.status().message().find("bad.yaml:"), std::string::npos) << m.status().message();
  }
}

// The example pusher (examples/component_pusher.py) against a real agent: what it computes
// arrives under the documented names.
TEST(ExamplePusher, PushesDtesnEchoSelfAndEmbodiedMetrics) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "python3 not installed";
  Agent agent;
  const std::string script =
      std::string(ECHOMON_TEST_DATA_DIR) + "/../../examples/component_pusher.py";
  std::string out, err;
  const int rc = testing::RunCommand(
      {"/usr/bin/python3", script, "--url", "http://" + agent.monitor->http_address(), "--token",
       agent.monitor->token(), "--count", "2", "--interval", "0", "--reservoir", "20"},
      &out, &err, 60'000);
  ASSERT_EQ(rc, 0) << err;
  agent.Tick();
  EXPECT_NEAR(agent.Value("dtesn_reservoir_spectral_radius", "dtesn"), 0.9, 0.05);
  EXPECT_GT(agent.Value("dtesn_reservoir_state_norm", "dtesn"), 0);
  EXPECT_GE(agent.Value("dtesn_membrane_level", "dtesn"), 1);
  EXPECT_GT(agent.Value("dtesn_psystem_transitions_total", "dtesn"), 0);
  EXPECT_GT(agent.Value("dtesn_membrane_evolution_rate", "dtesn"), 0);
  EXPECT_EQ(agent.Value("echo_self_generations_total", "echo-self"), 2);
  const double convergence = agent.Value("evolution_convergence", "echo-self");
  EXPECT_GT(convergence, 0);
  EXPECT_LE(convergence, 1);
  EXPECT_GE(agent.Value("echo_self_fitness_improvement", "echo-self"), 0);
  const double performance = agent.Value("echo_self_agent_performance", "echo-self");
  EXPECT_GE(performance, 0);
  EXPECT_LE(performance, 1);
  EXPECT_GT(agent.Value("sensory_motor_latency_ms", "embodied"), 0);
  EXPECT_EQ(agent.Value("echomon_component_up", "dtesn"), 1);

  // A wrong token is refused and reported by the pusher.
  const int refused = testing::RunCommand(
      {"/usr/bin/python3", script, "--url", "http://" + agent.monitor->http_address(), "--token",
       "wrong", "--count", "1", "--reservoir", "5"},
      &out, &err, 60'000);
  EXPECT_EQ(refused, 1);
  EXPECT_NE(err.find("HTTP 401"), std::string::npos) << err;
}

// The built-in component rules: no data means no_data (never firing); a pushed value past a
// threshold raises the alert.
TEST(ComponentRules, NoDataNeverFiresAndBadValuesDo) {
  Agent agent("", /*default_rules=*/true);
  agent.Tick();
  auto rules = json::parse(agent.Get("/api/v1/rules"));
  std::set<std::string> component_rules = {"component_down",
                                           "dtesn_reservoir_unstable",
                                           "dtesn_membrane_evolution_stalled",
                                           "dtesn_psystem_transitions_stalled",
                                           "echo_self_fitness_regressing",
                                           "echo_self_agent_performance_low",
                                           "evolution_convergence_low",
                                           "sensory_motor_latency_high",
                                           "proprioceptive_accuracy_low"};
  size_t seen = 0;
  for (const auto& r : rules["data"]) {
    if (component_rules.count(r["name"]) == 0) continue;
    ++seen;
    EXPECT_EQ(r["health"], "no_data") << r.dump();
  }
  EXPECT_EQ(seen, component_rules.size());
  EXPECT_TRUE(json::parse(agent.Get("/api/v1/alerts"))["data"].empty());

  ASSERT_EQ(agent
                .Push(R"({"component":"dtesn","metrics":{"dtesn_reservoir_spectral_radius":1.2}})",
                      "application/json")
                ->status,
            200);
  agent.Tick();
  agent.Tick(61'000);
  ASSERT_EQ(agent
                .Push(R"({"component":"dtesn","metrics":{"dtesn_reservoir_spectral_radius":1.2}})",
                      "application/json")
                ->status,
            200);
  agent.Tick();
  const json alerts = json::parse(agent.Get("/api/v1/alerts"));
  bool firing = false;
  for (const auto& a : alerts["data"]) {
    firing = firing || (a.dump().find("dtesn_reservoir_unstable") != std::string::npos &&
                        a.dump().find("firing") != std::string::npos);
  }
  EXPECT_TRUE(firing) << alerts.dump();
}

}  // namespace
}  // namespace echomon
