// End-to-end incident response, for real: a Monitor with a manual clock, real collectors, real
// actions on real files and processes, the HTTP API; and the real binary killed mid-incident.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"
#include "echomon/monitor.h"

namespace echomon {
namespace {

using nlohmann::json;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr const char* kToken = "test-token-123";

// Polls pred (real time, bounded): the alert handler and the action workers are threads.
bool WaitFor(const std::function<bool()>& pred, int timeout_ms = 15'000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

json Get(const std::string& address, const std::string& path) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(5, 0);
  auto res = c.Get(path.c_str());
  if (!res || res->status != 200) return json();
  json body = json::parse(res->body, nullptr, false);
  return body.is_discarded() ? json() : body["data"];
}

int Post(const std::string& address, const std::string& path, const std::string& token) {
  httplib::Client c("http://" + address);
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  auto res = c.Post(path.c_str(), h, "{\"by\": \"e2e\"}", "application/json");
  return res ? res->status : -1;
}

void WriteBytes(const std::string& path, size_t n) {
  std::ofstream f(path, std::ios::binary);
  std::string chunk(64 * 1024, 'x');
  for (size_t done = 0; done < n; done += chunk.size()) f.write(chunk.data(), chunk.size());
}

// A small filesystem the test controls: a 4 MiB tmpfs when mounting is permitted.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(const std::string& path) : path_(path) {
    fs::create_directories(path);
    // ECHOMON_TEST_NO_TMPFS=1 exercises the quota fallback where mounting would work.
    mounted_ = std::getenv("ECHOMON_TEST_NO_TMPFS") == nullptr &&
               ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=4m") == 0;
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// Usage of a 4 MiB quota on a directory: the quota-like limit used where no tmpfs can be
// mounted.
std::map<std::string, double> QuotaUsage(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec) && !e.is_symlink(ec)) bytes += e.file_size(ec);
  }
  return {{"quota_usage_percent", static_cast<double>(bytes) / (4 << 20) * 100}};
}

struct Agent {
  ManualClock clock{std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()};
  std::unique_ptr<Monitor> monitor;
  std::string address;

  void Start(const std::string& config_path) {
    MonitorOptions o;
    o.config_file = config_path;
    o.run_loop = false;
    o.clock = &clock;
    auto m = Monitor::Create(o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    monitor = std::move(m).value();
    ASSERT_TRUE(monitor->Start().ok());
    address = monitor->http_address();
  }
  // One tick of the agent, time moved on by ms first.
  void Tick(int64_t ms = 1000) {
    clock.Advance(ms);
    monitor->CollectOnce();
  }
  json Incidents() { return Get(address, "/api/v1/incidents"); }
  json Incident(const std::string& id) { return Get(address, "/api/v1/incidents/" + id); }
  // Waits for exactly one incident in state; returns it.
  json WaitOne(const std::string& state) {
    json found;
    WaitFor([&] {
      json l = Incidents();
      if (!l.is_array() || l.size() != 1 || l[0]["state"] != state) return false;
      found = l[0];
      return true;
    });
    EXPECT_FALSE(found.is_null()) << "no single " << state << " incident; have "
                                  << Incidents().dump(1);
    return found;
  }
};

std::string BaseConfig(const TempDir& dir) {
  return "interval: 1s\n"
         "storage: {data_dir: " +
         dir.File("var") +
         "}\n"
         "server: {listen: 127.0.0.1:0, token: " +
         kToken +
         "}\n"
         "scrape: {engine_discovery: false}\n"
         "anomaly: {enabled: false}\n"
         "alerting: {default_rules: false}\n"
         "notifiers:\n"
         "  - {type: file, name: oncall, directory: " +
         dir.File("oncall") +
         "}\n"
         "  - {type: file, name: pager, directory: " +
         dir.File("pager") + "}\n";
}

// mounted: the rule watches the tmpfs' usage; otherwise the usage of a 4 MiB quota on the
// directory, computed by QuotaUsage.
std::string DiskConfig(const TempDir& dir, const std::string& mnt, bool dry_run, bool mounted) {
  return BaseConfig(dir) +
         "rules:\n"
         "  - name: small_fs_full\n" +
         (mounted ? "    metric: echomon_filesystem_usage_percent\n"
                    "    labels: {mount: \"" +
                        mnt + "\"}\n"
                  : std::string("    metric: quota_usage_percent\n")) +
         "    warning: {threshold: 50, clear: 40}\n"
         "actions:\n"
         "  writable_dirs: [" +
         mnt +
         "]\n"
         "response:\n"
         "  default_playbooks: false\n" +
         (dry_run ? "  dry_run: true\n" : "") +
         "playbooks:\n"
         "  - name: small_fs\n"
         "    match: 'alertname=\"small_fs_full\"'\n"
         "    steps:\n"
         "      - verify_after: 30s\n"
         "        actions:\n"
         "          - type: diagnose\n"
         "          - type: cleanup\n"
         "            params: {patterns: [\"*.bin\"], min_age: 0s, recursive: true}\n"
         "    escalation: {levels: [{notifiers: [oncall]}]}\n";
}

// Escalation messages a file notifier directory received (alert files carrying an incident).
std::vector<json> Escalations(const std::string& dir) {
  std::vector<json> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::ifstream f(e.path());
    std::stringstream text;
    text << f.rdbuf();
    json j = json::parse(text.str(), nullptr, false);
    if (j.is_object() && j.contains("annotations") &&
        j["annotations"].contains("escalation_level")) {
      out.push_back(j);
    }
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["annotations"]["escalation_round"].get<std::string>() +
               a["annotations"]["escalation_level"].get<std::string>() <
           b["annotations"]["escalation_round"].get<std::string>() +
               b["annotations"]["escalation_level"].get<std::string>();
  });
  return out;
}

TEST(IncidentsEndToEnd, DiskAlertOnASmallFilesystemIsCleanedUpAndResolves) {
  TempDir dir;
  const std::string mnt = dir.File("small");
  SmallFilesystem small(mnt);
  if (!small.mounted()) std::cerr << "no tmpfs (needs root): a 4 MiB quota on a directory\n";
  for (int i = 0; i < 3; ++i) WriteBytes(mnt + "/old" + std::to_string(i) + ".bin", 1 << 20);
  WriteBytes(mnt + "/keep.txt", 64 << 10);
  fs::create_directories(dir.File("outside"));
  WriteBytes(dir.File("outside/precious.bin"), 64 << 10);
  fs::create_symlink(dir.File("outside"), mnt + "/link");  // a way out it must not take
  fs::create_symlink(dir.File("outside/precious.bin"), mnt + "/alias.bin");
  testing::WriteFile(dir.File("agent.yaml"), DiskConfig(dir, mnt, false, small.mounted()));

  Agent agent;
  agent.Start(dir.File("agent.yaml"));
  if (!small.mounted()) {
    agent.monitor->RegisterCollector("quota", [mnt] { return QuotaUsage(mnt); });
  }
  agent.Tick();  // usage ~77 %: the alert fires, the incident opens and cleans up
  json inc = agent.WaitOne("verifying");
  ASSERT_FALSE(inc.is_null());
  EXPECT_EQ(inc["playbook"], "small_fs");
  if (small.mounted()) {
    EXPECT_EQ(inc["labels"]["mount"], mnt);
  }
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(fs::exists(mnt + "/old" + std::to_string(i) + ".bin"));
  EXPECT_TRUE(fs::exists(mnt + "/keep.txt"));
  EXPECT_TRUE(fs::exists(dir.File("outside/precious.bin")));
  EXPECT_TRUE(fs::exists(dir.File("outside")));

  const json detail = agent.Incident(inc["id"]);
  ASSERT_EQ(detail["actions"].size(), 2u) << detail.dump(1);
  const json cleanup = detail["actions"][1]["result"];
  EXPECT_TRUE(cleanup["ok"]) << cleanup.dump(1);
  EXPECT_GE(cleanup["bytes_freed"].get<uint64_t>(), 3u << 20);
  EXPECT_EQ(cleanup["files_touched"], 3);
  EXPECT_EQ(detail["actions"][0]["type"], "diagnose");

  agent.Tick();  // usage is back under the clear threshold: the alert resolves
  inc = agent.WaitOne("resolved");
  EXPECT_EQ(inc["reason"], "alert resolved");
  const json stats = Get(agent.address, "/api/v1/responses/stats");
  EXPECT_EQ(stats["successful_responses"], 1);
  EXPECT_GE(stats["by_action"]["cleanup"]["bytes_freed"].get<uint64_t>(), 3u << 20);
  const ResponseStatistics cxx = agent.monitor->GetResponseStatistics();
  EXPECT_TRUE(cxx.available);
  EXPECT_EQ(cxx.total_responses, 1u);
  EXPECT_EQ(cxx.successful_responses, 1u);
  EXPECT_DOUBLE_EQ(cxx.success_rate, 1.0);
  EXPECT_EQ(cxx.by_playbook.at("small_fs").resolved_responses, 1u);
  EXPECT_EQ(cxx.by_action.at("cleanup").succeeded, 1u);
}

TEST(IncidentsEndToEnd, DryRunChangesNothing) {
  TempDir dir;
  const std::string mnt = dir.File("small");
  SmallFilesystem small(mnt);
  if (!small.mounted()) std::cerr << "no tmpfs (needs root): a 4 MiB quota on a directory\n";
  for (int i = 0; i < 3; ++i) WriteBytes(mnt + "/old" + std::to_string(i) + ".bin", 1 << 20);
  testing::WriteFile(dir.File("agent.yaml"), DiskConfig(dir, mnt, true, small.mounted()));

  Agent agent;
  agent.Start(dir.File("agent.yaml"));
  if (!small.mounted()) {
    agent.monitor->RegisterCollector("quota", [mnt] { return QuotaUsage(mnt); });
  }
  agent.Tick();
  json inc = agent.WaitOne("verifying");
  ASSERT_FALSE(inc.is_null());
  EXPECT_TRUE(inc["dry_run"]);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(fs::file_size(mnt + "/old" + std::to_string(i) + ".bin"), 1u << 20);
  }
  const json detail = agent.Incident(inc["id"]);
  ASSERT_EQ(detail["actions"].size(), 2u);
  EXPECT_TRUE(detail["actions"][1]["dry_run"]);
  EXPECT_TRUE(detail["actions"][1]["result"]["dry_run"]);
  // The plan says what would be freed; the stats count only what was.
  EXPECT_EQ(Get(agent.address, "/api/v1/responses/stats")["by_action"]["cleanup"]["bytes_freed"],
            0);
  EXPECT_EQ(Get(agent.address, "/api/v1/responses/stats")["by_action"]["cleanup"]["dry_run"], 1);
  // Nothing changed, so the alert keeps firing and the incident escalates.
  agent.Tick(30'000);
  inc = agent.WaitOne("escalated");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(fs::exists(mnt + "/old" + std::to_string(i) + ".bin"));
}

// The CPU time of pid at normal priority: its CPU use while its nice value is below 10 (the
// split /proc/stat makes between "user" and "nice" time, for one process).
class NormalPriorityCpu {
 public:
  explicit NormalPriorityCpu(pid_t pid) : pid_(pid) {}
  std::map<std::string, double> operator()() {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
    std::string line;
    std::getline(f, line);
    size_t close = line.rfind(')');
    if (close == std::string::npos) return {{"hog_normal_priority_cpu_percent", 0}};
    std::istringstream rest(line.substr(close + 2));
    std::vector<std::string> fields;
    std::string field;
    while (rest >> field) fields.push_back(field);
    // fields[0] is field 3 (state): utime 14, stime 15, nice 19.
    const double ticks = std::stod(fields[11]) + std::stod(fields[12]);
    const int nice = std::stoi(fields[16]);
    const auto now = std::chrono::steady_clock::now();
    double percent = 0;
    if (have_last_) {
      const double seconds = std::chrono::duration<double>(now - last_time_).count();
      percent = (ticks - last_ticks_) / static_cast<double>(::sysconf(_SC_CLK_TCK)) / seconds * 100;
    }
    have_last_ = true;
    last_ticks_ = ticks;
    last_time_ = now;
    return {{"hog_normal_priority_cpu_percent", nice < 10 ? percent : 0.0}};
  }

 private:
  pid_t pid_;
  bool have_last_ = false;
  double last_ticks_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

TEST(IncidentsEndToEnd, CpuHogIsRenicedAndTheAlertResolves) {
  TempDir dir;
  testing::Subprocess hog({"/bin/sh", "-c", "while :; do :; done"});
  testing::WriteFile(dir.File("hog.pid"), std::to_string(hog.pid()) + "\n");
  testing::WriteFile(dir.File("agent.yaml"), BaseConfig(dir) +
                                                 "rules:\n"
                                                 "  - name: hog_cpu_high\n"
                                                 "    metric: hog_normal_priority_cpu_percent\n"
                                                 "    warning: {threshold: 10, clear: 5}\n"
                                                 "response:\n"
                                                 "  default_playbooks: false\n"
                                                 "playbooks:\n"
                                                 "  - name: hog\n"
                                                 "    match: 'alertname=\"hog_cpu_high\"'\n"
                                                 "    steps:\n"
                                                 "      - verify_after: 1m\n"
                                                 "        actions:\n"
                                                 "          - type: renice\n"
                                                 "            params: {pid_file: " +
                                                 dir.File("hog.pid") + ", nice: 15}\n");
  Agent agent;
  agent.Start(dir.File("agent.yaml"));
  agent.monitor->RegisterCollector("hog", NormalPriorityCpu(hog.pid()));
  agent.Tick();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the hog burn CPU
  agent.Tick();
  json inc = agent.WaitOne("verifying");
  ASSERT_FALSE(inc.is_null());
  errno = 0;
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(hog.pid())), 15);
  const json detail = agent.Incident(inc["id"]);
  ASSERT_EQ(detail["actions"].size(), 1u);
  EXPECT_TRUE(detail["actions"][0]["result"]["ok"]) << detail.dump(1);
  EXPECT_EQ(detail["actions"][0]["result"]["pids"][0], hog.pid());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  agent.Tick();  // at nice 15 its CPU no longer counts as normal priority: resolved
  inc = agent.WaitOne("resolved");
  EXPECT_EQ(inc["reason"], "alert resolved");
}

TEST(IncidentsEndToEnd, UnfixableProblemEscalatesThroughLevelsUntilAcknowledged) {
  TempDir dir;
  testing::WriteFile(dir.File("agent.yaml"), BaseConfig(dir) +
                                                 "rules:\n"
                                                 "  - name: app_broken\n"
                                                 "    metric: app_broken\n"
                                                 "    critical: 0.5\n"
                                                 "response:\n"
                                                 "  default_playbooks: false\n"
                                                 "playbooks:\n"
                                                 "  - name: app\n"
                                                 "    match: 'alertname=\"app_broken\"'\n"
                                                 "    priority: {critical: P0}\n"
                                                 "    steps:\n"
                                                 "      - verify_after: 10s\n"
                                                 "        actions: [{type: diagnose}]\n"
                                                 "    escalation:\n"
                                                 "      levels:\n"
                                                 "        - {notifiers: [oncall], delay: 0s}\n"
                                                 "        - {notifiers: [pager], delay: 1m}\n"
                                                 "      repeat_interval: 5m\n");
  Agent agent;
  agent.Start(dir.File("agent.yaml"));
  agent.monitor->RegisterCollector("app", [] {
    return std::map<std::string, double>{{"app_broken", 1}};
  });
  agent.Tick();
  json inc = agent.WaitOne("verifying");
  ASSERT_FALSE(inc.is_null());
  EXPECT_EQ(inc["priority"], "P0");
  const std::string id = inc["id"];
  agent.Tick(10'000);  // still broken after verify_after: escalate, level 1 to oncall
  agent.WaitOne("escalated");
  ASSERT_TRUE(WaitFor([&] { return Escalations(dir.File("oncall")).size() == 1; }));
  json first = Escalations(dir.File("oncall"))[0];
  EXPECT_EQ(first["annotations"]["incident_id"], id);
  EXPECT_EQ(first["annotations"]["escalation_level"], "1");
  EXPECT_EQ(first["annotations"]["priority"], "P0");
  EXPECT_TRUE(Escalations(dir.File("pager")).empty());
  agent.Tick(30'000);
  EXPECT_TRUE(Escalations(dir.File("pager")).empty());
  agent.Tick(30'000);  // level 2 one minute later, to pager
  ASSERT_TRUE(WaitFor([&] { return Escalations(dir.File("pager")).size() == 1; }));
  agent.Tick(5 * 60'000);  // repeated: level 1 again
  ASSERT_TRUE(WaitFor([&] { return Escalations(dir.File("oncall")).size() == 2; }));
  EXPECT_EQ(Escalations(dir.File("oncall"))[1]["annotations"]["escalation_round"], "2");

  EXPECT_EQ(Post(agent.address, "/api/v1/incidents/" + id + "/ack", ""), 401);
  EXPECT_EQ(Post(agent.address, "/api/v1/incidents/inc-0-000/ack", kToken), 404);
  // The CLI: list, show, acknowledge.
  const std::string cli = testing::BuiltBinary("src/cli/echomon");
  const std::string url = "http://" + agent.address;
  std::string out, err;
  ASSERT_EQ(testing::RunCommand({cli, "incidents", "--url", url}, &out, &err), 0) << err;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("escalated"), std::string::npos) << out;
  ASSERT_EQ(testing::RunCommand({cli, "incident", "show", id, "--url", url}, &out, &err), 0) << err;
  EXPECT_NE(out.find("escalation level 2/2"), std::string::npos) << out;
  ASSERT_EQ(testing::RunCommand({cli, "incident", "show", id, "--json", "--url", url}, &out, &err),
            0);
  EXPECT_EQ(json::parse(out)["id"], id);
  EXPECT_NE(testing::RunCommand({cli, "incident", "show", "inc-0-000", "--url", url}, &out, &err),
            0);
  ASSERT_EQ(
      testing::RunCommand(
          {cli, "incident", "ack", id, "--by", "e2e", "--url", url, "--token", kToken}, &out, &err),
      0)
      << err;
  for (int i = 0; i < 4; ++i) agent.Tick(5 * 60'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Escalations(dir.File("oncall")).size(), 2u);
  EXPECT_EQ(Escalations(dir.File("pager")).size(), 2u - 1u);
  const json detail = agent.Incident(id);
  EXPECT_TRUE(detail["acknowledged"]);
  EXPECT_EQ(detail["acknowledged_by"], "e2e");
  EXPECT_EQ(detail["state"], "escalated");
  std::vector<std::string> kinds;
  for (const auto& e : detail["timeline"]) kinds.push_back(e["kind"]);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "escalation_sent"), 3);
  EXPECT_EQ(kinds.back() == "acknowledged" ||
                std::find(kinds.begin(), kinds.end(), "acknowledged") != kinds.end(),
            true);
  EXPECT_EQ(Get(agent.address, "/api/v1/incidents?state=bogus"), json());
  EXPECT_EQ(Get(agent.address, "/api/v1/incidents?state=escalated").size(), 1u);
  EXPECT_EQ(Get(agent.address, "/api/v1/incidents?state=closed").size(), 0u);
}

TEST(IncidentsEndToEnd, SilencedAlertsGetNoResponse) {
  TempDir dir;
  testing::WriteFile(dir.File("agent.yaml"),
                     BaseConfig(dir) +
                         "rules:\n"
                         "  - {name: app_broken, metric: app_broken, critical: 0.5}\n"
                         "  - {name: app_other, metric: app_other, critical: 0.5}\n"
                         "response: {default_playbooks: false}\n"
                         "playbooks:\n"
                         "  - name: app\n"
                         "    match: 'alertname=~\"app_.*\"'\n"
                         "    steps: [{actions: [{type: diagnose}]}]\n");
  Agent agent;
  agent.Start(dir.File("agent.yaml"));
  httplib::Client c("http://" + agent.address);
  auto res =
      c.Post("/api/v1/silences", {{"Authorization", std::string("Bearer ") + kToken}},
             R"({"matchers": "alertname=\"app_broken\"", "duration": "1h", "author": "e2e"})",
             "application/json");
  ASSERT_TRUE(res && res->status / 100 == 2) << (res ? res->body : "no answer");
  agent.monitor->RegisterCollector("app", [] {
    return std::map<std::string, double>{{"app_broken", 1}, {"app_other", 1}};
  });
  agent.Tick();
  agent.Tick();
  // The unsilenced alert gets its incident; the silenced one none.
  json inc = agent.WaitOne("verifying");
  EXPECT_EQ(inc["alertname"], "app_other");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(agent.Incidents().size(), 1u);
}

// A silence created while an incident is open holds its next step until the silence is
// expired; an action whose output is not valid UTF-8 is recorded and served with U+FFFD.
TEST(IncidentsEndToEnd, SilenceHoldsAnOpenIncidentAndInvalidUtf8OutputIsServed) {
  TempDir dir;
  testing::WriteFile(dir.File("agent.yaml"),
                     BaseConfig(dir) +
                         "rules:\n"
                         "  - {name: app_broken, metric: app_broken, critical: 0.5}\n"
                         "response: {default_playbooks: false}\n"
                         "playbooks:\n"
                         "  - name: app\n"
                         "    match: 'alertname=\"app_broken\"'\n"
                         "    steps:\n"
                         "      - verify_after: 10s\n"
                         "        actions:\n"
                         "          - type: exec\n"
                         "            params: {argv: [/bin/sh, -c, \"printf 'cut \\\\321'\"]}\n"
                         "      - verify_after: 10s\n"
                         "        actions: [{type: diagnose, name: second}]\n"
                         "    escalation: {levels: [{notifiers: [oncall]}]}\n");
  Agent agent;
  agent.Start(dir.File("agent.yaml"));
  agent.monitor->RegisterCollector("app", [] {
    return std::map<std::string, double>{{"app_broken", 1}};
  });
  agent.Tick();
  json inc = agent.WaitOne("verifying");
  ASSERT_FALSE(inc.is_null());
  const std::string id = inc["id"];
  json d = agent.Incident(id);  // 200 with a body that parses (Get returns null otherwise)
  ASSERT_EQ(d["actions"].size(), 1u) << d.dump(1);
  EXPECT_EQ(d["actions"][0]["result"]["output"], "cut \xEF\xBF\xBD");

  httplib::Client c("http://" + agent.address);
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  auto res =
      c.Post("/api/v1/silences", auth,
             R"({"matchers": "alertname=\"app_broken\"", "duration": "1h", "author": "e2e"})",
             "application/json");
  ASSERT_TRUE(res && res->status / 100 == 2) << (res ? res->body : "no answer");
  const std::string silence = json::parse(res->body)["data"]["id"];
  agent.Tick(10'000);  // verification over, still firing: step 2 would start, but silenced
  agent.Tick();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d = agent.Incident(id);
  EXPECT_EQ(d["state"], "verifying");
  EXPECT_EQ(d["actions"].size(), 1u);
  bool suppressed = false;
  for (const auto& e : d["timeline"]) {
    if (e["kind"] == "suppressed") {
      suppressed = true;
      EXPECT_NE(e["message"].get<std::string>().find("silenced by silence " + silence),
                std::string::npos)
          << e.dump();
    }
  }
  EXPECT_TRUE(suppressed) << d["timeline"].dump(1);

  auto del = c.Delete(("/api/v1/silences/" + silence).c_str(), auth);
  ASSERT_TRUE(del && del->status == 200) << (del ? del->body : "no answer");
  agent.Tick();  // unmuted: step 2 runs
  ASSERT_TRUE(WaitFor([&] { return agent.Incident(id)["actions"].size() == 2; }));
  EXPECT_EQ(agent.Incident(id)["actions"][1]["name"], "second");
}

// The real binary, killed (SIGKILL) while an action runs, then started again.
TEST(IncidentsEndToEnd, KilledAgentLeavesAConsistentRecordAndRunsNothingTwice) {
  TempDir dir;
  const int port = testing::FreeLoopbackPort();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::string marker = dir.File("runs.txt");
  testing::WriteFile(
      dir.File("agent.yaml"),
      "interval: 200ms\n"
      "storage: {data_dir: " +
          dir.File("var") +
          "}\n"
          "server: {listen: \"" +
          address + "\", token: " + kToken +
          "}\n"
          "scrape: {engine_discovery: false}\n"
          "anomaly: {enabled: false}\n"
          "alerting: {default_rules: false}\n"
          "rules:\n"
          "  - {name: always_on, metric: echomon_memory_used_percent, warning: 0.0001}\n"
          "response: {default_playbooks: false}\n"
          "playbooks:\n"
          "  - name: slow\n"
          "    match: 'alertname=\"always_on\"'\n"
          "    steps:\n"
          "      - verify_after: 1h\n"
          "        actions:\n"
          "          - type: exec\n"
          "            timeout: 60s\n"
          "            params: {argv: [/bin/sh, -c, \"echo $$ >> " +
          marker + "; exec sleep 30\"]}\n");
  const std::string binary = testing::BuiltBinary("src/cli/echomon");
  auto count_runs = [&] {
    std::ifstream f(marker);
    std::string line;
    int n = 0;
    while (std::getline(f, line)) ++n;
    return n;
  };
  std::string id;
  {
    testing::Subprocess agent({binary, "run", "--config", dir.File("agent.yaml")});
    ASSERT_TRUE(WaitFor([&] { return count_runs() == 1; })) << agent.Stderr();
    json l;
    ASSERT_TRUE(WaitFor([&] {
      l = Get(address, "/api/v1/incidents");
      return l.is_array() && l.size() == 1 && l[0]["state"] == "acting";
    })) << l.dump(1);
    id = l[0]["id"];
    const json d = Get(address, "/api/v1/incidents/" + id);
    ASSERT_EQ(d["actions"].size(), 1u);
    EXPECT_EQ(d["actions"][0]["state"], "started");
    agent.Signal(SIGKILL);
    EXPECT_EQ(agent.Wait(5000), 128 + SIGKILL);
  }
  testing::Subprocess again({binary, "run", "--config", dir.File("agent.yaml")});
  json d;
  ASSERT_TRUE(WaitFor([&] {
    d = Get(address, "/api/v1/incidents/" + id);
    return d.is_object() && d["state"] == "verifying";
  })) << d.dump(1)
      << again.Stderr();
  ASSERT_EQ(d["actions"].size(), 1u);
  EXPECT_EQ(d["actions"][0]["state"], "interrupted");
  EXPECT_FALSE(d["actions"][0]["ok"]);
  std::vector<std::string> kinds;
  for (const auto& e : d["timeline"]) kinds.push_back(e["kind"]);
  for (const char* k :
       {"opened", "step_started", "action_started", "action_interrupted", "resumed"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k << " in " << d.dump(1);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // several ticks later
  EXPECT_EQ(count_runs(), 1);                                    // never run twice
  const json all = Get(address, "/api/v1/incidents");
  EXPECT_EQ(all.size(), 1u) << all.dump(1);  // nothing lost, nothing duplicated
  const json stats = Get(address, "/api/v1/responses/stats");
  EXPECT_EQ(stats["by_action"]["exec"]["interrupted"], 1);
  // The orphaned sleep from the first run.
  std::ifstream f(marker);
  int pid = 0;
  if (f >> pid && pid > 1) ::kill(pid, SIGKILL);
  again.Signal(SIGTERM);
  again.Wait(10'000);
}

}  // namespace
}  // namespace echomon
