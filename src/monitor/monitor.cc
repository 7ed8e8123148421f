#include "echomon/monitor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "collect/collector.h"
#include "collect/scrape/engine_profile.h"
#include "collect/scrape/scrape_collector.h"
#include "core/config.h"
#include "core/log.h"
#include "echomon/version.h"
#include "monitor/alerting.h"
#include "monitor/anomaly_watch.h"
#include "monitor/extension.h"
#include "server/http_server.h"
#include "store/series_store.h"

namespace echomon {
namespace {

using nlohmann::json;

// The series GetPerformanceSummary() always reports (when they exist), besides every
// registered collector's series.
struct KeyMetric {
  const char* name;
  const char* label_name;  // nullptr: no label constraint
  const char* label_value;
};
constexpr KeyMetric kKeyMetrics[] = {
    {"echomon_cpu_usage_percent", "cpu", "total"},
    {"echomon_memory_used_percent", nullptr, nullptr},
    {"echomon_swap_used_percent", nullptr, nullptr},
    {"echomon_load1", nullptr, nullptr},
    {"echomon_filesystem_usage_percent", "mount", "/"},
    {"echomon_self_resident_memory_bytes", nullptr, nullptr},
};

std::map<std::string, std::string> LabelMap(const core::Labels& labels) {
  std::map<std::string, std::string> out;
  for (const auto& l : labels.items()) out.emplace(l.name, l.value);
  return out;
}

std::string RandomToken() {
  unsigned char bytes[16] = {};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, bytes, sizeof(bytes));
    (void)n;
    ::close(fd);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

void ApplyOverrides(const MonitorOptions& o, core::Config* c) {
  if (o.listen) c->server.listen = *o.listen;
  if (o.data_dir) c->storage.data_dir = std::filesystem::absolute(*o.data_dir).lexically_normal();
  if (o.persist) c->storage.persist = *o.persist;
  if (o.interval_ms) c->interval_ms = *o.interval_ms;
  if (o.proc_root) c->host.proc_root = *o.proc_root;
}

std::unique_ptr<monitor::AnomalyWatch> MakeAnomalyWatch(const core::Config& c,
                                                        const store::SeriesStore* store) {
  if (!c.anomaly.enabled) return nullptr;
  monitor::AnomalyWatchOptions o;
  o.threshold = c.anomaly.threshold;
  o.detector.warmup_points = c.anomaly.warmup;
  if (!c.anomaly.watch_set) {
    o.watch = monitor::DefaultWatchedSeries();
  } else {
    for (const auto& [metric, labels] : c.anomaly.watch) {
      monitor::WatchSelector sel;
      sel.metric = metric;
      std::string error;
      core::ParseLabelMatchers(labels, &sel.matchers, &error);  // validated by the loader
      o.watch.push_back(std::move(sel));
    }
  }
  return std::make_unique<monitor::AnomalyWatch>(store, std::move(o));
}

bool SameAnomalySettings(const core::AnomalyWatchConfig& a, const core::AnomalyWatchConfig& b) {
  return a.enabled == b.enabled && a.watch_set == b.watch_set && a.watch == b.watch &&
         a.threshold == b.threshold && a.warmup == b.warmup;
}

collect::ScrapeTarget ToTarget(const core::ScrapeTargetConfig& t) {
  collect::ScrapeTarget out;
  out.name = t.name;
  out.url = t.url;
  out.timeout_ms = t.timeout_ms;
  out.headers = t.headers;
  for (const auto& [k, v] : t.labels) out.extra_labels.Set(k, v);
  out.drop_labels = t.drop_labels;
  out.sample_limit = static_cast<size_t>(t.sample_limit);
  out.interval_ms = t.interval_ms;
  return out;
}

// The collectors for the configured scrape targets, plus a local engine found on the default
// ports (Aphrodite 2242, vLLM 8000) when no engine target is configured. A missing engine is
// logged once, not reported as zeros.
std::vector<std::unique_ptr<collect::Collector>> MakeScrapeCollectors(const core::Config& c,
                                                                      Clock* clock) {
  std::vector<std::unique_ptr<collect::Collector>> out;
  bool engine_configured = false;
  for (const auto& t : c.scrape.targets) {
    if (t.kind == "engine") {
      engine_configured = true;
      out.push_back(std::make_unique<collect::EngineCollector>(ToTarget(t), clock));
    } else {
      out.push_back(std::make_unique<collect::ScrapeCollector>(ToTarget(t), clock));
    }
  }
  if (!engine_configured && c.scrape.engine_discovery) {
    bool found = false;
    for (int port : {2242, 8000}) {
      collect::ScrapeTarget probe;
      probe.name = "local:" + std::to_string(port);
      probe.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
      probe.timeout_ms = 300;
      auto fetched = collect::FetchExposition(probe);
      if (!fetched.ok()) continue;
      bool engine = false;
      for (const auto& f : fetched->families) {
        engine = engine || f.name.rfind("vllm:", 0) == 0 || f.name.rfind("aphrodite:", 0) == 0;
      }
      if (!engine) continue;
      spdlog::info("found an inference engine at {}", probe.url);
      probe.timeout_ms = 2000;
      out.push_back(std::make_unique<collect::EngineCollector>(probe, clock));
      found = true;
    }
    if (!found) {
      core::WarnOnce("engine.discovery",
                     "no inference engine found on 127.0.0.1:2242 (Aphrodite) or :8000 (vLLM); "
                     "configure scrape.targets with kind: engine to monitor one elsewhere");
    }
  }
  return out;
}

collect::HostOptions HostOptionsFrom(const core::Config& c) {
  collect::HostOptions h;
  h.proc_root = c.host.proc_root;
  h.sys_root = c.host.sys_root;
  h.per_core = c.host.per_core;
  h.exclude_fs_types = c.host.exclude_fs_types;
  h.exclude_interfaces = c.host.exclude_interfaces;
  return h;
}

Result<core::Config> LoadConfig(const MonitorOptions& options) {
  core::ConfigLoadResult loaded;
  if (options.config_file.empty()) {
    loaded.config = core::DefaultConfig();
  } else {
    loaded = core::LoadConfigFile(options.config_file);
  }
  if (!loaded.ok()) {
    std::string message = "invalid configuration:";
    for (const auto& e : loaded.errors) message += "\n  " + e.ToString();
    return Status::InvalidArgument(message);
  }
  for (const auto& w : loaded.warnings) spdlog::warn("config: {}", w);
  ApplyOverrides(options, &loaded.config);
  std::string host;
  int port = 0;
  if (!server::SplitHostPort(loaded.config.server.listen, &host, &port)) {
    return Status::InvalidArgument("listen address '" + loaded.config.server.listen +
                                   "' is not host:port (e.g. 127.0.0.1:9470)");
  }
  if (!server::IsLoopbackHost(host) && loaded.config.server.token.empty()) {
    return Status::InvalidArgument("listening on " + loaded.config.server.listen +
                                   " (beyond loopback) requires server.token in the configuration");
  }
  if (loaded.config.interval_ms < 10) {
    return Status::InvalidArgument("the collection interval must be at least 10ms");
  }
  auto problems = monitor::AlertingConfigProblems(loaded.config);
  if (!problems.empty()) {
    std::string message = "invalid configuration:";
    for (const auto& p : problems) message += "\n  " + p;
    return Status::InvalidArgument(message);
  }
  return loaded.config;
}

}  // namespace

struct Monitor::Impl {
  MonitorOptions options;
  Clock* clock = nullptr;
  core::Config config;  // guarded by config_mu
  mutable std::mutex config_mu;
  std::unique_ptr<store::SeriesStore> store;
  std::unique_ptr<collect::CollectorRunner> runner;
  std::unique_ptr<server::HttpServer> server;
  std::string token;

  std::mutex tick_mu;  // serialises CollectOnce
  core::SampleBatch batch;
  int64_t last_checkpoint_ms = 0;

  std::mutex loop_mu;
  std::condition_variable loop_cv;
  bool stop_requested = false;
  std::thread loop;
  std::atomic<bool> running{false};
  std::atomic<bool> store_open{false};
  int64_t start_ms = 0;

  std::unique_ptr<monitor::AlertingPipeline> alerting;  // created by Start()
  std::unique_ptr<monitor::AnomalyWatch> anomaly;       // guarded by tick_mu
  core::SampleBatch anomaly_batch;

  std::mutex handlers_mu;
  std::vector<AlertHandler> alert_handlers;
  std::vector<std::string> callback_names;  // guarded by handlers_mu

  std::vector<core::RuleConfig> code_rules;  // from AddRule; guarded by config_mu

  // Components plugged in through monitor/extension.h; the list is fixed at Create().
  std::vector<std::unique_ptr<monitor::Extension>> extensions;
  size_t extensions_started = 0;  // the first N of extensions were started
  monitor::SourceRegistry sources;

  // The configuration with the rules added in code (they replace configured ones by name).
  static core::Config WithRules(core::Config c, const std::vector<core::RuleConfig>& extra) {
    for (const auto& r : extra) {
      auto& rules = c.alerting.rules;
      auto same = std::find_if(rules.begin(), rules.end(),
                               [&](const core::RuleConfig& o) { return o.name == r.name; });
      if (same != rules.end()) {
        *same = r;
      } else {
        rules.push_back(r);
      }
    }
    return c;
  }

  core::Config Config() const {
    std::lock_guard<std::mutex> lock(config_mu);
    return config;
  }

  std::vector<std::string> host_collector_names;  // guarded by tick_mu after Start
  std::vector<std::string> scrape_collector_names;

  void AddScrapeCollectors(const core::Config& c) {
    for (auto& col : MakeScrapeCollectors(c, clock)) {
      scrape_collector_names.emplace_back(col->name());
      runner->Add(std::move(col));
    }
  }

  void AddHostCollectors(const core::Config& c) {
    for (auto& col : collect::MakeHostCollectors(HostOptionsFrom(c))) {
      host_collector_names.emplace_back(col->name());
      runner->Add(std::move(col));
    }
  }

  void AppendSelfMetrics(core::SampleBatch& out) {
    const store::StoreStats s = store->Stats();
    auto gauge = [&](const char* name, const char* help, double v) {
      out.push_back(core::Sample{name, {}, v, core::MetricType::kGauge, help});
    };
    auto counter = [&](const char* name, const char* help, double v) {
      out.push_back(core::Sample{name, {}, v, core::MetricType::kCounter, help});
    };
    gauge("echomon_store_series", "Series held by the store.", static_cast<double>(s.series));
    gauge("echomon_store_samples", "Samples held in memory by the store.",
          static_cast<double>(s.samples));
    gauge("echomon_store_memory_bytes", "Memory used by the store's chunks and index.",
          static_cast<double>(s.memory_bytes));
    counter("echomon_store_samples_appended_total", "Samples appended to the store.",
            static_cast<double>(s.samples_appended));
    counter("echomon_store_chunks_persisted_total", "Sealed chunks written to the database.",
            static_cast<double>(s.chunks_persisted));
    counter("echomon_store_chunks_evicted_total",
            "Chunks dropped from memory by retention or the memory budget.",
            static_cast<double>(s.chunks_evicted));
    counter("echomon_store_append_errors_total", "Samples rejected by the store.",
            static_cast<double>(s.append_errors));
    counter("echomon_store_persist_errors_total", "Failed writes to the database.",
            static_cast<double>(s.persist_errors));
    gauge("echomon_start_time_seconds", "Unix time the agent started.",
          static_cast<double>(start_ms) / 1000.0);
    out.push_back(core::Sample{"echomon_build_info", core::Labels{{"version", kVersion}}, 1,
                               core::MetricType::kGauge, "echomon build information (always 1)."});
  }

  void Tick() {
    std::lock_guard<std::mutex> lock(tick_mu);
    const core::Config c = Config();
    const int64_t t = clock->NowMillis();
    batch.clear();
    runner->RunOnce(batch);
    AppendSelfMetrics(batch);
    if (alerting) alerting->AppendSelfMetrics(batch);
    for (size_t i = 0; i < extensions_started; ++i) extensions[i]->AppendSelfMetrics(batch);
    store->AppendBatch(batch, t);
    if (anomaly) {
      anomaly_batch.clear();
      anomaly->Update(t, anomaly_batch);
      store->AppendBatch(anomaly_batch, t);
    }
    store->EnforceRetention(t);
    if (alerting) alerting->Evaluate(t);
    for (size_t i = 0; i < extensions_started; ++i) extensions[i]->Tick(t);
    if (store_open && c.storage.persist &&
        t - last_checkpoint_ms >= c.storage.checkpoint_interval_ms) {
      Status s = store->Checkpoint();
      if (!s.ok()) {
        core::WarnOnce("store.checkpoint", "store checkpoint failed: " + s.ToString());
      } else {
        core::ResetOnce("store.checkpoint");
      }
      last_checkpoint_ms = t;
    }
  }

  void Loop() {
    while (true) {
      const int64_t interval = std::max<int64_t>(Config().interval_ms, 10);
      const int64_t now = clock->NowMillis();
      const int64_t next = (now / interval + 1) * interval;  // aligned to the interval
      std::unique_lock<std::mutex> lock(loop_mu);
      if (loop_cv.wait_for(lock, std::chrono::milliseconds(next - now),
                           [this] { return stop_requested; })) {
        return;
      }
      lock.unlock();
      Tick();
    }
  }

  json StatusJson() const {
    const core::Config c = Config();
    const int64_t now = clock->NowMillis();
    json collectors = json::array();
    for (const auto& h : runner->Health()) {
      collectors.push_back({{"name", h.name},
                            {"healthy", h.healthy},
                            {"last_run", static_cast<double>(h.last_run_ms) / 1000.0},
                            {"last_duration_ms", static_cast<double>(h.last_duration_us) / 1000.0},
                            {"runs", h.runs},
                            {"errors", h.errors},
                            {"timeouts", h.timeouts},
                            {"samples", h.last_samples},
                            {"last_error", h.last_error}});
    }
    const store::StoreStats s = store->Stats();
    json alerts = {{"firing", 0}, {"pending", 0}, {"silenced", 0}};
    json notifiers = json::array();
    if (alerting) {
      for (const auto& a : alerting->AlertsJson()) {
        alerts[a["state"].get<std::string>()] =
            alerts[a["state"].get<std::string>()].get<int>() + 1;
        if (a["silenced"].get<bool>()) alerts["silenced"] = alerts["silenced"].get<int>() + 1;
      }
      notifiers = alerting->NotifiersJson();
    }
    json out = {
        {"version", kVersion},
        {"alerts", std::move(alerts)},
        {"notifiers", std::move(notifiers)},
        {"monitoring", running.load()},
        {"started_at", static_cast<double>(start_ms) / 1000.0},
        {"uptime_seconds", start_ms > 0 ? static_cast<double>(now - start_ms) / 1000.0 : 0.0},
        {"interval_ms", c.interval_ms},
        {"config", c.source.empty() ? "<built-in>" : c.source},
        {"data_dir", c.storage.persist ? c.storage.data_dir : ""},
        {"collectors", std::move(collectors)},
        {"store",
         {{"series", s.series},
          {"samples", s.samples},
          {"samples_appended", s.samples_appended},
          {"memory_bytes", s.memory_bytes},
          {"memory_budget_bytes", c.storage.max_memory_bytes},
          {"retention_seconds", c.storage.retention_ms / 1000},
          {"chunks_in_memory", s.chunks_in_memory},
          {"chunks_persisted", s.chunks_persisted},
          {"chunks_evicted", s.chunks_evicted},
          {"append_errors", s.append_errors},
          {"persist_errors", s.persist_errors},
          {"oldest", static_cast<double>(s.oldest_ms) / 1000.0}}}};
    for (size_t i = 0; i < extensions_started; ++i) extensions[i]->AddStatus(out);
    return out;
  }
};

Monitor::Monitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Monitor::~Monitor() { Stop(); }

Result<std::unique_ptr<Monitor>> Monitor::Create(const MonitorOptions& options) {
  Result<core::Config> config = LoadConfig(options);
  if (!config.ok()) return config.status();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = options.clock ? options.clock : SystemClock::Get();
  impl->config = std::move(config).value();
  const core::Config& c = impl->config;
  core::SetLogLevel(c.log_level);
  store::StoreOptions so;
  so.retention_ms = c.storage.retention_ms;
  so.max_memory_bytes = c.storage.max_memory_bytes;
  if (c.storage.persist) so.data_dir = c.storage.data_dir;
  impl->store = std::make_unique<store::SeriesStore>(so);
  impl->runner = std::make_unique<collect::CollectorRunner>(
      impl->clock, collect::RunnerOptions{c.EffectiveCollectorTimeoutMs()});
  if (c.host.enabled) impl->AddHostCollectors(c);
  impl->AddScrapeCollectors(c);
  impl->token = c.server.token.empty() ? RandomToken() : c.server.token;
  impl->anomaly = MakeAnomalyWatch(c, impl->store.get());
  impl->extensions = monitor::MakeExtensions(c);
  return std::unique_ptr<Monitor>(new Monitor(std::move(impl)));
}

Status Monitor::Start() {
  Impl& d = *impl_;
  if (d.running) return Status::Ok();
  const core::Config c = d.Config();
  d.start_ms = d.clock->NowMillis();
  if (c.storage.persist && !d.store_open) {
    std::error_code ec;
    std::filesystem::create_directories(c.storage.data_dir, ec);
    if (ec) {
      return Status::IoError("cannot create data directory " + c.storage.data_dir + ": " +
                             ec.message());
    }
    Status s = d.store->Open(d.start_ms);
    if (!s.ok()) return s;
    d.store_open = true;
    d.last_checkpoint_ms = d.start_ms;
    if (c.server.token.empty()) {
      const std::string path = c.storage.data_dir + "/token";
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0) {
        std::string line = d.token + "\n";
        ssize_t n = ::write(fd, line.data(), line.size());
        (void)n;
        ::close(fd);
      } else {
        spdlog::warn("cannot write the API token to {}", path);
      }
    }
  }
  if (!d.alerting) {
    const std::string db = c.storage.persist ? c.storage.data_dir + "/echomon.db" : std::string();
    core::Config with_rules;
    {
      std::lock_guard<std::mutex> lock(d.config_mu);
      with_rules = Impl::WithRules(c, d.code_rules);
    }
    auto pipeline = monitor::AlertingPipeline::Create(with_rules, d.store.get(), d.clock, db,
                                                      "http://" + c.server.listen);
    if (!pipeline.ok()) return pipeline.status();
    d.alerting = std::move(pipeline).value();
    std::lock_guard<std::mutex> lock(d.handlers_mu);
    for (const auto& h : d.alert_handlers) d.alerting->AddHandler(h);
  }
  if (Status s = d.alerting->Start(); !s.ok()) return s;
  if (d.extensions_started == 0) {
    monitor::ExtensionContext ctx;
    ctx.config = c;
    ctx.store = d.store.get();
    ctx.clock = d.clock;
    ctx.runner = d.runner.get();
    ctx.alerting = d.alerting.get();
    if (c.storage.persist) {
      ctx.db_path = c.storage.data_dir + "/echomon.db";
      ctx.data_dir = c.storage.data_dir;
    }
    ctx.token = d.token;
    ctx.sources = &d.sources;
    ctx.status = [&d] { return d.StatusJson(); };
    for (auto& ext : d.extensions) {
      Status s = ext->Start(ctx);
      if (!s.ok()) {
        for (size_t i = d.extensions_started; i-- > 0;) d.extensions[i]->Stop();
        d.extensions_started = 0;
        return Status(s.code(), std::string(ext->name()) + ": " + s.message());
      }
      ++d.extensions_started;
    }
  }
  if (d.options.serve_http) {
    server::ServerOptions so;
    so.listen = c.server.listen;
    so.token = d.token;
    std::string host;
    int port = 0;
    server::SplitHostPort(c.server.listen, &host, &port);
    so.require_token_for_reads = !server::IsLoopbackHost(host);
    so.staleness_ms = 3 * c.interval_ms + c.EffectiveCollectorTimeoutMs();
    // The push API judges its own bodies against components.push.max_body (JSON 413).
    so.max_body_bytes =
        std::max<size_t>(1 << 20, static_cast<size_t>(c.components.push.max_body_bytes));
    server::ServerHooks hooks;
    hooks.status = [&d] { return d.StatusJson(); };
    hooks.reload = [this] { return Reload(); };
    monitor::AlertingPipeline* a = d.alerting.get();
    hooks.alerts = [a] { return a->AlertsJson(); };
    hooks.alert_history = [a](int64_t since, size_t limit) { return a->HistoryJson(since, limit); };
    hooks.rules = [a] { return a->RulesJson(); };
    hooks.silences = [a](bool all) { return a->SilencesJson(all); };
    hooks.create_silence = [a](const json& body) { return a->CreateSilence(body); };
    hooks.expire_silence = [a](const std::string& id) { return a->ExpireSilence(id); };
    hooks.notifiers = [a] { return a->NotifiersJson(); };
    for (size_t i = 0; i < d.extensions_started; ++i) {
      for (auto& route : d.extensions[i]->Routes()) hooks.routes.push_back(std::move(route));
    }
    d.server = std::make_unique<server::HttpServer>(d.store.get(), d.clock, so, std::move(hooks));
    Status s = d.server->Start();
    if (!s.ok()) {
      d.server.reset();
      return s;
    }
  }
  d.running = true;
  if (d.options.run_loop) {
    {
      std::lock_guard<std::mutex> lock(d.loop_mu);
      d.stop_requested = false;
    }
    d.loop = std::thread([&d] { d.Loop(); });
  }
  return Status::Ok();
}

void Monitor::Stop() {
  Impl& d = *impl_;
  if (d.loop.joinable()) {
    {
      std::lock_guard<std::mutex> lock(d.loop_mu);
      d.stop_requested = true;
    }
    d.loop_cv.notify_all();
    d.loop.join();
  }
  if (d.server) {
    d.server->Stop();
    d.server.reset();
  }
  for (size_t i = d.extensions_started; i-- > 0;) d.extensions[i]->Stop();
  d.extensions_started = 0;
  if (d.alerting) d.alerting->Stop();
  if (d.store_open) {
    std::lock_guard<std::mutex> lock(d.tick_mu);
    Status s = d.store->Flush();
    if (!s.ok()) spdlog::error("flushing history failed: {}", s.ToString());
  }
  d.running = false;
}

bool Monitor::is_monitoring() const { return impl_->running; }

Status Monitor::Reload() {
  Impl& d = *impl_;
  const core::Config old = d.Config();
  if (old.source.empty() && d.options.config_file.empty()) {
    return Status::InvalidArgument("running with the built-in configuration: nothing to reload");
  }
  Result<core::Config> loaded = LoadConfig(d.options);
  if (!loaded.ok()) return loaded.status();
  core::Config next = std::move(loaded).value();
  if (next.server.listen != old.server.listen) {
    spdlog::warn("config reload: server.listen changed; takes effect after a restart");
    next.server.listen = old.server.listen;
  }
  if (next.storage.data_dir != old.storage.data_dir ||
      next.storage.persist != old.storage.persist) {
    spdlog::warn("config reload: storage.data_dir/persist changed; takes effect after a restart");
    next.storage.data_dir = old.storage.data_dir;
    next.storage.persist = old.storage.persist;
  }
  if (d.alerting) {
    std::vector<core::RuleConfig> extra;
    {
      std::lock_guard<std::mutex> lock(d.config_mu);
      extra = d.code_rules;
    }
    if (Status s = d.alerting->Reload(Impl::WithRules(next, extra)); !s.ok()) return s;
  }
  for (size_t i = 0; i < d.extensions_started; ++i) {
    if (Status s = d.extensions[i]->Reload(next); !s.ok()) {
      return Status(s.code(), std::string(d.extensions[i]->name()) + ": " + s.message());
    }
  }
  core::SetLogLevel(next.log_level);
  d.runner->SetTimeout(next.EffectiveCollectorTimeoutMs());
  {
    std::lock_guard<std::mutex> lock(d.tick_mu);
    if (!SameAnomalySettings(old.anomaly, next.anomaly)) {
      d.anomaly = MakeAnomalyWatch(next, d.store.get());  // detectors learn afresh
    }
    for (const auto& name : d.scrape_collector_names) d.runner->Remove(name);
    d.scrape_collector_names.clear();
    d.AddScrapeCollectors(next);
    for (const auto& name : d.host_collector_names) d.runner->Remove(name);
    d.host_collector_names.clear();
    if (next.host.enabled) d.AddHostCollectors(next);
  }
  {
    std::lock_guard<std::mutex> lock(d.config_mu);
    d.config = next;
  }
  spdlog::info("configuration reloaded from {}", next.source);
  return Status::Ok();
}

void Monitor::CollectOnce() { impl_->Tick(); }

void Monitor::RegisterCollector(const std::string& name, CollectorFn fn) {
  impl_->runner->Add(collect::MakeCallbackCollector(name, std::move(fn)));
  std::lock_guard<std::mutex> lock(impl_->handlers_mu);
  auto& names = impl_->callback_names;
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

bool Monitor::UnregisterCollector(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(impl_->handlers_mu);
    auto& names = impl_->callback_names;
    names.erase(std::remove(names.begin(), names.end(), name), names.end());
  }
  return impl_->runner->Remove(name);
}

namespace {
core::RuleConfig ToRuleConfig(const RuleDefinition& d) {
  core::RuleConfig r;
  r.name = d.name;
  r.kind = d.kind;
  r.metric = d.metric;
  for (const auto& [k, v] : d.labels) {
    if (!r.labels.empty()) r.labels += ',';
    r.labels += k + "=\"" + core::EscapeLabelValue(v) + "\"";
  }
  r.comparison = d.comparison;
  r.aggregation = d.aggregation;
  r.quantile = d.quantile;
  r.window_ms = d.window_ms;
  r.samples = d.samples;
  r.ahead_ms = d.ahead_ms;
  r.warmup = d.warmup;
  r.for_ms = d.for_ms;
  r.keep_firing_for_ms = d.keep_firing_for_ms;
  r.summary = d.summary;
  r.annotations = d.annotations;
  auto level = [&r](const char* severity, const std::optional<double>& t,
                    const std::optional<double>& clear) {
    if (t) r.levels.push_back(core::RuleLevelConfig{severity, *t, clear});
  };
  level("info", d.info, d.info_clear);
  level("warning", d.warning, d.warning_clear);
  level("critical", d.critical, d.critical_clear);
  return r;
}
}  // namespace

Status Monitor::AddRule(const RuleDefinition& rule) {
  Impl& d = *impl_;
  core::RuleConfig rc = ToRuleConfig(rule);
  if (rc.name.empty()) return Status::InvalidArgument("a rule needs a name");
  if (rc.levels.empty()) {
    return Status::InvalidArgument("rule '" + rc.name +
                                   "' needs a warning, critical or info threshold");
  }
  std::vector<core::RuleConfig> extra;
  core::Config next;
  {
    std::lock_guard<std::mutex> lock(d.config_mu);
    extra = d.code_rules;
    next = d.config;
  }
  auto same = std::find_if(extra.begin(), extra.end(),
                           [&](const core::RuleConfig& o) { return o.name == rc.name; });
  if (same != extra.end()) {
    *same = rc;
  } else {
    extra.push_back(rc);
  }
  const core::Config candidate = Impl::WithRules(next, extra);
  auto problems = monitor::AlertingConfigProblems(candidate);
  if (!problems.empty()) return Status::InvalidArgument(problems.front());
  if (d.alerting) {
    if (Status s = d.alerting->Reload(candidate); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(d.config_mu);
  d.code_rules = std::move(extra);
  return Status::Ok();
}

bool Monitor::RemoveRule(const std::string& name) {
  Impl& d = *impl_;
  std::vector<core::RuleConfig> extra;
  core::Config next;
  {
    std::lock_guard<std::mutex> lock(d.config_mu);
    extra = d.code_rules;
    next = d.config;
  }
  auto it = std::find_if(extra.begin(), extra.end(),
                         [&](const core::RuleConfig& o) { return o.name == name; });
  if (it == extra.end()) return false;
  extra.erase(it);
  if (d.alerting && !d.alerting->Reload(Impl::WithRules(next, extra)).ok()) return false;
  std::lock_guard<std::mutex> lock(d.config_mu);
  d.code_rules = std::move(extra);
  return true;
}

void Monitor::RegisterAlertHandler(AlertHandler handler) {
  std::lock_guard<std::mutex> lock(impl_->handlers_mu);
  impl_->alert_handlers.push_back(handler);
  if (impl_->alerting) impl_->alerting->AddHandler(std::move(handler));
}

std::vector<MetricValue> Monitor::CurrentMetrics() const {
  std::vector<MetricValue> out;
  for (const auto& s : impl_->store->Select({}, {})) {
    auto latest = impl_->store->Latest(s.id);
    if (!latest) continue;
    out.push_back(MetricValue{s.name, LabelMap(s.labels), latest->v, latest->t_ms});
  }
  std::sort(out.begin(), out.end(), [](const MetricValue& a, const MetricValue& b) {
    return std::tie(a.name, a.labels) < std::tie(b.name, b.labels);
  });
  return out;
}

std::vector<HistoryPoint> Monitor::MetricsHistory(const std::string& name,
                                                  const std::map<std::string, std::string>& labels,
                                                  int64_t since_ms) const {
  core::Labels want;
  for (const auto& [k, v] : labels) want.Set(k, v);
  std::vector<HistoryPoint> out;
  for (const auto& s : impl_->store->Select(name, {})) {
    if (s.labels != want) continue;
    auto points = impl_->store->Range(s.id, since_ms, impl_->clock->NowMillis());
    if (!points.ok()) break;
    for (const auto& p : *points) out.push_back(HistoryPoint{p.t_ms, p.v});
  }
  return out;
}

PerformanceSummary Monitor::GetPerformanceSummary(int64_t window_ms) const {
  const Impl& d = *impl_;
  PerformanceSummary summary;
  summary.generated_at_ms = d.clock->NowMillis();
  summary.window_ms = window_ms;
  summary.monitoring = d.running;
  summary.uptime_seconds =
      d.start_ms > 0 ? static_cast<double>(summary.generated_at_ms - d.start_ms) / 1000.0 : 0;
  const store::StoreStats stats = d.store->Stats();
  summary.series = stats.series;
  summary.samples_stored = stats.samples;

  std::vector<store::SeriesInfo> wanted;
  for (const KeyMetric& k : kKeyMetrics) {
    std::vector<core::LabelMatcher> m;
    if (k.label_name) m.push_back({k.label_name, core::LabelMatcher::Op::kEqual, k.label_value});
    for (auto& s : d.store->Select(k.name, m)) wanted.push_back(std::move(s));
  }
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(impl_->handlers_mu);
    names = d.callback_names;
  }
  for (const auto& n : names) {
    for (auto& s : d.store->Select({}, {{"collector", core::LabelMatcher::Op::kEqual, n}})) {
      wanted.push_back(std::move(s));
    }
  }
  for (const auto& s : wanted) {
    auto points =
        d.store->Range(s.id, summary.generated_at_ms - window_ms, summary.generated_at_ms);
    if (!points.ok() || points->empty()) continue;
    MetricSummary m;
    m.name = s.name;
    m.labels = LabelMap(s.labels);
    m.current = points->back().v;
    m.minimum = m.maximum = points->front().v;
    double sum = 0;
    for (const auto& p : *points) {
      sum += p.v;
      m.minimum = std::min(m.minimum, p.v);
      m.maximum = std::max(m.maximum, p.v);
    }
    m.samples = points->size();
    m.average = sum / static_cast<double>(m.samples);
    summary.metrics.push_back(std::move(m));
  }
  for (const auto& h : d.runner->Health()) {
    summary.collectors.push_back(CollectorStatus{h.name, h.healthy,
                                                 static_cast<double>(h.last_duration_us) / 1000.0,
                                                 h.errors, h.timeouts, h.last_error});
  }
  return summary;
}

namespace {
json FiniteOrString(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
}
}  // namespace

Status Monitor::SaveMetrics(const std::string& path, int64_t history_ms) const {
  const Impl& d = *impl_;
  const int64_t now = d.clock->NowMillis();
  json current = json::array();
  for (const auto& m : CurrentMetrics()) {
    current.push_back({{"name", m.name},
                       {"labels", m.labels},
                       {"value", FiniteOrString(m.value)},
                       {"timestamp", static_cast<double>(m.timestamp_ms) / 1000.0}});
  }
  json history = json::array();
  for (const auto& s : d.store->Select({}, {})) {
    auto points = d.store->Range(s.id, now - history_ms, now);
    if (!points.ok() || points->empty()) continue;
    json arr = json::array();
    for (const auto& p : *points) {
      arr.push_back(json::array({static_cast<double>(p.t_ms) / 1000.0, FiniteOrString(p.v)}));
    }
    history.push_back(
        {{"name", s.name}, {"labels", LabelMap(s.labels)}, {"points", std::move(arr)}});
  }
  const PerformanceSummary summary = GetPerformanceSummary();
  json metrics = json::array();
  for (const auto& m : summary.metrics) {
    metrics.push_back({{"name", m.name},
                       {"labels", m.labels},
                       {"current", FiniteOrString(m.current)},
                       {"average", FiniteOrString(m.average)},
                       {"min", FiniteOrString(m.minimum)},
                       {"max", FiniteOrString(m.maximum)},
                       {"samples", m.samples}});
  }
  json doc = {{"generated_at", static_cast<double>(now) / 1000.0},
              {"version", kVersion},
              {"current", std::move(current)},
              {"summary",
               {{"window_seconds", summary.window_ms / 1000},
                {"monitoring", summary.monitoring},
                {"uptime_seconds", summary.uptime_seconds},
                {"series", summary.series},
                {"metrics", std::move(metrics)}}},
              {"history_seconds", history_ms / 1000},
              {"history", std::move(history)}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return Status::IoError("cannot write " + tmp + ": " + std::strerror(errno));
    f << doc.dump(1) << '\n';
    f.flush();
    if (!f) return Status::IoError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path + ": " + err);
  }
  return Status::Ok();
}

ResponseStatistics Monitor::GetResponseStatistics() const {
  ResponseStatistics out;
  const json stats = impl_->sources.Call("incidents.stats");
  if (!stats.is_object()) return out;
  auto counts = [](const json& j, ResponseCounts* c) {
    auto n = [&j](const char* k) {
      return j.contains(k) && j[k].is_number() ? j[k].get<uint64_t>() : uint64_t{0};
    };
    auto d = [&j](const char* k) {
      return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0;
    };
    c->total_responses = n("total_responses");
    c->active_responses = n("active_responses");
    c->successful_responses = n("successful_responses");
    c->resolved_responses = n("resolved_responses");
    c->failed_responses = n("failed_responses");
    c->escalated_responses = n("escalated_responses");
    c->dry_run_responses = n("dry_run_responses");
    c->success_rate = d("success_rate");
    c->mean_time_to_resolve_seconds = d("mean_time_to_resolve_seconds");
  };
  out.available = true;
  counts(stats, &out);
  if (stats.contains("by_playbook") && stats["by_playbook"].is_object()) {
    for (const auto& [name, j] : stats["by_playbook"].items()) counts(j, &out.by_playbook[name]);
  }
  if (stats.contains("by_action") && stats["by_action"].is_object()) {
    for (const auto& [type, j] : stats["by_action"].items()) {
      ActionStatistics& a = out.by_action[type];
      a.runs = j.value("runs", uint64_t{0});
      a.succeeded = j.value("succeeded", uint64_t{0});
      a.failed = j.value("failed", uint64_t{0});
      a.dry_run = j.value("dry_run", uint64_t{0});
      a.interrupted = j.value("interrupted", uint64_t{0});
      a.success_rate = j.value("success_rate", 0.0);
      a.mean_duration_ms = j.value("mean_duration_ms", 0.0);
      a.bytes_freed = j.value("bytes_freed", uint64_t{0});
    }
  }
  return out;
}

std::string Monitor::http_address() const {
  return impl_->server ? impl_->server->address() : std::string();
}

std::string Monitor::token() const { return impl_->token; }

}  // namespace echomon
