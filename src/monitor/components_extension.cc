// Custom components (docs/components.md): the push API (POST /api/v1/push), the exec
// collectors configured under components.exec, and the components' status in /api/v1/status,
// GET /api/v1/components and the SourceRegistry producer "components.status".
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "collect/push/component_registry.h"
#include "collect/push/components_collector.h"
#include "monitor/extension.h"

namespace echomon::monitor {
namespace {

using collect::push::ComponentRegistry;
using collect::push::ComponentsCollector;
using collect::push::ComponentSource;
using collect::push::ExecSpec;
using collect::push::PushLimits;

PushLimits LimitsOf(const core::Config& c) {
  PushLimits l;
  l.max_body_bytes = static_cast<size_t>(c.components.push.max_body_bytes);
  l.max_series_per_component = static_cast<size_t>(c.components.push.max_series_per_component);
  l.max_labels_per_series = static_cast<size_t>(c.components.push.max_labels_per_series);
  l.max_components = static_cast<size_t>(c.components.push.max_components);
  l.staleness_ms = c.components.push.staleness_ms;
  return l;
}

std::vector<ExecSpec> ExecSpecsOf(const core::Config& c) {
  std::vector<ExecSpec> out;
  for (const auto& e : c.components.exec) {
    ExecSpec s;
    s.name = e.name;
    s.program.argv = e.argv;
    s.program.env = e.env;
    s.program.timeout_ms = e.timeout_ms;
    s.program.max_output_bytes = static_cast<size_t>(e.max_output_bytes);
    s.interval_ms = e.interval_ms > 0 ? e.interval_ms : c.interval_ms;
    for (const auto& [k, v] : e.labels) s.labels.Set(k, v);
    out.push_back(std::move(s));
  }
  return out;
}

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kResourceExhausted:
      return 422;
    default:
      return 400;
  }
}

class ComponentsExtension final : public Extension {
 public:
  std::string_view name() const override { return "components"; }

  Status Start(const ExtensionContext& context) override {
    context_ = context;
    registry_ = std::make_shared<ComponentRegistry>(context.clock, LimitsOf(context.config));
    push_enabled_ = context.config.components.push.enabled;
    InstallCollector(context.config);
    std::shared_ptr<ComponentRegistry> registry = registry_;
    context.sources->Register("components.status",
                              [registry](const nlohmann::json&) { return registry->StatusJson(); });
    return Status::Ok();
  }

  void Stop() override {
    if (context_.runner != nullptr) context_.runner->Remove("components");
  }

  Status Reload(const core::Config& config) override {
    registry_->SetLimits(LimitsOf(config));
    push_enabled_ = config.components.push.enabled;
    std::set<std::string> exec_names;
    for (const auto& e : config.components.exec) exec_names.insert(e.name);
    for (const auto& name : registry_->Names(ComponentSource::kExec)) {
      if (exec_names.count(name) == 0) registry_->Remove(name);
    }
    InstallCollector(config);
    return Status::Ok();
  }

  void AddStatus(nlohmann::json& status) override {
    status["components"] = registry_->StatusJson();
  }

  std::vector<server::Route> Routes() override {
    std::vector<server::Route> routes;
    routes.push_back({"POST", "/api/v1/push", true,
                      [this](const server::ApiRequest& r) { return HandlePush(r); }});
    routes.push_back(
        {"DELETE", "/api/v1/push/([A-Za-z0-9_.:-]+)", true, [this](const server::ApiRequest& r) {
           const std::string& name = r.captures.at(0);
           for (const auto& n : registry_->Names(ComponentSource::kExec)) {
             if (n == name) {
               return server::ApiResponse::Error(409,
                                                 "component '" + name +
                                                     "' is an exec component; remove it from the "
                                                     "configuration instead");
             }
           }
           if (!registry_->Remove(name)) {
             return server::ApiResponse::Error(404, "no component named '" + name + "'");
           }
           return server::ApiResponse::Json({{"deleted", name}});
         }});
    routes.push_back({"GET", "/api/v1/components", false, [this](const server::ApiRequest&) {
                        return server::ApiResponse::Json(registry_->StatusJson());
                      }});
    return routes;
  }

 private:
  void InstallCollector(const core::Config& config) {
    context_.runner->Add(
        std::make_unique<ComponentsCollector>(registry_, ExecSpecsOf(config), context_.clock));
  }

  server::ApiResponse HandlePush(const server::ApiRequest& r) {
    if (!push_enabled_) {
      return server::ApiResponse::Error(
          404, "the push API is disabled (components.push.enabled: false)");
    }
    std::string component;
    if (auto it = r.params.find("component"); it != r.params.end()) component = it->second;
    std::string content_type;
    if (auto it = r.headers.find("content-type"); it != r.headers.end()) content_type = it->second;
    std::string media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    for (auto& ch : media) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const PushLimits limits = registry_->limits();
    if (r.body.size() > limits.max_body_bytes) {
      std::string message = "body of " + std::to_string(r.body.size()) +
                            " bytes exceeds components.push.max_body (" +
                            std::to_string(limits.max_body_bytes) + " bytes)";
      registry_->RecordPushError(component, message);
      return server::ApiResponse::Error(413, message);
    }
    const bool is_json = media == "application/json";
    if (!is_json && !media.empty() && media != "text/plain" &&
        media != "application/openmetrics-text") {
      std::string message = "unsupported Content-Type '" + content_type +
                            "' (use application/json, text/plain or "
                            "application/openmetrics-text)";
      registry_->RecordPushError(component, message);
      return server::ApiResponse::Error(415, message);
    }
    Result<size_t> pushed = is_json ? registry_->PushJson(r.body, component)
                                    : registry_->PushText(r.body, content_type, component);
    if (!pushed.ok())
      return server::ApiResponse::Error(HttpStatusFor(pushed.status()), pushed.status().message());
    return server::ApiResponse::Json({{"accepted", *pushed}});
  }

  ExtensionContext context_;
  std::shared_ptr<ComponentRegistry> registry_;
  std::atomic<bool> push_enabled_{true};
};

}  // namespace

std::unique_ptr<Extension> MakeComponentsExtension() {
  return std::make_unique<ComponentsExtension>();
}

}  // namespace echomon::monitor
