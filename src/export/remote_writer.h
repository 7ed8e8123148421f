// RemoteWriter: sends samples to one Prometheus remote-write endpoint (docs/remote-write.md).
//
// Samples are queued in memory (bounded by queue_capacity samples; when the queue is full the
// newest sample is dropped and counted), taken in batches of at most max_samples_per_send,
// encoded as a snappy-compressed prometheus.WriteRequest (remote_write_codec.h) and POSTed with
// the Remote-Write 1.0 headers. A batch is sent when it is full or when its oldest sample has
// waited batch_send_deadline. Responses:
//   2xx            sent;
//   5xx, 429, network error   retried, with exponential backoff and jitter between
//                  min_backoff and max_backoff, for as long as it takes (later samples wait in
//                  the queue, which may then fill up and drop new samples);
//   other 4xx      the batch is dropped and counted as failed; logged once until a success.
// One sender sends one batch at a time and retries a batch before taking the next, so the
// samples of every series arrive in the order they were queued.
//
//   RemoteWriter writer(config, SystemClock::Get());
//   if (Status st = writer.Start(); !st.ok()) ...
//   uint32_t ref = writer.AddSeries("node_load1", labels);
//   writer.Enqueue(ref, t_ms, value);          // never blocks
//   writer.Stop(/*flush_deadline_ms=*/5000);   // sends what it can within the deadline
//
// Ownership: the caller owns the writer; it owns its sender thread and HTTP client.
// Thread-safety: AddSeries, Enqueue, Stats and AppendSelfMetrics may be called from any
// thread. Start and Stop from one thread. Pump (tests) only when started without a thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/labels.h"
#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace httplib {
class Client;
}

namespace echomon::remote_write {

// What to do with a response: 2xx is kSuccess; 5xx, 429 and 0 (no response: connection
// refused, timeout, reset) are kRetry; everything else (other 4xx, 1xx, 3xx) is kReject.
enum class SendOutcome { kSuccess, kRetry, kReject };
SendOutcome ClassifyResponse(int http_status);

// The wait before retry number `attempt` (1 = first retry): min_ms * 2^(attempt-1) capped at
// max_ms, then jittered into [d/2, d] by jitter01 in [0, 1) ("equal jitter", so concurrent
// agents do not retry in step while the wait still grows).
int64_t BackoffDelayMs(int attempt, int64_t min_ms, int64_t max_ms, double jitter01);

struct RemoteWriterStats {
  uint64_t samples_enqueued = 0;
  uint64_t samples_sent = 0;     // accepted by the endpoint (2xx)
  uint64_t samples_failed = 0;   // rejected by the endpoint (non-retryable status)
  uint64_t samples_dropped = 0;  // queue full, or still queued when Stop's deadline passed
  uint64_t samples_retried = 0;  // sample-sends that were retried (a batch retried twice counts
                                 // its samples twice)
  uint64_t requests = 0;         // HTTP attempts
  uint64_t request_errors = 0;   // attempts that did not get a 2xx
  uint64_t queue_length = 0;     // samples waiting, including a batch being (re)tried
  uint64_t queue_capacity = 0;
  int64_t last_send_ms = 0;        // wall time of the last 2xx; 0 before the first
  double request_seconds_sum = 0;  // duration of every HTTP attempt
  int last_status = 0;             // HTTP status of the last attempt; 0: network error
  std::string last_error;          // empty after a success
};

// The result of one Pump() step.
enum class PumpResult {
  kIdle,      // nothing queued
  kWaiting,   // a partial batch is waiting for more samples or its deadline
  kBackoff,   // a failed batch waits for its next attempt
  kSent,      // a batch was accepted
  kRetry,     // a batch failed and will be retried
  kRejected,  // a batch was rejected and dropped
};

class RemoteWriter {
 public:
  // Returned by AddSeries for series that drop_metrics excludes; Enqueue ignores it.
  static constexpr uint32_t kNotSent = UINT32_MAX;

  // clock provides wall time (last send) and monotonic time (batch deadline, backoff);
  // it must outlive the writer. seed fixes the jitter for tests (0: random).
  RemoteWriter(core::RemoteWriteConfig config, Clock* clock, uint64_t seed = 0);
  ~RemoteWriter();  // Stop(0) if still running
  RemoteWriter(const RemoteWriter&) = delete;
  RemoteWriter& operator=(const RemoteWriter&) = delete;

  // Checks the URL and drop_metrics, and starts the sender thread unless start_thread is
  // false (then the caller drives sending with Pump()). InvalidArgument naming the endpoint
  // on a bad URL or regex.
  Status Start(bool start_thread = true);

  // Registers a series: its labels plus __name__ plus the external labels (the series' own
  // value wins on a clash). Returns the ref to pass to Enqueue, or kNotSent when the name
  // matches drop_metrics. Registering the same series twice gives two refs (both work).
  uint32_t AddSeries(std::string_view name, const core::Labels& labels);

  // Queues one sample; never blocks. Returns false, counting it as dropped, when the queue is
  // full or the writer is stopped. ref must come from AddSeries (kNotSent is ignored, true).
  bool Enqueue(uint32_t ref, int64_t t_ms, double value);

  // Stops taking samples, sends what is queued (ignoring batch deadlines, honouring backoff)
  // until everything is sent or flush_deadline_ms of real time has passed, then stops the
  // thread. What is left is counted as dropped. Safe to call twice.
  void Stop(int64_t flush_deadline_ms);

  // One step of the sending loop at the clock's current time: takes a batch if none is
  // pending and one is due (or `flush` and anything is queued), and sends the pending batch
  // unless it is still backing off. Blocks for the HTTP request.
  PumpResult Pump(bool flush = false);

  // When the pending batch may be tried again (clock monotonic nanoseconds); nullopt if none.
  std::optional<int64_t> NextAttemptNanos() const;

  const std::string& name() const { return config_.name; }
  RemoteWriterStats Stats() const;
  // echomon_remote_write_* with endpoint=<name>.
  void AppendSelfMetrics(core::SampleBatch& out) const;

 private:
  struct QueuedSample {
    uint32_t ref;
    int64_t t_ms;
    double value;
  };
  void Run();
  bool TakeBatch(bool flush, int64_t now_ns);
  int SendPending(std::string* error);

  core::RemoteWriteConfig config_;  // not changed after construction
  Clock* const clock_;
  std::optional<std::regex> drop_;
  std::string host_, path_;
  std::unique_ptr<httplib::Client> client_;  // used by the sender only

  mutable std::mutex series_mu_;
  std::deque<core::Labels> series_;  // by ref; never shrinks, so addresses are stable

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<QueuedSample> queue_;
  int64_t oldest_queued_ns_ = 0;  // when the oldest queued sample's batch started waiting
  bool accepting_ = false;
  bool stopping_ = false;

  // The batch being sent; touched by the sender (or Pump's caller) only, except the size.
  std::string pending_body_;
  std::atomic<uint64_t> pending_samples_{0};
  std::atomic<int64_t> next_attempt_ns_{0};
  int attempts_ = 0;
  std::mt19937_64 rng_;
  std::thread sender_;

  // Counters: relaxed atomics; a reader may see them a moment apart from each other.
  std::atomic<uint64_t> enqueued_{0}, sent_{0}, failed_{0}, dropped_{0}, retried_{0}, requests_{0},
      request_errors_{0};
  std::atomic<int64_t> last_send_ms_{0};
  std::atomic<int64_t> request_nanos_sum_{0};
  std::atomic<int> last_status_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace echomon::remote_write
