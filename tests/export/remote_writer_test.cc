#include "export/remote_writer.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "common/test_util.h"
#include "export/fake_receiver.h"
#include "export/remote_write_codec.h"

namespace echomon::remote_write {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

core::RemoteWriteConfig Config(const std::string& url) {
  core::RemoteWriteConfig c;
  c.name = "test";
  c.url = url;
  c.timeout_ms = 2000;
  c.min_backoff_ms = 100;
  c.max_backoff_ms = 800;
  c.max_samples_per_send = 4;
  c.batch_send_deadline_ms = 1000;
  return c;
}

// Pumps until nothing is queued, advancing the manual clock over backoffs.
void Drain(RemoteWriter& w, ManualClock& clock) {
  for (int i = 0; i < 100; ++i) {
    const PumpResult r = w.Pump(/*flush=*/true);
    if (r == PumpResult::kIdle) return;
    if (r == PumpResult::kBackoff || r == PumpResult::kRetry) {
      clock.Set(*w.NextAttemptNanos() / 1'000'000);
    }
  }
  ADD_FAILURE() << "writer did not drain";
}

TEST(RemoteWriteRetry, ClassifiesStatusesAsTheSpecificationSays) {
  EXPECT_EQ(ClassifyResponse(200), SendOutcome::kSuccess);
  EXPECT_EQ(ClassifyResponse(204), SendOutcome::kSuccess);
  EXPECT_EQ(ClassifyResponse(500), SendOutcome::kRetry);
  EXPECT_EQ(ClassifyResponse(503), SendOutcome::kRetry);
  EXPECT_EQ(ClassifyResponse(429), SendOutcome::kRetry);
  EXPECT_EQ(ClassifyResponse(0), SendOutcome::kRetry);  // no response at all
  EXPECT_EQ(ClassifyResponse(400), SendOutcome::kReject);
  EXPECT_EQ(ClassifyResponse(401), SendOutcome::kReject);
  EXPECT_EQ(ClassifyResponse(404), SendOutcome::kReject);
  EXPECT_EQ(ClassifyResponse(413), SendOutcome::kReject);
  EXPECT_EQ(ClassifyResponse(302), SendOutcome::kReject);
}

TEST(RemoteWriteRetry, BackoffDoublesUpToTheMaximumWithinItsJitterBand) {
  // No jitter (0) gives the lower edge d/2, full jitter (~1) the upper edge d.
  EXPECT_EQ(BackoffDelayMs(1, 30, 5000, 0.0), 15);
  EXPECT_EQ(BackoffDelayMs(1, 30, 5000, 1.0), 30);
  EXPECT_EQ(BackoffDelayMs(2, 30, 5000, 1.0), 60);
  EXPECT_EQ(BackoffDelayMs(3, 30, 5000, 1.0), 120);
  EXPECT_EQ(BackoffDelayMs(8, 30, 5000, 1.0), 3840);
  EXPECT_EQ(BackoffDelayMs(9, 30, 5000, 1.0), 5000);
  EXPECT_EQ(BackoffDelayMs(1000, 30, 5000, 0.0), 2500);
  for (double j : {0.1, 0.5, 0.9}) {
    const int64_t d = BackoffDelayMs(4, 30, 5000, j);
    EXPECT_GE(d, 120);
    EXPECT_LE(d, 240);
  }
}

TEST(RemoteWriter, RetriesA500ThenDeliversEverySampleOncePerSeriesInOrder) {
  FakeReceiver receiver;
  receiver.Script({500});
  ManualClock clock(kT0);
  RemoteWriter w(Config(receiver.Url()), &clock, /*seed=*/1);
  ASSERT_TRUE(w.Start(/*start_thread=*/false).ok());
  const uint32_t a = w.AddSeries("a", {{"job", "x"}});
  const uint32_t b = w.AddSeries("b", {});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(w.Enqueue(a, kT0 + i * 1000, i));
    ASSERT_TRUE(w.Enqueue(b, kT0 + i * 1000, 10 + i));
  }
  // A full batch (4 samples) is due at once; the endpoint answers 500.
  EXPECT_EQ(w.Pump(), PumpResult::kRetry);
  EXPECT_EQ(w.Stats().samples_retried, 4u);
  // Until the backoff has passed on the clock, nothing is sent.
  const int64_t next_ms = *w.NextAttemptNanos() / 1'000'000;
  EXPECT_GE(next_ms - kT0, 50);   // min_backoff/2 with jitter
  EXPECT_LE(next_ms - kT0, 100);  // min_backoff
  clock.Set(next_ms - 1);
  EXPECT_EQ(w.Pump(), PumpResult::kBackoff);
  EXPECT_EQ(receiver.Requests().size(), 1u);
  clock.Set(next_ms);
  EXPECT_EQ(w.Pump(), PumpResult::kSent);
  Drain(w, clock);

  const auto requests = receiver.Requests();
  ASSERT_GE(requests.size(), 4u);  // 500, then 3 batches (4 + 4 + 2)
  for (const auto& r : requests) EXPECT_EQ(r.decode_error, "");
  // The retried request carried the same samples as the failed one.
  ASSERT_EQ(requests[0].series.size(), requests[1].series.size());
  for (size_t i = 0; i < requests[0].series.size(); ++i) {
    EXPECT_EQ(requests[0].series[i].samples, requests[1].series[i].samples);
  }
  auto got = Accepted(requests);
  std::vector<WriteSample> want_a, want_b;
  for (int i = 0; i < 5; ++i) {
    want_a.push_back({kT0 + i * 1000, static_cast<double>(i)});
    want_b.push_back({kT0 + i * 1000, static_cast<double>(10 + i)});
  }
  EXPECT_EQ(got["a"], want_a);
  EXPECT_EQ(got["b"], want_b);
  const RemoteWriterStats s = w.Stats();
  EXPECT_EQ(s.samples_sent, 10u);
  EXPECT_EQ(s.samples_failed, 0u);
  EXPECT_EQ(s.samples_dropped, 0u);
  EXPECT_EQ(s.requests, requests.size());
  EXPECT_EQ(s.request_errors, 1u);
  EXPECT_EQ(s.queue_length, 0u);
  EXPECT_EQ(s.last_send_ms, clock.NowMillis());
  w.Stop(0);
}

TEST(RemoteWriter, BackoffGrowsWhileTheEndpointKeepsFailing) {
  FakeReceiver receiver;
  receiver.Script({503, 503, 503, 503, 503, 503});
  ManualClock clock(kT0);
  RemoteWriter w(Config(receiver.Url()), &clock, /*seed=*/7);
  ASSERT_TRUE(w.Start(false).ok());
  w.Enqueue(w.AddSeries("a", {}), kT0, 1);
  std::vector<int64_t> waits;
  EXPECT_EQ(w.Pump(true), PumpResult::kRetry);
  for (int i = 0; i < 5; ++i) {
    const int64_t next = *w.NextAttemptNanos() / 1'000'000;
    waits.push_back(next - clock.NowMillis());
    clock.Set(next);
    EXPECT_EQ(w.Pump(true), PumpResult::kRetry);
  }
  // min 100, max 800: bands [50,100], [100,200], [200,400], [400,800], [400,800].
  const std::vector<std::pair<int64_t, int64_t>> bands = {
      {50, 100}, {100, 200}, {200, 400}, {400, 800}, {400, 800}};
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_GE(waits[i], bands[i].first) << "retry " << i + 1;
    EXPECT_LE(waits[i], bands[i].second) << "retry " << i + 1;
  }
  clock.Set(*w.NextAttemptNanos() / 1'000'000);
  EXPECT_EQ(w.Pump(true), PumpResult::kSent);
  EXPECT_EQ(w.Stats().samples_sent, 1u);
  EXPECT_EQ(w.Stats().samples_retried, 6u);
  w.Stop(0);
}

TEST(RemoteWriter, A400IsNotRetriedAndItsSamplesAreCountedAsFailed) {
  FakeReceiver receiver;
  receiver.Script({400});
  ManualClock clock(kT0);
  auto config = Config(receiver.Url());
  config.max_samples_per_send = 2;
  RemoteWriter w(config, &clock, 1);
  ASSERT_TRUE(w.Start(false).ok());
  const uint32_t a = w.AddSeries("a", {});
  for (int i = 0; i < 4; ++i) w.Enqueue(a, kT0 + i, i);
  EXPECT_EQ(w.Pump(), PumpResult::kRejected);
  EXPECT_FALSE(w.NextAttemptNanos().has_value());  // nothing pending: the batch is gone
  RemoteWriterStats s = w.Stats();
  EXPECT_EQ(s.samples_failed, 2u);
  EXPECT_EQ(s.samples_retried, 0u);
  EXPECT_EQ(s.last_status, 400);
  EXPECT_NE(s.last_error.find("400"), std::string::npos);
  EXPECT_EQ(w.Pump(), PumpResult::kSent);
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 2u);
  std::vector<WriteSample> later{{kT0 + 2, 2}, {kT0 + 3, 3}};
  EXPECT_EQ(Accepted(requests)["a"], later);
  s = w.Stats();
  EXPECT_EQ(s.samples_sent, 2u);
  EXPECT_EQ(s.samples_failed, 2u);
  EXPECT_EQ(s.last_error, "");
  w.Stop(0);
}

TEST(RemoteWriter, AFullQueueDropsNewSamplesAndCountsThem) {
  FakeReceiver receiver;
  ManualClock clock(kT0);
  auto config = Config(receiver.Url());
  config.queue_capacity = 3;
  RemoteWriter w(config, &clock, 1);
  ASSERT_TRUE(w.Start(false).ok());
  const uint32_t a = w.AddSeries("a", {});
  EXPECT_TRUE(w.Enqueue(a, kT0 + 1, 1));
  EXPECT_TRUE(w.Enqueue(a, kT0 + 2, 2));
  EXPECT_TRUE(w.Enqueue(a, kT0 + 3, 3));
  EXPECT_FALSE(w.Enqueue(a, kT0 + 4, 4));
  EXPECT_FALSE(w.Enqueue(a, kT0 + 5, 5));
  RemoteWriterStats s = w.Stats();
  EXPECT_EQ(s.samples_dropped, 2u);
  EXPECT_EQ(s.queue_length, 3u);
  // A partial batch waits for its deadline on the clock.
  EXPECT_EQ(w.Pump(), PumpResult::kWaiting);
  clock.Advance(1000);
  EXPECT_EQ(w.Pump(), PumpResult::kSent);
  std::vector<WriteSample> first{{kT0 + 1, 1}, {kT0 + 2, 2}, {kT0 + 3, 3}};
  EXPECT_EQ(Accepted(receiver.Requests())["a"], first);
  // Room again.
  EXPECT_TRUE(w.Enqueue(a, kT0 + 6, 6));
  core::SampleBatch metrics;
  w.AppendSelfMetrics(metrics);
  bool found = false;
  for (const auto& m : metrics) {
    if (m.name == "echomon_remote_write_samples_dropped_total") {
      found = true;
      EXPECT_EQ(m.value, 2);
      EXPECT_EQ(*m.labels.Get("endpoint"), "test");
    }
  }
  EXPECT_TRUE(found);
  w.Stop(0);
}

TEST(RemoteWriter, ANetworkErrorIsRetriedUntilTheEndpointComesUp) {
  const int port = testing::FreeLoopbackPort();
  ManualClock clock(kT0);
  RemoteWriter w(Config("http://127.0.0.1:" + std::to_string(port) + "/api/v1/write"), &clock, 1);
  ASSERT_TRUE(w.Start(false).ok());
  w.Enqueue(w.AddSeries("a", {}), kT0, 42);
  EXPECT_EQ(w.Pump(true), PumpResult::kRetry);
  EXPECT_EQ(w.Stats().last_status, 0);
  EXPECT_NE(w.Stats().last_error, "");
  FakeReceiver receiver(port);
  ASSERT_EQ(receiver.port(), port);
  clock.Set(*w.NextAttemptNanos() / 1'000'000);
  EXPECT_EQ(w.Pump(true), PumpResult::kSent);
  std::vector<WriteSample> want{{kT0, 42}};
  EXPECT_EQ(Accepted(receiver.Requests())["a"], want);
  w.Stop(0);
}

TEST(RemoteWriter, SendsTheSpecificationHeadersExternalLabelsAndSkipsDroppedMetrics) {
  FakeReceiver receiver;
  ManualClock clock(kT0);
  auto config = Config(receiver.Url());
  config.headers = {{"Authorization", "Bearer s3cret"}};
  config.external_labels = {{"cluster", "lab"}, {"job", "external"}};
  config.drop_metrics = "go_.*";
  RemoteWriter w(config, &clock, 1);
  ASSERT_TRUE(w.Start(false).ok());
  EXPECT_EQ(w.AddSeries("go_goroutines", {}), RemoteWriter::kNotSent);
  EXPECT_NE(w.AddSeries("not_go_metric", {}), RemoteWriter::kNotSent);  // whole-name match
  const uint32_t a = w.AddSeries("a", {{"job", "own"}});
  EXPECT_TRUE(w.Enqueue(RemoteWriter::kNotSent, kT0, 1));  // ignored
  w.Enqueue(a, kT0, 1);
  EXPECT_EQ(w.Pump(true), PumpResult::kSent);
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& h = requests[0].headers;
  auto header = [&](const char* k) {
    auto it = h.find(k);
    return it == h.end() ? std::string("<missing>") : it->second;
  };
  EXPECT_EQ(header("Content-Encoding"), "snappy");
  EXPECT_EQ(header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(header("X-Prometheus-Remote-Write-Version"), "0.1.0");
  EXPECT_EQ(header("User-Agent").rfind("echomon/", 0), 0u);
  EXPECT_EQ(header("Authorization"), "Bearer s3cret");
  ASSERT_EQ(requests[0].series.size(), 1u);
  const core::Labels want{{"__name__", "a"}, {"cluster", "lab"}, {"job", "own"}};
  EXPECT_EQ(requests[0].series[0].labels, want);
  EXPECT_EQ(w.Stats().samples_enqueued, 1u);
  w.Stop(0);
}

TEST(RemoteWriter, TheSenderThreadSendsOnTheBatchDeadlineAndStopFlushes) {
  FakeReceiver receiver;
  auto config = Config(receiver.Url());
  config.batch_send_deadline_ms = 50;
  config.max_samples_per_send = 100;
  RemoteWriter w(config, SystemClock::Get());
  ASSERT_TRUE(w.Start().ok());
  const uint32_t a = w.AddSeries("a", {});
  for (int i = 0; i < 3; ++i) w.Enqueue(a, kT0 + i, i);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (w.Stats().samples_sent < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(w.Stats().samples_sent, 3u);
  // Two more, then Stop before their deadline could pass on its own.
  w.Enqueue(a, kT0 + 3, 3);
  w.Enqueue(a, kT0 + 4, 4);
  w.Stop(/*flush_deadline_ms=*/5000);
  EXPECT_EQ(w.Stats().samples_sent, 5u);
  EXPECT_EQ(w.Stats().samples_dropped, 0u);
  EXPECT_EQ(Accepted(receiver.Requests())["a"].size(), 5u);
  EXPECT_FALSE(w.Enqueue(a, kT0 + 5, 5));  // stopped
}

TEST(RemoteWriter, StopGivesUpAtItsDeadlineAndCountsWhatWasLeft) {
  FakeReceiver receiver;
  receiver.Script({503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503,
                   503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503});
  auto config = Config(receiver.Url());
  config.min_backoff_ms = 20;
  config.max_backoff_ms = 40;
  RemoteWriter w(config, SystemClock::Get());
  ASSERT_TRUE(w.Start().ok());
  const uint32_t a = w.AddSeries("a", {});
  for (int i = 0; i < 6; ++i) w.Enqueue(a, kT0 + i, i);
  const auto start = std::chrono::steady_clock::now();
  w.Stop(/*flush_deadline_ms=*/300);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(3));
  const RemoteWriterStats s = w.Stats();
  EXPECT_EQ(s.samples_sent, 0u);
  EXPECT_EQ(s.samples_dropped, 6u);
  EXPECT_EQ(s.queue_length, 0u);
}

TEST(RemoteWriter, StartRejectsABadUrlNamingTheEndpoint) {
  core::RemoteWriteConfig c;
  c.name = "central";
  c.url = "ftp://example.org/x";
  RemoteWriter w(c, SystemClock::Get());
  Status s = w.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("central"), std::string::npos);
}

}  // namespace
}  // namespace echomon::remote_write
