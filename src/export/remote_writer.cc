#include "export/remote_writer.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "core/log.h"
#include "echomon/version.h"
#include "export/remote_write_codec.h"

namespace echomon::remote_write {
namespace {

// Splits http(s)://host[:port]/path into "http(s)://host[:port]" and "/path" ("/" if none).
bool SplitUrl(const std::string& url, std::string* host, std::string* path) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  size_t slash = url.find('/', scheme_end + 3);
  *host = url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  return host->size() > scheme_end + 3;
}

std::string ErrorText(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection failed";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "read failed or timed out";
    case httplib::Error::Write:
      return "write failed or timed out";
    case httplib::Error::SSLConnection:
      return "TLS connection failed";
    case httplib::Error::SSLServerVerification:
      return "TLS server verification failed";
    default:
      return httplib::to_string(error);
  }
}

constexpr std::string_view kHelpSent = "Samples accepted by the remote-write endpoint.";
constexpr std::string_view kHelpFailed =
    "Samples the endpoint rejected with a non-retryable status (dropped).";
constexpr std::string_view kHelpDropped =
    "Samples dropped before sending: queue full, or still queued at shutdown.";
constexpr std::string_view kHelpRetried = "Samples sent again after a retryable failure.";
constexpr std::string_view kHelpRequests = "Remote-write HTTP requests made.";
constexpr std::string_view kHelpRequestErrors = "Remote-write requests without a 2xx answer.";
constexpr std::string_view kHelpQueue = "Samples waiting to be sent.";
constexpr std::string_view kHelpCapacity = "Most samples the queue holds.";
constexpr std::string_view kHelpLastSend =
    "Unix time of the last accepted remote-write request; 0 before the first.";
constexpr std::string_view kHelpDuration =
    "Total seconds spent in remote-write requests (divide by requests_total for the mean).";

}  // namespace

SendOutcome ClassifyResponse(int http_status) {
  if (http_status >= 200 && http_status <= 299) return SendOutcome::kSuccess;
  if (http_status == 0 || http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    return SendOutcome::kRetry;
  }
  return SendOutcome::kReject;
}

int64_t BackoffDelayMs(int attempt, int64_t min_ms, int64_t max_ms, double jitter01) {
  min_ms = std::max<int64_t>(min_ms, 1);
  max_ms = std::max(max_ms, min_ms);
  int64_t d = min_ms;
  for (int i = 1; i < attempt && d < max_ms; ++i) d *= 2;
  d = std::min(d, max_ms);
  jitter01 = std::clamp(jitter01, 0.0, 1.0);
  return d / 2 + static_cast<int64_t>(std::llround(static_cast<double>(d - d / 2) * jitter01));
}

RemoteWriter::RemoteWriter(core::RemoteWriteConfig config, Clock* clock, uint64_t seed)
    : config_(std::move(config)), clock_(clock), rng_(seed != 0 ? seed : std::random_device{}()) {
  if (config_.name.empty()) config_.name = config_.url;
}

RemoteWriter::~RemoteWriter() { Stop(0); }

Status RemoteWriter::Start(bool start_thread) {
  const std::string where = "remote_write " + config_.name + ": ";
  if (!SplitUrl(config_.url, &host_, &path_)) {
    return Status::InvalidArgument(where + "not an http(s)://host[:port]/path URL: " + config_.url);
  }
  if (!config_.drop_metrics.empty()) {
    try {
      drop_.emplace(config_.drop_metrics, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument(where + "invalid drop_metrics regex: " + e.what());
    }
  }
  client_ = std::make_unique<httplib::Client>(host_);
  if (!client_->is_valid()) return Status::InvalidArgument(where + "unsupported URL");
  const int64_t timeout = std::max<int64_t>(config_.timeout_ms, 1);
  const auto sec = static_cast<time_t>(timeout / 1000);
  const auto usec = static_cast<time_t>((timeout % 1000) * 1000);
  client_->set_connection_timeout(sec, usec);
  client_->set_read_timeout(sec, usec);
  client_->set_write_timeout(sec, usec);
  client_->set_keep_alive(true);
  client_->set_tcp_nodelay(true);  // header and body go out at once, no Nagle delay
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    accepting_ = true;
    stopping_ = false;
  }
  if (start_thread) sender_ = std::thread([this] { Run(); });
  return Status::Ok();
}

uint32_t RemoteWriter::AddSeries(std::string_view name, const core::Labels& labels) {
  if (drop_ && std::regex_match(name.begin(), name.end(), *drop_)) return kNotSent;
  core::Labels full = labels;
  for (const auto& [k, v] : config_.external_labels) {
    if (full.Get(k) == nullptr) full.Set(k, v);
  }
  full.Set("__name__", std::string(name));
  std::lock_guard<std::mutex> lock(series_mu_);
  series_.push_back(std::move(full));
  return static_cast<uint32_t>(series_.size() - 1);
}

bool RemoteWriter::Enqueue(uint32_t ref, int64_t t_ms, double value) {
  if (ref == kNotSent) return true;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!accepting_ || queue_.size() + pending_samples_.load(std::memory_order_relaxed) >=
                           static_cast<uint64_t>(config_.queue_capacity)) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (queue_.empty()) {
      oldest_queued_ns_ = clock_->MonotonicNanos();
      wake = true;  // the sender starts the batch deadline
    }
    queue_.push_back({ref, t_ms, value});
    if (queue_.size() == static_cast<size_t>(config_.max_samples_per_send)) wake = true;
  }
  enqueued_.fetch_add(1, std::memory_order_relaxed);
  if (wake) queue_cv_.notify_one();
  return true;
}

bool RemoteWriter::TakeBatch(bool flush, int64_t now_ns) {
  std::vector<QueuedSample> batch;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (queue_.empty()) return false;
    const size_t max = static_cast<size_t>(config_.max_samples_per_send);
    if (!flush && queue_.size() < max &&
        now_ns - oldest_queued_ns_ < config_.batch_send_deadline_ms * 1'000'000) {
      return false;
    }
    const size_t n = std::min(max, queue_.size());
    batch.assign(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    // The rest waits at most one more deadline from now.
    oldest_queued_ns_ = now_ns;
    pending_samples_.store(n, std::memory_order_relaxed);
  }
  // Group by series in first-appearance order; within a series the queue order (which is
  // timestamp order) is kept.
  std::unordered_map<uint32_t, size_t> index;
  std::vector<uint32_t> refs;
  std::vector<std::vector<WriteSample>> samples;
  for (const QueuedSample& q : batch) {
    auto [it, inserted] = index.try_emplace(q.ref, refs.size());
    if (inserted) {
      refs.push_back(q.ref);
      samples.emplace_back();
    }
    samples[it->second].push_back({q.t_ms, q.value});
  }
  std::vector<WriteSeriesView> views(refs.size());
  {
    std::lock_guard<std::mutex> lock(series_mu_);
    for (size_t i = 0; i < refs.size(); ++i) {
      views[i] = {&series_[refs[i]], samples[i].data(), samples[i].size()};
    }
  }
  pending_body_ = EncodeWriteRequest(views);
  attempts_ = 0;
  next_attempt_ns_.store(now_ns, std::memory_order_relaxed);
  return true;
}

int RemoteWriter::SendPending(std::string* error) {
  httplib::Headers headers{
      {"Content-Encoding", "snappy"},
      {"User-Agent", std::string("echomon/") + kVersion},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"},
  };
  for (const auto& [k, v] : config_.headers) headers.emplace(k, v);
  auto result = client_->Post(path_, headers, pending_body_, "application/x-protobuf");
  if (!result) {
    *error = ErrorText(result.error());
    return 0;
  }
  if (result->status < 200 || result->status > 299) {
    std::string body = result->body.substr(0, 256);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    *error = "HTTP " + std::to_string(result->status) + (body.empty() ? "" : ": " + body);
  }
  return result->status;
}

PumpResult RemoteWriter::Pump(bool flush) {
  const int64_t now_ns = clock_->MonotonicNanos();
  if (pending_samples_.load(std::memory_order_relaxed) == 0) {
    if (!TakeBatch(flush, now_ns)) {
      std::lock_guard<std::mutex> lock(queue_mu_);
      return queue_.empty() ? PumpResult::kIdle : PumpResult::kWaiting;
    }
  }
  if (now_ns < next_attempt_ns_.load(std::memory_order_relaxed)) return PumpResult::kBackoff;

  const uint64_t n = pending_samples_.load(std::memory_order_relaxed);
  std::string error;
  const int64_t start = clock_->MonotonicNanos();
  const int status = SendPending(&error);
  request_nanos_sum_.fetch_add(clock_->MonotonicNanos() - start, std::memory_order_relaxed);
  requests_.fetch_add(1, std::memory_order_relaxed);
  last_status_.store(status, std::memory_order_relaxed);
  const std::string log_key = "remote_write:" + config_.name;
  const SendOutcome outcome = ClassifyResponse(status);
  if (outcome != SendOutcome::kSuccess) {
    request_errors_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = error;
  }
  switch (outcome) {
    case SendOutcome::kSuccess: {
      sent_.fetch_add(n, std::memory_order_relaxed);
      last_send_ms_.store(clock_->NowMillis(), std::memory_order_relaxed);
      {
        std::lock_guard<std::mutex> lock(error_mu_);
        last_error_.clear();
      }
      core::ResetOnce(log_key + ":retry");
      core::ResetOnce(log_key + ":reject");
      pending_body_.clear();
      pending_samples_.store(0, std::memory_order_relaxed);
      return PumpResult::kSent;
    }
    case SendOutcome::kRetry: {
      ++attempts_;
      retried_.fetch_add(n, std::memory_order_relaxed);
      const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
      const int64_t delay =
          BackoffDelayMs(attempts_, config_.min_backoff_ms, config_.max_backoff_ms, jitter);
      next_attempt_ns_.store(clock_->MonotonicNanos() + delay * 1'000'000,
                             std::memory_order_relaxed);
      core::WarnOnce(log_key + ":retry", "remote_write " + config_.name + ": " + error +
                                             "; retrying " + std::to_string(n) +
                                             " samples with backoff");
      return PumpResult::kRetry;
    }
    case SendOutcome::kReject:
      break;
  }
  failed_.fetch_add(n, std::memory_order_relaxed);
  core::WarnOnce(log_key + ":reject", "remote_write " + config_.name + ": endpoint rejected " +
                                          std::to_string(n) + " samples (" + error +
                                          "); dropped, not retried");
  pending_body_.clear();
  pending_samples_.store(0, std::memory_order_relaxed);
  return PumpResult::kRejected;
}

std::optional<int64_t> RemoteWriter::NextAttemptNanos() const {
  if (pending_samples_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  return next_attempt_ns_.load(std::memory_order_relaxed);
}

void RemoteWriter::Run() {
  const size_t max = static_cast<size_t>(config_.max_samples_per_send);
  while (true) {
    const PumpResult r = Pump(false);
    if (r == PumpResult::kSent || r == PumpResult::kRejected) continue;  // more may be due
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (stopping_) return;
    const int64_t now_ns = clock_->MonotonicNanos();
    // Waits in real time. Backing off, only Stop wakes it; waiting for a partial batch, a
    // full batch (Enqueue notifies) or the deadline; idle, the first sample.
    if (r == PumpResult::kRetry || r == PumpResult::kBackoff) {
      const int64_t wait = next_attempt_ns_.load(std::memory_order_relaxed) - now_ns;
      queue_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(wait, 0)),
                         [&] { return stopping_; });
    } else if (!queue_.empty()) {
      if (queue_.size() >= max) continue;
      const int64_t wait = oldest_queued_ns_ + config_.batch_send_deadline_ms * 1'000'000 - now_ns;
      queue_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(wait, 0)),
                         [&] { return stopping_ || queue_.size() >= max; });
    } else {
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    }
  }
}

void RemoteWriter::Stop(int64_t flush_deadline_ms) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!accepting_ && !sender_.joinable()) return;
    accepting_ = false;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (sender_.joinable()) sender_.join();
  if (!client_) return;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(flush_deadline_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    // A request started now must not run far past the deadline.
    const auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count();
    const int64_t timeout = std::clamp<int64_t>(left_ms, 1, config_.timeout_ms);
    client_->set_connection_timeout(static_cast<time_t>(timeout / 1000),
                                    static_cast<time_t>((timeout % 1000) * 1000));
    client_->set_read_timeout(static_cast<time_t>(timeout / 1000),
                              static_cast<time_t>((timeout % 1000) * 1000));
    const PumpResult r = Pump(/*flush=*/true);
    if (r == PumpResult::kIdle) break;
    if (r == PumpResult::kBackoff || r == PumpResult::kRetry) {
      const int64_t wait_ns =
          next_attempt_ns_.load(std::memory_order_relaxed) - clock_->MonotonicNanos();
      const auto until =
          std::min(deadline, std::chrono::steady_clock::now() +
                                 std::chrono::nanoseconds(std::max<int64_t>(wait_ns, 1'000'000)));
      std::this_thread::sleep_until(until);
    }
  }
  std::lock_guard<std::mutex> lock(queue_mu_);
  const uint64_t left = queue_.size() + pending_samples_.load(std::memory_order_relaxed);
  if (left > 0) {
    dropped_.fetch_add(left, std::memory_order_relaxed);
    core::WarnOnce("remote_write-stop:" + config_.name,
                   "remote_write " + config_.name + ": " + std::to_string(left) +
                       " samples not sent before the shutdown deadline; dropped");
  }
  queue_.clear();
  pending_body_.clear();
  pending_samples_.store(0, std::memory_order_relaxed);
}

RemoteWriterStats RemoteWriter::Stats() const {
  RemoteWriterStats s;
  s.samples_enqueued = enqueued_.load(std::memory_order_relaxed);
  s.samples_sent = sent_.load(std::memory_order_relaxed);
  s.samples_failed = failed_.load(std::memory_order_relaxed);
  s.samples_dropped = dropped_.load(std::memory_order_relaxed);
  s.samples_retried = retried_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  s.request_errors = request_errors_.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    s.queue_length = queue_.size() + pending_samples_.load(std::memory_order_relaxed);
  }
  s.queue_capacity = static_cast<uint64_t>(config_.queue_capacity);
  s.last_send_ms = last_send_ms_.load(std::memory_order_relaxed);
  s.request_seconds_sum =
      static_cast<double>(request_nanos_sum_.load(std::memory_order_relaxed)) / 1e9;
  s.last_status = last_status_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(error_mu_);
  s.last_error = last_error_;
  return s;
}

void RemoteWriter::AppendSelfMetrics(core::SampleBatch& out) const {
  const RemoteWriterStats s = Stats();
  const core::Labels labels{{"endpoint", config_.name}};
  auto add = [&](const char* name, double value, core::MetricType type, std::string_view help) {
    out.push_back(core::Sample{name, labels, value, type, help});
  };
  using core::MetricType;
  add("echomon_remote_write_samples_sent_total", static_cast<double>(s.samples_sent),
      MetricType::kCounter, kHelpSent);
  add("echomon_remote_write_samples_failed_total", static_cast<double>(s.samples_failed),
      MetricType::kCounter, kHelpFailed);
  add("echomon_remote_write_samples_dropped_total", static_cast<double>(s.samples_dropped),
      MetricType::kCounter, kHelpDropped);
  add("echomon_remote_write_samples_retried_total", static_cast<double>(s.samples_retried),
      MetricType::kCounter, kHelpRetried);
  add("echomon_remote_write_requests_total", static_cast<double>(s.requests), MetricType::kCounter,
      kHelpRequests);
  add("echomon_remote_write_request_errors_total", static_cast<double>(s.request_errors),
      MetricType::kCounter, kHelpRequestErrors);
  add("echomon_remote_write_queue_length", static_cast<double>(s.queue_length), MetricType::kGauge,
      kHelpQueue);
  add("echomon_remote_write_queue_capacity", static_cast<double>(s.queue_capacity),
      MetricType::kGauge, kHelpCapacity);
  add("echomon_remote_write_last_send_timestamp_seconds",
      static_cast<double>(s.last_send_ms) / 1000.0, MetricType::kGauge, kHelpLastSend);
  add("echomon_remote_write_request_duration_seconds_total", s.request_seconds_sum,
      MetricType::kCounter, kHelpDuration);
}

}  // namespace echomon::remote_write
