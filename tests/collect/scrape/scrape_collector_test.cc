#include "collect/scrape/scrape_collector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/test_util.h"
#include "fake_engine.h"

namespace echomon::collect {
namespace {

using echomon::testing::FakeEngine;
using echomon::testing::ReadFile;
using echomon::testing::SetValue;

std::string Capture(const std::string& name) {
  return ReadFile(std::string(ECHOMON_SHARED_DATA_DIR) + "/exposition/" + name);
}

const core::Sample* Find(const core::SampleBatch& batch, const std::string& name,
                         const core::Labels& labels) {
  for (const auto& s : batch) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

const core::Sample* FindByName(const core::SampleBatch& batch, const std::string& name) {
  for (const auto& s : batch) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

double SelfMetric(const core::SampleBatch& batch, const std::string& name,
                  const std::string& target) {
  const core::Sample* s = Find(batch, name, core::Labels{{"target", target}});
  EXPECT_NE(s, nullptr) << name;
  return s != nullptr ? s->value : -1;
}

size_t SampleLines(const std::string& text) {
  size_t n = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos && text[pos] != '#') ++n;
    pos = end + 1;
  }
  return n;
}

TEST(ScrapeCollector, ConvertsEverySampleOfARealVllmCapture) {
  FakeEngine engine;
  std::string body = Capture("vllm_v0_sample.txt");
  engine.Set(body);
  ScrapeCollector collector({.name = "vllm", .url = engine.url()});
  EXPECT_EQ(collector.name(), "scrape:vllm");
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());

  const size_t expected = SampleLines(body);
  EXPECT_EQ(out.size(), expected + 4);  // + the four self-metrics
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "vllm"), 1);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_samples", "vllm"), static_cast<double>(expected));
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_errors_total", "vllm"), 0);
  EXPECT_GE(SelfMetric(out, "echomon_scrape_duration_seconds", "vllm"), 0);

  const core::Sample* gen = Find(out, "vllm:generation_tokens_total",
                                 {{"model_name", "Qwen/Qwen3-0.6B"}, {"target", "vllm"}});
  ASSERT_NE(gen, nullptr);
  EXPECT_EQ(gen->value, 4874);
  EXPECT_EQ(gen->type, core::MetricType::kCounter);
  EXPECT_EQ(gen->help, "Number of generation tokens processed.");

  const core::Sample* bucket =
      Find(out, "vllm:e2e_request_latency_seconds_bucket",
           {{"le", "20.0"}, {"model_name", "Qwen/Qwen3-0.6B"}, {"target", "vllm"}});
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->value, 28);
  EXPECT_EQ(bucket->type, core::MetricType::kHistogram);
  ASSERT_NE(FindByName(out, "vllm:e2e_request_latency_seconds_sum"), nullptr);
  ASSERT_NE(FindByName(out, "vllm:e2e_request_latency_seconds_count"), nullptr);
}

TEST(ScrapeCollector, SkipsCreatedSamplesAndDetectsCounterRestarts) {
  FakeEngine engine;
  std::string body = Capture("vllm_v1_sample_truncated.txt");
  engine.Set(body);
  ScrapeCollector collector({.name = "v1", .url = engine.url()});
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  for (const auto& s : out) EXPECT_EQ(s.name.find("_created"), std::string::npos) << s.name;
  ASSERT_NE(FindByName(out, "vllm:prompt_tokens_total"), nullptr);
  EXPECT_EQ(collector.counter_restarts(), 0u);

  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.counter_restarts(), 0u);

  SetValue(&body, R"(vllm:prompt_tokens_created{engine="0",model_name="llama-vllm-single"})",
           1.8e9);
  engine.Set(body);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.counter_restarts(), 1u);
}

TEST(ScrapeCollector, ConnectionRefusedReportsDownAndNamesTheUrl) {
  const std::string url =
      "http://127.0.0.1:" + std::to_string(echomon::testing::FreeLoopbackPort()) + "/metrics";
  ScrapeCollector collector({.name = "gone", .url = url, .timeout_ms = 500});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find(url), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("connect"), std::string::npos) << status.message();
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "gone"), 0);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_samples", "gone"), 0);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_errors_total", "gone"), 1);
  EXPECT_EQ(out.size(), 4u);
}

TEST(ScrapeCollector, HttpErrorStatusFailsTheScrape) {
  FakeEngine engine;
  engine.Set("oops\n", 500);
  ScrapeCollector collector({.name = "e", .url = engine.url()});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("HTTP 500"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(engine.url()), std::string::npos);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "e"), 0);

  // Recovers on the next good scrape; the error count stays.
  engine.Set("a 1\n");
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "e"), 1);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_errors_total", "e"), 1);
}

TEST(ScrapeCollector, ParseErrorNamesLineAndColumn) {
  FakeEngine engine;
  engine.Set("ok 1\nbroken{a=1} 2\n");
  ScrapeCollector collector({.name = "e", .url = engine.url()});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kParseError);
  EXPECT_NE(status.message().find("line 2, column"), std::string::npos) << status.message();
  EXPECT_EQ(FindByName(out, "ok"), nullptr);  // nothing of a failed scrape is emitted
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "e"), 0);
}

TEST(ScrapeCollector, SampleLimitExceededFailsTheScrape) {
  FakeEngine engine;
  engine.Set(Capture("vllm_v0_sample.txt"));
  ScrapeCollector collector({.name = "e", .url = engine.url(), .sample_limit = 10});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("sample_limit=10"), std::string::npos) << status.message();
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "e"), 0);
}

TEST(ScrapeCollector, ChoosesOpenMetricsFromContentType) {
  const std::string om =
      "# TYPE requests counter\n"
      "requests_total 7\n"
      "requests_created 1700000000.5\n"
      "# EOF\n";
  FakeEngine engine;
  engine.Set(om, 200, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  ScrapeCollector collector({.name = "om", .url = engine.url()});
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  const core::Sample* total = FindByName(out, "requests_total");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->type, core::MetricType::kCounter);
  EXPECT_EQ(FindByName(out, "requests_created"), nullptr);

  // OpenMetrics requires the # EOF terminator; Prometheus text does not.
  engine.Set("# TYPE requests counter\nrequests_total 7\n", 200,
             "application/openmetrics-text; version=1.0.0");
  out.clear();
  Status status = collector.Collect(out);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("openmetrics"), std::string::npos) << status.message();
  engine.Set("# TYPE requests counter\nrequests_total 7\n", 200, "text/plain; version=0.0.4");
  out.clear();
  EXPECT_TRUE(collector.Collect(out).ok());
}

TEST(ScrapeCollector, AddsExtraLabelsAndDropsLabels) {
  FakeEngine engine;
  engine.Set("x{a=\"1\",b=\"2\",pod=\"p\"} 5\n");
  ScrapeCollector collector({.name = "t",
                             .url = engine.url(),
                             .extra_labels = {{"host", "h1"}, {"a", "override"}},
                             .drop_labels = {"pod"}});
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  const core::Sample* x = FindByName(out, "x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->labels,
            (core::Labels{{"a", "override"}, {"b", "2"}, {"host", "h1"}, {"target", "t"}}));
  EXPECT_EQ(x->value, 5);
}

TEST(ScrapeCollector, SendsConfiguredHeaders) {
  httplib::Server server;
  std::string seen;
  server.Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
    seen = req.get_header_value("Authorization");
    res.set_content("a 1\n", "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ScrapeCollector collector({.name = "h",
                             .url = "http://127.0.0.1:" + std::to_string(port) + "/metrics",
                             .headers = {{"Authorization", "Bearer s3cret"}}});
  core::SampleBatch out;
  EXPECT_TRUE(collector.Collect(out).ok());
  server.stop();
  thread.join();
  EXPECT_EQ(seen, "Bearer s3cret");
}

TEST(ScrapeCollector, RejectsMalformedUrl) {
  ScrapeCollector collector({.name = "bad", .url = "ftp://x/metrics"});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SelfMetric(out, "echomon_scrape_up", "bad"), 0);
}

}  // namespace
}  // namespace echomon::collect
