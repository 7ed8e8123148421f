// The remote_write extension: feeds every sample the agent stores to the configured
// Prometheus remote-write endpoints (docs/remote-write.md).
//
// Feeding: every tick, for each series, Latest() (O(1), shared lock) tells whether anything
// was appended since the last sample sent; only then Range(last_sent, latest] reads the new
// points (usually one, from the open head chunk). This keeps the store untouched (no append
// hook under its write lock), sends samples appended by any writer (collectors, scrapes, the
// push API), and costs about what bench/remote_write_bench.cc's BM_RemoteWriteFeed_Tick
// measures per tick for 1000 series. History restored from disk at start is not re-sent.
//
// Thread-safety: Tick (collection thread), Reload/Stop (control thread) and AppendSelfMetrics
// and AddStatus (collection / HTTP threads) share mu_; the writers' own threads send.
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "core/log.h"
#include "export/remote_writer.h"
#include "monitor/extension.h"

namespace echomon::monitor {
namespace {

constexpr int64_t kStopFlushMs = 5000;    // Stop(): total time to flush every endpoint
constexpr int64_t kReloadFlushMs = 2000;  // an endpoint replaced by a reload

bool SameEndpoint(const core::RemoteWriteConfig& a, const core::RemoteWriteConfig& b) {
  return a.name == b.name && a.url == b.url && a.headers == b.headers &&
         a.timeout_ms == b.timeout_ms && a.queue_capacity == b.queue_capacity &&
         a.max_samples_per_send == b.max_samples_per_send &&
         a.batch_send_deadline_ms == b.batch_send_deadline_ms &&
         a.min_backoff_ms == b.min_backoff_ms && a.max_backoff_ms == b.max_backoff_ms &&
         a.external_labels == b.external_labels && a.drop_metrics == b.drop_metrics;
}

bool SameEndpoints(const std::vector<core::RemoteWriteConfig>& a,
                   const std::vector<core::RemoteWriteConfig>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), SameEndpoint);
}

using Writers = std::vector<std::unique_ptr<remote_write::RemoteWriter>>;

void StopAll(Writers& writers, int64_t total_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(total_ms);
  for (auto& w : writers) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    w->Stop(std::max<int64_t>(left, 0));
  }
}

class RemoteWriteExtension final : public Extension {
 public:
  std::string_view name() const override { return "remote_write"; }

  Status Start(const ExtensionContext& context) override {
    store_ = context.store;
    clock_ = context.clock;
    auto writers = MakeWriters(context.config.remote_write);
    if (!writers.ok()) return writers.status();
    std::lock_guard<std::mutex> lock(mu_);
    start_ms_ = clock_->NowMillis();
    writers_ = std::move(writers).value();
    config_ = context.config.remote_write;
    return Status::Ok();
  }

  void Stop() override {
    Writers writers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!writers_.empty()) Feed();  // samples appended since the last tick
      writers.swap(writers_);
    }
    StopAll(writers, kStopFlushMs);
  }

  void Tick(int64_t /*now_ms*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!writers_.empty()) Feed();
  }

  Status Reload(const core::Config& config) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (SameEndpoints(config_, config.remote_write)) return Status::Ok();
    }
    auto fresh = MakeWriters(config.remote_write);
    if (!fresh.ok()) return fresh.status();
    Writers old = std::move(fresh).value();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writers_.empty()) {
        // Nothing was being sent: start from now rather than from the agent's start.
        start_ms_ = clock_->NowMillis();
        series_.clear();
      }
      writers_.swap(old);
      config_ = config.remote_write;
      for (Series& s : series_) s.refs.clear();  // registered again with the new writers
    }
    StopAll(old, kReloadFlushMs);
    return Status::Ok();
  }

  void AppendSelfMetrics(core::SampleBatch& out) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& w : writers_) w->AppendSelfMetrics(out);
  }

  void AddStatus(nlohmann::json& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (writers_.empty()) return;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& w : writers_) {
      const remote_write::RemoteWriterStats s = w->Stats();
      list.push_back({{"name", w->name()},
                      {"samples_sent", s.samples_sent},
                      {"samples_failed", s.samples_failed},
                      {"samples_dropped", s.samples_dropped},
                      {"samples_retried", s.samples_retried},
                      {"queue_length", s.queue_length},
                      {"queue_capacity", s.queue_capacity},
                      {"last_send_ms", s.last_send_ms},
                      {"last_status", s.last_status},
                      {"last_error", s.last_error}});
    }
    status["remote_write"] = std::move(list);
  }

 private:
  struct Series {
    int64_t last_sent_ms = 0;
    std::vector<uint32_t> refs;  // per writer; empty until registered
  };

  Result<Writers> MakeWriters(const std::vector<core::RemoteWriteConfig>& configs) {
    Writers writers;
    for (const core::RemoteWriteConfig& c : configs) {
      auto w = std::make_unique<remote_write::RemoteWriter>(c, clock_);
      if (Status s = w->Start(); !s.ok()) {
        StopAll(writers, 0);
        return s;
      }
      writers.push_back(std::move(w));
    }
    return writers;
  }

  // Queues every sample appended since the last call. Caller holds mu_.
  void Feed() {
    const size_t count = store_->SeriesCount();
    // Samples at or after the start are sent; history restored from disk is not.
    while (series_.size() < count) series_.push_back(Series{start_ms_ - 1, {}});
    for (size_t i = 0; i < series_.size(); ++i) {
      Series& s = series_[i];
      const auto id = static_cast<store::SeriesId>(i + 1);  // ids start at 1
      const std::optional<store::Point> latest = store_->Latest(id);
      if (!latest || latest->t_ms <= s.last_sent_ms) continue;
      if (s.refs.empty()) {
        const std::optional<store::SeriesInfo> info = store_->Info(id);
        if (!info) continue;
        for (auto& w : writers_) s.refs.push_back(w->AddSeries(info->name, info->labels));
      }
      const bool wanted = std::any_of(s.refs.begin(), s.refs.end(), [](uint32_t r) {
        return r != remote_write::RemoteWriter::kNotSent;
      });
      if (wanted) {
        auto points = store_->Range(id, s.last_sent_ms + 1, latest->t_ms);
        if (!points.ok()) {
          core::WarnOnce("remote_write.read",
                         "remote_write: reading new samples failed: " + points.status().ToString());
        } else {
          for (const store::Point& p : *points) {
            for (size_t w = 0; w < writers_.size(); ++w) {
              writers_[w]->Enqueue(s.refs[w], p.t_ms, p.v);
            }
          }
        }
      }
      s.last_sent_ms = latest->t_ms;
    }
  }

  store::SeriesStore* store_ = nullptr;
  Clock* clock_ = nullptr;

  std::mutex mu_;
  int64_t start_ms_ = 0;  // samples from here on are sent
  std::vector<core::RemoteWriteConfig> config_;
  Writers writers_;
  std::vector<Series> series_;  // index = series id - 1
};

}  // namespace

std::unique_ptr<Extension> MakeRemoteWriteExtension() {
  return std::make_unique<RemoteWriteExtension>();
}

}  // namespace echomon::monitor
