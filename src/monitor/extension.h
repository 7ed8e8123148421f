// Extension: how a component of the agent (incident response, maintenance, push API, GPUs,
// remote write, dashboard, reports...) plugs into the Monitor without the Monitor knowing it.
//
// The Monitor creates every extension listed in MakeExtensions() (extensions.cc) when it is
// created, starts them in Start() after the store and the alerting pipeline exist and before
// the HTTP server starts (so their routes are served), calls Tick() on the collection thread
// after each tick's samples are stored and the rules evaluated, hands every configuration
// reload to Reload(), and stops them in reverse order in Stop() before the store is flushed.
//
// Extensions find each other's data through ExtensionContext::sources: named JSON producers
// (e.g. "incidents.stats") an extension may register in Start() and others may call later.
//
// Thread-safety: Start/Stop/Reload are called from the thread that calls the Monitor's
// methods; Tick from the collection thread; Routes' handlers and sources from HTTP threads.
// An extension guards its own state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "collect/collector.h"
#include "core/config.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"
#include "server/http_server.h"
#include "store/series_store.h"

namespace echomon::monitor {

class AlertingPipeline;

// Named JSON producers shared between extensions. Thread-safe.
class SourceRegistry {
 public:
  using Producer = std::function<nlohmann::json(const nlohmann::json& args)>;
  void Register(const std::string& name, Producer producer) {
    std::lock_guard<std::mutex> lock(mu_);
    producers_[name] = std::move(producer);
  }
  // Null when no producer has that name.
  nlohmann::json Call(const std::string& name, const nlohmann::json& args = {}) const {
    Producer p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = producers_.find(name);
      if (it == producers_.end()) return nullptr;
      p = it->second;
    }
    return p(args);
  }
  bool Has(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    return producers_.count(name) > 0;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Producer> producers_;
};

struct ExtensionContext {
  core::Config config;                  // the configuration at start
  store::SeriesStore* store = nullptr;  // thread-safe
  Clock* clock = nullptr;
  collect::CollectorRunner* runner = nullptr;  // Add/Remove collectors (thread-safe)
  AlertingPipeline* alerting = nullptr;        // AddHandler, AlertsJson, ...
  std::string db_path;   // <data_dir>/echomon.db; empty when persistence is off
  std::string data_dir;  // empty when persistence is off
  std::string token;     // the API token
  SourceRegistry* sources = nullptr;
  std::function<nlohmann::json()> status;  // the agent's /api/v1/status body
};

class Extension {
 public:
  virtual ~Extension() = default;
  virtual std::string_view name() const = 0;
  // Called once from Monitor::Start(). A failure fails Start() with this status.
  virtual Status Start(const ExtensionContext& context) = 0;
  // Stops background work. Called once from Monitor::Stop() (also after a failed Start).
  virtual void Stop() {}
  // Called on the collection thread after every tick, at the tick's time.
  virtual void Tick(int64_t /*now_ms*/) {}
  // Appends self-metrics, stored with the next tick's samples.
  virtual void AppendSelfMetrics(core::SampleBatch& /*out*/) {}
  // HTTP endpoints; asked once, after Start() succeeded.
  virtual std::vector<server::Route> Routes() { return {}; }
  // Applies a reloaded configuration; on error the old one stays in force.
  virtual Status Reload(const core::Config& /*config*/) { return Status::Ok(); }
  // Adds this extension's part to the /api/v1/status body (e.g. status["gpus"] = ...).
  virtual void AddStatus(nlohmann::json& /*status*/) {}
};

// Every extension the agent runs, in start order (extensions.cc).
std::vector<std::unique_ptr<Extension>> MakeExtensions(const core::Config& config);

}  // namespace echomon::monitor
