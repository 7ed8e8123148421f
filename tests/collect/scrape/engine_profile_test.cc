#include "collect/scrape/engine_profile.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/test_util.h"
#include "fake_engine.h"

namespace echomon::collect {
namespace {

using echomon::testing::Bump;
using echomon::testing::FakeEngine;
using echomon::testing::ReadFile;
using echomon::testing::SetValue;

const std::string kQwen = "Qwen/Qwen3-0.6B";

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

size_t Count(const core::SampleBatch& batch, const std::string& name) {
  size_t n = 0;
  for (const auto& s : batch) n += s.name == name ? 1 : 0;
  return n;
}

// Value of name{engine, model[, extra label]}; fails the test when absent.
double Value(const core::SampleBatch& batch, const std::string& name, const std::string& model,
             const std::string& engine, std::pair<std::string, std::string> extra = {}) {
  core::Labels labels{{"engine", engine}, {"model", model}};
  if (!extra.first.empty()) labels.Set(extra.first, extra.second);
  const core::Sample* s = Find(batch, name, labels);
  EXPECT_NE(s, nullptr) << name << labels.ToString();
  return s != nullptr ? s->value : -1;
}

std::string V0(const std::string& series, const std::string& extra = "") {
  return "vllm:" + series + "{" + extra + "model_name=\"" + kQwen + "\"}";
}

// Adds n observations to vllm:e2e_request_latency_seconds, all in the bucket with upper bound
// le (cumulative buckets from le upwards grow by n).
void ObserveE2e(std::string* body, const std::string& le, int n) {
  static const std::vector<std::string> kBounds = {
      "0.3",   "0.5",   "0.8",   "1.0",    "1.5",    "2.0",  "2.5",  "5.0",
      "10.0",  "15.0",  "20.0",  "30.0",   "40.0",   "50.0", "60.0", "120.0",
      "240.0", "480.0", "960.0", "1920.0", "7680.0", "+Inf"};
  bool reached = false;
  for (const auto& b : kBounds) {
    reached = reached || b == le;
    if (reached) Bump(body, V0("e2e_request_latency_seconds_bucket", "le=\"" + b + "\","), n);
  }
  Bump(body, V0("e2e_request_latency_seconds_count"), n);
}

TEST(EngineCollector, DerivesRatesAndQuantilesFromAVllmV0Capture) {
  FakeEngine engine;
  std::string body = Capture("vllm_v0_sample.txt");
  engine.Set(body);
  ManualClock clock;
  EngineCollector collector({.name = "qwen", .url = engine.url()}, &clock);
  EXPECT_EQ(collector.name(), "engine:qwen");

  core::SampleBatch first;
  ASSERT_TRUE(collector.Collect(first).ok());
  EXPECT_EQ(collector.prefix(), "vllm:");
  EXPECT_EQ(Find(first, "echomon_engine_up", {{"engine", "qwen"}})->value, 1);
  // The first scrape has no interval: gauges only.
  EXPECT_EQ(Count(first, "echomon_engine_generation_tokens_per_second"), 0u);
  EXPECT_EQ(Count(first, "echomon_engine_request_latency_seconds"), 0u);
  EXPECT_EQ(Value(first, "echomon_engine_requests_running", kQwen, "qwen"), 0);

  // Two seconds later: +300 generation tokens, +1000 prompt tokens, 4 finished requests, 20 new
  // e2e observations (10 in (15, 20], 10 in (20, 30]), no new TTFT observations.
  clock.Advance(2000);
  Bump(&body, V0("generation_tokens_total"), 300);
  Bump(&body, V0("prompt_tokens_total"), 1000);
  Bump(&body, V0("request_success_total", "finished_reason=\"length\","), 4);
  Bump(&body, V0("num_preemptions_total"), 1);
  ObserveE2e(&body, "20.0", 10);
  ObserveE2e(&body, "30.0", 10);
  SetValue(&body, V0("gpu_cache_usage_perc"), 0.42);
  SetValue(&body, V0("num_requests_running"), 3);
  SetValue(&body, V0("num_requests_waiting"), 5);
  engine.Set(body);

  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_generation_tokens_per_second", kQwen, "qwen"), 150);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_prompt_tokens_per_second", kQwen, "qwen"), 500);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_preemptions_per_second", kQwen, "qwen"), 0.5);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_request_success_per_second", kQwen, "qwen",
                         {"finished_reason", "length"}),
                   2);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_kv_cache_usage_percent", kQwen, "qwen"), 42);
  EXPECT_EQ(Value(out, "echomon_engine_requests_running", kQwen, "qwen"), 3);
  EXPECT_EQ(Value(out, "echomon_engine_requests_waiting", kQwen, "qwen"), 5);
  // p50: rank 10 tops (15, 20] -> 20. p95: rank 19, 9 of 10 into (20, 30] -> 29. p99 -> 29.8.
  EXPECT_DOUBLE_EQ(
      Value(out, "echomon_engine_request_latency_seconds", kQwen, "qwen", {"quantile", "0.5"}), 20);
  EXPECT_DOUBLE_EQ(
      Value(out, "echomon_engine_request_latency_seconds", kQwen, "qwen", {"quantile", "0.95"}),
      29);
  EXPECT_DOUBLE_EQ(
      Value(out, "echomon_engine_request_latency_seconds", kQwen, "qwen", {"quantile", "0.99"}),
      29.8);
  // No new TTFT / inter-token observations: no data, not zero.
  EXPECT_EQ(Count(out, "echomon_engine_time_to_first_token_seconds"), 0u);
  EXPECT_EQ(Count(out, "echomon_engine_inter_token_latency_seconds"), 0u);
  // V0 exposes neither aborts nor prefix-cache counters.
  EXPECT_EQ(Count(out, "echomon_engine_request_errors_per_second"), 0u);
  EXPECT_EQ(Count(out, "echomon_engine_prefix_cache_hit_rate"), 0u);

  // Nothing new: rates 0, still no quantiles.
  clock.Advance(1000);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(Value(out, "echomon_engine_generation_tokens_per_second", kQwen, "qwen"), 0);
  EXPECT_EQ(Count(out, "echomon_engine_request_latency_seconds"), 0u);
}

TEST(EngineCollector, InterTokenLatencyFromTheLegacyTimePerOutputTokenName) {
  FakeEngine engine;
  std::string body = Capture("vllm_v0_sample.txt");
  engine.Set(body);
  ManualClock clock;
  EngineCollector collector({.name = "q", .url = engine.url()}, &clock);
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  // The capture's own bucket bounds of vllm:time_per_output_token_seconds (the V0 name).
  clock.Advance(1000);
  bool reached = false;
  size_t pos = 0;
  const std::string prefix = "vllm:time_per_output_token_seconds_bucket{le=\"";
  std::vector<std::string> bounds;
  while ((pos = body.find("\n" + prefix, pos)) != std::string::npos) {
    size_t start = pos + 1 + prefix.size();
    bounds.push_back(body.substr(start, body.find('"', start) - start));
    pos = start;
  }
  ASSERT_GT(bounds.size(), 3u);
  // All 4 new observations go to the third bucket: every quantile interpolates inside it.
  for (size_t i = 0; i < bounds.size(); ++i) {
    reached = reached || i == 2;
    if (reached) {
      Bump(&body, V0("time_per_output_token_seconds_bucket", "le=\"" + bounds[i] + "\","), 4);
    }
  }
  engine.Set(body);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  const double lo = std::stod(bounds[1]), hi = std::stod(bounds[2]);
  EXPECT_DOUBLE_EQ(
      Value(out, "echomon_engine_inter_token_latency_seconds", kQwen, "q", {"quantile", "0.5"}),
      lo + (hi - lo) * 0.5);
}

// A vLLM V1 body with two engine processes serving one model.
std::string TwoEngineV1() {
  std::string body = Capture("vllm_v1_sample_truncated.txt");
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(pos, end - pos);
    out += line + "\n";
    if (line.rfind("vllm:", 0) == 0) {
      std::string copy = line;
      copy.replace(copy.find("engine=\"0\""), 10, "engine=\"1\"");
      out += copy + "\n";
    }
    pos = end + 1;
  }
  return out;
}

std::string V1(const std::string& name, const std::string& engine) {
  return "vllm:" + name + "{engine=\"" + engine + "\",model_name=\"llama-vllm-single\"}";
}

TEST(EngineCollector, AggregatesVllmV1EnginesAndHandlesCounterResets) {
  FakeEngine engine;
  std::string body = TwoEngineV1();
  engine.Set(body);
  ManualClock clock;
  EngineCollector collector({.name = "llama", .url = engine.url()}, &clock);
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  const std::string model = "llama-vllm-single";

  clock.Advance(2000);
  SetValue(&body, V1("generation_tokens_total", "0"), 100);
  SetValue(&body, V1("generation_tokens_total", "1"), 200);
  SetValue(&body, V1("prefix_cache_queries_total", "0"), 400);
  SetValue(&body, V1("prefix_cache_hits_total", "0"), 100);
  SetValue(&body, V1("num_requests_running", "0"), 2);
  SetValue(&body, V1("num_requests_running", "1"), 3);
  SetValue(&body, V1("kv_cache_usage_perc", "0"), 0.2);
  SetValue(&body, V1("kv_cache_usage_perc", "1"), 0.6);
  SetValue(&body, V1("prompt_tokens_total", "0"), 5000);
  SetValue(&body, V1("prompt_tokens_total", "1"), 10000);
  engine.Set(body);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_generation_tokens_per_second", model, "llama"), 150);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_prompt_tokens_per_second", model, "llama"), 7500);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_prefix_cache_hit_rate", model, "llama"), 0.25);
  EXPECT_EQ(Value(out, "echomon_engine_requests_running", model, "llama"), 5);
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_kv_cache_usage_percent", model, "llama"), 40);

  // Engine 0 restarts: its prompt counter drops from 5000 to 600 (and _created changes), so
  // its new value (600) is its increase; engine 1 (+0) is unaffected.
  clock.Advance(2000);
  SetValue(&body, V1("prompt_tokens_total", "0"), 600);
  SetValue(&body, V1("prompt_tokens_created", "0"), 1.8e9);
  engine.Set(body);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_prompt_tokens_per_second", model, "llama"), 300);

  // A restart that already counted past the old value is caught by the changed _created.
  clock.Advance(2000);
  SetValue(&body, V1("prompt_tokens_total", "0"), 800);
  SetValue(&body, V1("prompt_tokens_created", "0"), 1.9e9);
  engine.Set(body);
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_prompt_tokens_per_second", model, "llama"), 400);
}

// An Aphrodite V1-style body: two engine processes, the current inter-token histogram next to
// its deprecated alias (which must not be counted twice), and both cache-usage names.
std::string AphroditeV1(double itl_fast0, double itl_fast1, double itl_total0, double itl_total1) {
  std::string body =
      "# TYPE aphrodite:kv_cache_usage_perc gauge\n"
      "aphrodite:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n"
      "# TYPE aphrodite:gpu_cache_usage_perc gauge\n"
      "aphrodite:gpu_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.9\n";
  for (const char* name : {"inter_token_latency_seconds", "time_per_output_token_seconds"}) {
    body += std::string("# TYPE aphrodite:") + name + " histogram\n";
    // The deprecated alias carries different numbers, so counting it would change the result.
    const bool legacy = std::string(name) == "time_per_output_token_seconds";
    const double fast[] = {legacy ? 0 : itl_fast0, legacy ? 0 : itl_fast1};
    const double total[] = {itl_total0, itl_total1};
    for (int e = 0; e < 2; ++e) {
      const std::string labels = "engine=\"" + std::to_string(e) + "\",model_name=\"m\"";
      body += std::string("aphrodite:") + name + "_bucket{" + labels + ",le=\"0.01\"} " +
              std::to_string(fast[e]) + "\n";
      body += std::string("aphrodite:") + name + "_bucket{" + labels + ",le=\"0.05\"} " +
              std::to_string(total[e]) + "\n";
      body += std::string("aphrodite:") + name + "_bucket{" + labels + ",le=\"+Inf\"} " +
              std::to_string(total[e]) + "\n";
      body += std::string("aphrodite:") + name + "_count{" + labels + "} " +
              std::to_string(total[e]) + "\n";
    }
  }
  return body;
}

TEST(EngineCollector, PrefersCurrentNamesAndSumsBucketDeltasPerProcess) {
  FakeEngine engine;
  engine.Set(AphroditeV1(100, 1000, 200, 2000));
  ManualClock clock;
  EngineCollector collector({.name = "aph", .url = engine.url()}, &clock);
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.prefix(), "aphrodite:");
  EXPECT_DOUBLE_EQ(Value(out, "echomon_engine_kv_cache_usage_percent", "m", "aph"), 50);

  // Engine 0: +10 fast, +10 slow. Engine 1 restarted: 5 fast, 5 slow since. Summed deltas:
  // 15 <= 0.01, 30 <= 0.05. p50: rank 15 tops the first bucket -> 0.01;
  // p95: rank 28.5 -> 0.01 + 0.04 * 13.5 / 15 = 0.046.
  clock.Advance(1000);
  engine.Set(AphroditeV1(110, 5, 220, 10));
  out.clear();
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_DOUBLE_EQ(
      Value(out, "echomon_engine_inter_token_latency_seconds", "m", "aph", {"quantile", "0.5"}),
      0.01);
  EXPECT_DOUBLE_EQ(
      Value(out, "echomon_engine_inter_token_latency_seconds", "m", "aph", {"quantile", "0.95"}),
      0.046);
  EXPECT_EQ(Count(out, "echomon_engine_inter_token_latency_seconds"), 3u);
}

TEST(EngineCollector, DetectsTheAphroditePrefix) {
  FakeEngine engine;
  engine.Set(Capture("aphrodite_v0_sample.txt"));
  EngineCollector collector({.name = "aph", .url = engine.url()});
  core::SampleBatch out;
  ASSERT_TRUE(collector.Collect(out).ok());
  EXPECT_EQ(collector.prefix(), "aphrodite:");
  EXPECT_EQ(Value(out, "echomon_engine_requests_running", "./Models/llama3-8b-instruct-exl2-6.0bpw",
                  "aph"),
            1);
}

TEST(EngineCollector, UnreachableEngineIsDownNotZero) {
  const std::string url =
      "http://127.0.0.1:" + std::to_string(echomon::testing::FreeLoopbackPort()) + "/metrics";
  EngineCollector collector({.name = "gone", .url = url, .timeout_ms = 500});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(url), std::string::npos);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "echomon_engine_up");
  EXPECT_EQ(out[0].labels, (core::Labels{{"engine", "gone"}}));
  EXPECT_EQ(out[0].value, 0);
}

TEST(EngineCollector, EndpointWithoutEngineMetricsIsDown) {
  FakeEngine engine;
  engine.Set("# TYPE node_load1 gauge\nnode_load1 0.5\n");
  EngineCollector collector({.name = "not-an-engine", .url = engine.url()});
  core::SampleBatch out;
  Status status = collector.Collect(out);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 0);
}

}  // namespace
}  // namespace echomon::collect
