// echomon maintenance list|run: the maintenance tasks of a running agent
// (docs/maintenance.md).
#include <httplib.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/commands.h"

namespace echomon::cli {
namespace {

struct MaintenanceFlags {
  std::string url;
  std::string config;
  std::string token;
  bool as_json = false;
  std::string task;
  int timeout_s = 660;
};

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string("-");
}

// "in 3h", "5m ago", "-" for a Unix time in seconds (or null).
std::string When(const json& t) {
  if (!t.is_number()) return "-";
  double delta = t.get<double>() - static_cast<double>(std::time(nullptr));
  if (delta >= 0) return "in " + Ago(delta);
  return Ago(-delta) + " ago";
}

int ListTasks(const MaintenanceFlags& f) {
  const std::string base = AgentAddress(f.url, f.config);
  auto body = CallApi(base, "GET", "/api/v1/maintenance", ApiToken(f.token, f.config));
  if (!body) return kExitUnreachable;
  const json data = (*body)["data"];
  if (f.as_json) {
    std::cout << data.dump(2) << "\n";
    return kExitOk;
  }
  const json tasks = data.value("tasks", json::array());
  if (tasks.empty()) {
    std::cout << "no maintenance tasks\n";
    return kExitOk;
  }
  std::printf("%-22s %-20s %-10s %-10s %-7s %-6s %-6s %s\n", "TASK", "SCHEDULE", "NEXT", "LAST",
              "RESULT", "RUNS", "FAILS", "SUMMARY");
  for (const auto& t : tasks) {
    std::string result = "-";
    std::string summary;
    if (t["last_result"].is_object()) {
      result = t["last_result"].value("ok", false) ? "ok" : "FAILED";
      summary = t["last_result"].value("summary", "");
    }
    if (t.value("running", false)) result = "running";
    std::string name = Str(t, "name");
    if (!t.value("enabled", true)) name += " (off)";
    if (summary.size() > 60) summary = summary.substr(0, 57) + "...";
    std::printf("%-22s %-20s %-10s %-10s %-7s %-6lld %-6lld %s\n", name.c_str(),
                Str(t, "schedule").c_str(), When(t["next_run"]).c_str(),
                When(t["last_run"]).c_str(), result.c_str(),
                static_cast<long long>(t.value("runs", 0)),
                static_cast<long long>(t.value("failures", 0)), summary.c_str());
  }
  return kExitOk;
}

int RunTask(const MaintenanceFlags& f) {
  const std::string base = AgentAddress(f.url, f.config);
  // A task may run for minutes: the shared CallApi's read timeout is too short.
  httplib::Client client(base);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(f.timeout_s, 0);
  httplib::Headers headers;
  const std::string token = ApiToken(f.token, f.config);
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  const std::string path = "/api/v1/maintenance/" + UrlEncode(f.task) + "/run";
  httplib::Result res = client.Post(path.c_str(), headers, "", "application/json");
  if (!res) {
    std::cerr << "echomon: no agent answered at " << base << " (" << httplib::to_string(res.error())
              << ")\n";
    return kExitUnreachable;
  }
  json body = json::parse(res->body, nullptr, false);
  if (res->status < 200 || res->status >= 300) {
    std::string why = body.is_object() ? body.value("error", res->body) : res->body;
    std::cerr << "echomon: maintenance run " << f.task << ": " << res->status << ": " << why
              << "\n";
    return kExitProblem;
  }
  const json run = body.is_object() ? body.value("data", json::object()) : json::object();
  if (f.as_json) {
    std::cout << run.dump(2) << "\n";
  } else {
    const bool ok = run.value("ok", false);
    std::printf("%s %s in %lld ms: %s\n", f.task.c_str(), ok ? "ok" : "FAILED",
                static_cast<long long>(run.value("duration_ms", 0)),
                run.value("summary", "").c_str());
    if (!ok) std::printf("  error: %s\n", run.value("error", "").c_str());
    for (const auto& r : run.value("results", json::array())) {
      if (!r.is_object() || !r.contains("type")) continue;
      std::printf("  %-14s %-6s %s\n", Str(r, "name").c_str(), r.value("ok", false) ? "ok" : "FAIL",
                  r.value("ok", false) ? Str(r, "summary").c_str() : Str(r, "error").c_str());
    }
  }
  return run.value("ok", false) ? kExitOk : kExitProblem;
}

void CommonFlags(CLI::App* cmd, MaintenanceFlags* f) {
  cmd->add_option("--url", f->url, "Agent URL (default from --config, else http://127.0.0.1:9470)");
  cmd->add_option("-c,--config", f->config, "Configuration file (listen address, data_dir)");
  cmd->add_option("--token", f->token, "API token (default: $ECHOMON_TOKEN or <data_dir>/token)");
  cmd->add_flag("--json", f->as_json, "Print JSON");
}

}  // namespace

void RegisterMaintenanceCommands(CLI::App& app, CommandRegistry& registry) {
  auto f = std::make_shared<MaintenanceFlags>();
  auto* group = app.add_subcommand("maintenance", "List or run the agent's maintenance tasks");
  group->require_subcommand(1);
  auto* list = group->add_subcommand("list", "Tasks with schedule, next/last run and counts");
  CommonFlags(list, f.get());
  registry.Add(list, [f] { return ListTasks(*f); });
  auto* run = group->add_subcommand("run", "Run a task now and wait for its result");
  CommonFlags(run, f.get());
  run->add_option("task", f->task, "Task name (see maintenance list)")->required();
  run->add_option("--timeout", f->timeout_s, "Seconds to wait for the result (default 660)")
      ->check(CLI::Range(1, 86400));
  registry.Add(run, [f] { return RunTask(*f); });
}

}  // namespace echomon::cli
