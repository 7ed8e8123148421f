// The incident response extension: builds the playbooks from the configuration, feeds alert
// events to the IncidentManager, ticks it, delivers its escalations through the alerting
// pipeline's notifiers, and serves the incidents API (docs/api.md, docs/incidents.md).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "monitor/alerting.h"
#include "monitor/extension.h"
#include "respond/action.h"
#include "respond/incidents/incident_manager.h"
#include "respond/incidents/playbook.h"

namespace echomon::monitor {
namespace {

using nlohmann::json;

class IncidentsExtension final : public Extension {
 public:
  std::string_view name() const override { return "incidents"; }

  Status Start(const ExtensionContext& ctx) override {
    const core::Config& c = ctx.config;
    if (manager_) {  // started again after a Stop(): same manager, same handler
      if (Status s = Reload(c); !s.ok()) return s;
      return manager_->Start();
    }
    respond::ActionLimits limits = respond::ActionLimitsFromConfig(c);
    auto playbooks = respond::BuildPlaybooks(c, &limits);
    if (!playbooks.ok()) return playbooks.status();
    respond::IncidentManagerOptions o;
    o.db_path = ctx.db_path;
    o.clock = ctx.clock;
    o.playbooks = std::move(playbooks).value();
    o.enabled = c.response.enabled;
    o.dry_run = c.response.dry_run;
    o.max_concurrent = c.response.max_concurrent;
    o.limits = std::move(limits);
    o.store = ctx.store;
    o.proc_root = c.host.proc_root;
    AlertingPipeline* alerting = ctx.alerting;
    if (alerting) {
      o.send_escalation = [alerting](const std::vector<std::string>& notifiers,
                                     const respond::EscalationMessage& m) {
        return alerting->SendToNotifiers(notifiers, m.alert, m.annotations);
      };
      o.active_fingerprints = [alerting]() -> std::optional<std::set<std::string>> {
        std::set<std::string> out;
        const json alerts = alerting->AlertsJson();
        for (const auto& a : alerts) {
          if (a.contains("fingerprint") && a["fingerprint"].is_string()) {
            out.insert(a["fingerprint"].get<std::string>());
          }
        }
        return out;
      };
      o.muted_alerts = [alerting]() {
        std::map<std::string, std::string> out;
        const json alerts = alerting->AlertsJson();
        for (const auto& a : alerts) {
          if (a.value("silenced", false) && a.contains("fingerprint") &&
              a["fingerprint"].is_string()) {
            const json& by = a["silenced_by"];
            out[a["fingerprint"].get<std::string>()] =
                by.is_string() ? by.get<std::string>() : "a silence";
          }
        }
        return out;
      };
    }
    auto manager = respond::IncidentManager::Create(std::move(o));
    if (!manager.ok()) return manager.status();
    manager_ = std::move(manager).value();
    if (Status s = manager_->Start(); !s.ok()) return s;
    respond::IncidentManager* m = manager_.get();
    if (alerting) alerting->AddHandler([m](const Alert& a) { m->OnAlert(a); });
    if (ctx.sources) {
      ctx.sources->Register("incidents.list", [m](const json& args) {
        std::string state;
        size_t limit = 100;
        if (args.is_object()) {
          if (args.contains("state") && args["state"].is_string()) state = args["state"];
          if (args.contains("limit") && args["limit"].is_number_integer() &&
              args["limit"].get<int64_t>() > 0) {
            limit = std::min<size_t>(args["limit"].get<size_t>(), 10'000);
          }
        }
        return m->ListJson(state, limit);
      });
      ctx.sources->Register("incidents.stats", [m](const json&) { return m->StatsJson(); });
    }
    return Status::Ok();
  }

  void Stop() override {
    if (manager_) manager_->Stop();
  }

  void Tick(int64_t now_ms) override {
    if (manager_) manager_->Tick(now_ms);
  }

  void AppendSelfMetrics(core::SampleBatch& out) override {
    if (manager_) manager_->AppendSelfMetrics(out);
  }

  Status Reload(const core::Config& c) override {
    if (!manager_) return Status::Ok();
    respond::ActionLimits limits = respond::ActionLimitsFromConfig(c);
    auto playbooks = respond::BuildPlaybooks(c, &limits);
    if (!playbooks.ok()) return playbooks.status();
    manager_->Reconfigure(std::move(playbooks).value(), c.response.enabled, c.response.dry_run,
                          c.response.max_concurrent, std::move(limits));
    return Status::Ok();
  }

  void AddStatus(json& status) override {
    if (!manager_) return;
    const json stats = manager_->StatsJson();
    status["incidents"] = {{"active", stats.value("active_responses", 0)},
                           {"total", stats.value("total_responses", 0)},
                           {"enabled", stats.value("enabled", false)},
                           {"dry_run", stats.value("dry_run", false)}};
  }

  std::vector<server::Route> Routes() override {
    respond::IncidentManager* m = manager_.get();
    std::vector<server::Route> routes;
    routes.push_back({"GET", "/api/v1/incidents", false, [m](const server::ApiRequest& r) {
                        std::string state;
                        size_t limit = 100;
                        if (auto it = r.params.find("state"); it != r.params.end()) {
                          state = it->second;
                          static const std::set<std::string> kStates = {
                              "active",    "closed",    "open",     "acting",
                              "verifying", "escalated", "resolved", "failed"};
                          if (!state.empty() && !kStates.count(state)) {
                            return server::ApiResponse::Error(
                                400,
                                "state: expected active, closed, open, acting, verifying, "
                                "escalated, resolved or failed");
                          }
                        }
                        if (auto it = r.params.find("limit"); it != r.params.end()) {
                          char* end = nullptr;
                          long v = std::strtol(it->second.c_str(), &end, 10);
                          if (it->second.empty() || *end != '\0' || v < 1 || v > 10000) {
                            return server::ApiResponse::Error(
                                400, "limit: expected a number from 1 to 10000");
                          }
                          limit = static_cast<size_t>(v);
                        }
                        return server::ApiResponse::Json(m->ListJson(state, limit));
                      }});
    routes.push_back(
        {"GET", "/api/v1/incidents/([A-Za-z0-9_.-]+)", false, [m](const server::ApiRequest& r) {
           auto body = m->IncidentJson(r.captures.at(0));
           if (!body.ok()) {
             return server::ApiResponse::Error(
                 body.status().code() == StatusCode::kNotFound ? 404 : 500,
                 body.status().message());
           }
           return server::ApiResponse::Json(*body);
         }});
    routes.push_back(
        {"POST", "/api/v1/incidents/([A-Za-z0-9_.-]+)/ack", true, [m](const server::ApiRequest& r) {
           std::string by = "api";
           if (!r.body.empty()) {
             json body = json::parse(r.body, nullptr, false);
             if (body.is_discarded() || !body.is_object()) {
               return server::ApiResponse::Error(
                   400, "the body must be a JSON object like {\"by\": \"alice\"}");
             }
             if (body.contains("by")) {
               if (!body["by"].is_string() || body["by"].get<std::string>().size() > 200) {
                 return server::ApiResponse::Error(
                     400, "by: expected a string of at most 200 characters");
               }
               by = body["by"].get<std::string>();
             }
           }
           const std::string id = r.captures.at(0);
           Status s = m->Acknowledge(id, by);
           if (!s.ok()) {
             return server::ApiResponse::Error(s.code() == StatusCode::kNotFound          ? 404
                                               : s.code() == StatusCode::kInvalidArgument ? 409
                                                                                          : 500,
                                               s.message());
           }
           auto body = m->IncidentJson(id);
           return server::ApiResponse::Json(body.ok() ? *body : json{{"id", id}});
         }});
    routes.push_back({"GET", "/api/v1/responses/stats", false, [m](const server::ApiRequest&) {
                        return server::ApiResponse::Json(m->StatsJson());
                      }});
    return routes;
  }

 private:
  std::unique_ptr<respond::IncidentManager> manager_;
};

}  // namespace

std::unique_ptr<Extension> MakeIncidentsExtension() {
  return std::make_unique<IncidentsExtension>();
}

}  // namespace echomon::monitor
