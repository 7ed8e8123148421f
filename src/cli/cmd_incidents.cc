// echomon incidents / echomon incident show|ack: the incidents of a running agent
// (docs/incidents.md).
#include <cstdio>
#include <iostream>

#include "cli/commands.h"

namespace echomon::cli {
namespace {

struct IncidentFlags {
  std::string url;
  std::string config;
  std::string token;
  bool as_json = false;
  bool all = false;
  std::string id;
  std::string by;
};

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string("-");
}

int ListIncidents(const IncidentFlags& f) {
  const std::string base = AgentAddress(f.url, f.config);
  const std::string path = f.all ? "/api/v1/incidents?limit=100" : "/api/v1/incidents?state=active";
  auto body = CallApi(base, "GET", path, ApiToken(f.token, f.config));
  if (!body) return kExitUnreachable;
  const json data = (*body)["data"];
  if (f.as_json) {
    std::cout << data.dump(2) << "\n";
    return kExitOk;
  }
  if (!data.is_array() || data.empty()) {
    std::cout << (f.all ? "no incidents\n" : "no active incidents\n");
    return kExitOk;
  }
  std::printf("%-22s %-10s %-3s %-24s %-28s %-5s %-6s %s\n", "ID", "STATE", "PRI", "PLAYBOOK",
              "ALERT", "STEP", "AGE", "REASON");
  for (const auto& i : data) {
    const std::string step =
        std::to_string(i.value("step", 0)) + "/" + std::to_string(i.value("steps", 0));
    std::string state = Str(i, "state");
    if (i.value("acknowledged", false)) state += "*";
    if (i.value("dry_run", false)) state += "~";
    std::printf("%-22s %-10s %-3s %-24s %-28s %-5s %-6s %s\n", Str(i, "id").c_str(), state.c_str(),
                Str(i, "priority").c_str(), Str(i, "playbook").c_str(), Str(i, "alertname").c_str(),
                step.c_str(), Ago(i.value("duration_seconds", 0.0)).c_str(),
                Str(i, "reason").c_str());
  }
  std::cout << "(* acknowledged, ~ dry run)\n";
  return kExitOk;
}

int ShowIncident(const IncidentFlags& f) {
  const std::string base = AgentAddress(f.url, f.config);
  auto body = CallApi(base, "GET", "/api/v1/incidents/" + f.id, ApiToken(f.token, f.config));
  if (!body) return kExitProblem;
  const json i = (*body)["data"];
  if (f.as_json) {
    std::cout << i.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("incident %s  %s  %s%s\n", Str(i, "id").c_str(), Str(i, "priority").c_str(),
              Str(i, "state").c_str(), i.value("dry_run", false) ? " (dry run)" : "");
  std::printf("  alert      %s %s %s value %s\n", Str(i, "alertname").c_str(),
              Str(i, "severity").c_str(), LabelText(i.value("labels", json::object())).c_str(),
              i.contains("value") ? i["value"].dump().c_str() : "-");
  std::printf("  playbook   %s, step %d of %d\n", Str(i, "playbook").c_str(), i.value("step", 0),
              i.value("steps", 0));
  std::printf("  reason     %s\n", Str(i, "reason").c_str());
  std::printf("  open for   %s%s\n", Ago(i.value("duration_seconds", 0.0)).c_str(),
              i.value("acknowledged", false)
                  ? (", acknowledged by " + Str(i, "acknowledged_by")).c_str()
                  : "");
  std::printf("\ntimeline:\n");
  const double opened = i.value("opened_at", 0.0);
  for (const auto& e : i.value("timeline", json::array())) {
    std::printf("  %+8.1fs  %-21s %s\n", e.value("at", 0.0) - opened, Str(e, "kind").c_str(),
                Str(e, "message").c_str());
  }
  const json actions = i.value("actions", json::array());
  if (!actions.empty()) {
    std::printf("\nactions:\n");
    for (const auto& a : actions) {
      const json r = a.value("result", json::object());
      std::string what = r.is_object() ? (r.value("ok", false) ? r.value("summary", std::string())
                                                               : r.value("error", std::string()))
                                       : std::string();
      std::printf("  step %d #%d %-14s %-11s %-5s %s\n", a.value("step", 0), a.value("index", 0),
                  Str(a, "name").c_str(), Str(a, "state").c_str(),
                  a.value("dry_run", false) ? "plan" : (a.value("ok", false) ? "ok" : "FAIL"),
                  what.c_str());
    }
  }
  return kExitOk;
}

int AckIncident(const IncidentFlags& f) {
  const std::string base = AgentAddress(f.url, f.config);
  json body = json::object();
  if (!f.by.empty()) body["by"] = f.by;
  auto answer = CallApi(base, "POST", "/api/v1/incidents/" + f.id + "/ack",
                        ApiToken(f.token, f.config), body.dump());
  if (!answer) return kExitProblem;
  std::cout << "acknowledged " << f.id << "; escalation stopped\n";
  return kExitOk;
}

void CommonFlags(CLI::App* cmd, IncidentFlags* f) {
  cmd->add_option("--url", f->url, "Agent URL (default from --config, else http://127.0.0.1:9470)");
  cmd->add_option("-c,--config", f->config, "Configuration file (listen address, data_dir)");
  cmd->add_option("--token", f->token, "API token (default: $ECHOMON_TOKEN or <data_dir>/token)");
}

}  // namespace

void RegisterIncidentCommands(CLI::App& app, CommandRegistry& registry) {
  auto f = std::make_shared<IncidentFlags>();
  auto* list = app.add_subcommand("incidents", "List the incidents of a running agent");
  CommonFlags(list, f.get());
  list->add_flag("--json", f->as_json, "Print JSON");
  list->add_flag("--all", f->all, "Include closed incidents (the newest 100)");
  registry.Add(list, [f] { return ListIncidents(*f); });

  auto* incident = app.add_subcommand("incident", "Show or acknowledge one incident");
  incident->require_subcommand(1);
  auto* show = incident->add_subcommand("show", "Show an incident with its timeline and actions");
  CommonFlags(show, f.get());
  show->add_option("id", f->id, "Incident id")->required();
  show->add_flag("--json", f->as_json, "Print JSON");
  registry.Add(show, [f] { return ShowIncident(*f); });
  auto* ack = incident->add_subcommand("ack", "Acknowledge an incident (stops its escalation)");
  CommonFlags(ack, f.get());
  ack->add_option("id", f->id, "Incident id")->required();
  ack->add_option("--by", f->by, "Who acknowledges (recorded in the timeline)");
  registry.Add(ack, [f] { return AckIncident(*f); });
}

}  // namespace echomon::cli
