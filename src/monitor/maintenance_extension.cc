// Maintenance extension: runs the maintenance scheduler (src/maintenance) inside the agent.
// Serves GET /api/v1/maintenance and POST /api/v1/maintenance/{task}/run, registers the
// "maintenance.tasks" source (same JSON as the GET), and reports echomon_maintenance_*
// self-metrics. Run history lives in the agent's echomon.db (docs/maintenance.md).
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "maintenance/builtin_tasks.h"
#include "maintenance/run_history.h"
#include "maintenance/scheduler.h"
#include "monitor/extension.h"
#include "respond/action.h"

namespace echomon::monitor {
namespace {

using nlohmann::json;

class MaintenanceExtension final : public Extension {
 public:
  std::string_view name() const override { return "maintenance"; }

  Status Start(const ExtensionContext& context) override {
    context_ = context;
    if (!context.config.maintenance.enabled) return Status::Ok();
    auto history = maintenance::RunHistory::Open(context.db_path);
    if (!history.ok()) return history.status();
    history_ = std::move(history.value());
    auto tasks = Build(context.config);
    if (!tasks.ok()) return tasks.status();
    scheduler_ = std::make_unique<maintenance::MaintenanceScheduler>(context.clock, history_.get());
    Status s = scheduler_->Start(std::move(tasks.value()));
    if (!s.ok()) return s;
    if (context.sources) {
      context.sources->Register("maintenance.tasks",
                                [this](const json&) { return scheduler_->ToJson(); });
    }
    return Status::Ok();
  }

  void Stop() override {
    if (scheduler_) scheduler_->Stop();
  }

  void Tick(int64_t now_ms) override {
    if (scheduler_) scheduler_->Tick(now_ms);
  }

  void AppendSelfMetrics(core::SampleBatch& out) override {
    if (!scheduler_) return;
    scheduler_->AppendSelfMetrics(out);
    health_.AppendSelfMetrics(out);
  }

  Status Reload(const core::Config& config) override {
    if (!scheduler_) return Status::Ok();  // enabling needs a restart
    auto tasks = Build(config);
    if (!tasks.ok()) return tasks.status();
    return scheduler_->SetTasks(std::move(tasks.value()));
  }

  void AddStatus(json& status) override {
    if (!scheduler_) return;
    json tasks = scheduler_->ToJson(0)["tasks"];
    json failing = json::array();
    for (const auto& t : tasks) {
      if (t["last_result"].is_object() && !t["last_result"]["ok"].get<bool>()) {
        failing.push_back(t["name"]);
      }
    }
    status["maintenance"] = {{"tasks", tasks.size()}, {"failing", failing}};
  }

  std::vector<server::Route> Routes() override {
    return {
        server::Route{"GET", "/api/v1/maintenance", false,
                      [this](const server::ApiRequest& r) { return List(r); }},
        server::Route{"GET", "/api/v1/maintenance/([^/]+)", false,
                      [this](const server::ApiRequest& r) { return Show(r); }},
        server::Route{"POST", "/api/v1/maintenance/([^/]+)/run", true,
                      [this](const server::ApiRequest& r) { return RunNow(r); }},
    };
  }

 private:
  Result<std::vector<maintenance::MaintenanceTask>> Build(const core::Config& config) {
    maintenance::TaskDeps deps;
    deps.config = config;
    deps.limits = respond::ActionLimitsFromConfig(config);
    deps.store = context_.store;
    deps.clock = context_.clock;
    deps.data_dir = context_.data_dir;
    deps.status = context_.status;
    deps.health = &health_;
    return maintenance::BuildTasks(config.maintenance, deps);
  }

  server::ApiResponse Disabled() const {
    return server::ApiResponse::Error(404, "maintenance is disabled (maintenance.enabled: false)");
  }

  server::ApiResponse List(const server::ApiRequest& request) {
    if (!scheduler_) return Disabled();
    size_t recent = 20;
    auto it = request.params.find("recent");
    if (it != request.params.end()) {
      try {
        recent = static_cast<size_t>(std::min(1000L, std::max(0L, std::stol(it->second))));
      } catch (const std::exception&) {
        return server::ApiResponse::Error(400,
                                          "recent: expected a number, got \"" + it->second + "\"");
      }
    }
    return server::ApiResponse::Json(scheduler_->ToJson(recent));
  }

  server::ApiResponse Show(const server::ApiRequest& request) {
    if (!scheduler_) return Disabled();
    json task = scheduler_->TaskJson(request.captures.at(0));
    if (task.is_null()) {
      return server::ApiResponse::Error(404,
                                        "no maintenance task \"" + request.captures.at(0) + "\"");
    }
    json runs = json::array();
    if (history_) {
      auto recent = history_->Recent(request.captures.at(0), 20);
      if (recent.ok()) {
        for (const auto& r : recent.value()) runs.push_back(r.ToJson());
      }
    }
    task["recent_runs"] = runs;
    return server::ApiResponse::Json(task);
  }

  server::ApiResponse RunNow(const server::ApiRequest& request) {
    if (!scheduler_) return Disabled();
    auto run = scheduler_->RunNow(request.captures.at(0));
    if (!run.ok()) {
      int code = run.status().code() == StatusCode::kNotFound ? 404 : 409;
      return server::ApiResponse::Error(code, run.status().message());
    }
    return server::ApiResponse::Json(run->ToJson());
  }

  ExtensionContext context_;
  maintenance::HealthReport health_;
  std::unique_ptr<maintenance::RunHistory> history_;
  std::unique_ptr<maintenance::MaintenanceScheduler> scheduler_;
};

}  // namespace

std::unique_ptr<Extension> MakeMaintenanceExtension() {
  return std::make_unique<MaintenanceExtension>();
}

}  // namespace echomon::monitor
