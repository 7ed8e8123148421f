// Report extension: serves GET /api/v1/report (docs/reports.md), built on request from the
// store, the agent's status, the alert journal and the other extensions' sources
// ("components.status", "incidents.stats", "incidents.list").
#include <exception>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "monitor/alerting.h"
#include "monitor/extension.h"
#include "report/report.h"

namespace echomon::monitor {
namespace {

using nlohmann::json;

constexpr size_t kHistoryLimit = 100'000;                   // alert transitions read per report
constexpr int kIncidentLimit = 1000;                        // incidents read per report
constexpr int64_t kMaxWindowMs = 366LL * 24 * 3600 * 1000;  // ?since= at most a year

// A source's answer, or null when it is absent or fails (a report never fails for that).
json CallSource(const SourceRegistry* sources, const std::string& name, const json& args) {
  if (sources == nullptr) return nullptr;
  try {
    return sources->Call(name, args);
  } catch (const std::exception&) {
    return nullptr;
  }
}

class ReportExtension final : public Extension {
 public:
  std::string_view name() const override { return "report"; }

  Status Start(const ExtensionContext& context) override {
    context_ = context;
    std::lock_guard<std::mutex> lock(mu_);
    config_ = context.config.report;
    return Status::Ok();
  }

  Status Reload(const core::Config& config) override {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = config.report;
    return Status::Ok();
  }

  std::vector<server::Route> Routes() override {
    return {server::Route{"GET", "/api/v1/report", false,
                          [this](const server::ApiRequest& r) { return Handle(r); }}};
  }

 private:
  server::ApiResponse Handle(const server::ApiRequest& request) {
    core::ReportConfig config;
    {
      std::lock_guard<std::mutex> lock(mu_);
      config = config_;
    }
    std::string format = "json";
    if (auto it = request.params.find("format"); it != request.params.end()) format = it->second;
    if (format != "json" && format != "html") {
      return server::ApiResponse::Error(
          400, "parameter 'format': expected json or html, got '" + format + "'");
    }
    int64_t window_ms = config.window_ms;
    if (auto it = request.params.find("since"); it != request.params.end() && !it->second.empty()) {
      std::string text = it->second;
      if (text[0] == '-') text.erase(0, 1);  // "-24h" as the query API writes it
      int64_t ms = 0;
      if (!core::ParseDurationMs(text, &ms) || ms <= 0 || ms > kMaxWindowMs) {
        return server::ApiResponse::Error(
            400,
            "parameter 'since': expected a positive duration of at most 366d such as 24h, got '" +
                it->second + "'");
      }
      window_ms = ms;
    }
    report::ReportOptions options;
    options.now_ms = context_.clock->NowMillis();
    options.window_ms = window_ms;
    options.latency_p95_ms = config.latency_p95_ms;
    options.min_tokens_per_second = config.min_tokens_per_second;
    const int64_t start_ms = options.now_ms - window_ms;

    report::ReportInputs in;
    in.store = context_.store;
    in.status = context_.status ? context_.status() : json::object();
    if (context_.alerting != nullptr) {
      in.active_alerts = context_.alerting->AlertsJson();
      in.alert_history = context_.alerting->HistoryJson(start_ms, kHistoryLimit);
      in.alert_history_truncated = in.alert_history.size() >= kHistoryLimit;
    }
    in.components = CallSource(context_.sources, "components.status", json::object());
    in.incident_stats = CallSource(context_.sources, "incidents.stats", json::object());
    // Newest first; the report keeps those of the window.
    in.incidents =
        CallSource(context_.sources, "incidents.list", {{"state", ""}, {"limit", kIncidentLimit}});

    const json doc = report::BuildReport(in, options);
    if (format == "json") return server::ApiResponse::Json(doc);
    server::ApiResponse response;
    response.body = report::RenderHtml(doc);
    response.content_type = "text/html; charset=utf-8";
    return response;
  }

  ExtensionContext context_;
  std::mutex mu_;
  core::ReportConfig config_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Extension> MakeReportExtension() { return std::make_unique<ReportExtension>(); }

}  // namespace echomon::monitor
