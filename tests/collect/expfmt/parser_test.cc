#include "collect/expfmt/parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace echomon::collect::expfmt {
namespace {

std::string ReadCapture(const std::string& name) {
  std::ifstream in(std::string(ECHOMON_SHARED_DATA_DIR) + "/exposition/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const MetricFamily* FindFamily(const std::vector<MetricFamily>& families, std::string_view name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<MetricFamily> MustParse(std::string_view text, Format format) {
  ParseError error;
  auto result = Parse(text, format, ParseLimits{}, &error);
  EXPECT_TRUE(result.ok()) << error.ToString();
  return result.ok() ? std::move(result).value() : std::vector<MetricFamily>{};
}

ParseError MustFail(std::string_view text, Format format, const ParseLimits& limits = {}) {
  ParseError error;
  auto result = Parse(text, format, limits, &error);
  EXPECT_FALSE(result.ok()) << text;
  return error;
}

// --- Real captures, Prometheus text mode ------------------------------------------------------

TEST(ExpfmtPrometheus, ParsesVllmV0Capture) {
  const auto families = MustParse(ReadCapture("vllm_v0_sample.txt"), Format::kPrometheusText);
  ASSERT_EQ(families.size(), 16u);
  size_t samples = 0;
  for (const auto& f : families) samples += f.samples.size();
  EXPECT_EQ(samples, 150u);

  const MetricFamily* info = FindFamily(families, "vllm:cache_config_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->type, MetricType::kGauge);
  EXPECT_EQ(info->help, "Information of the LLMEngine CacheConfig");
  ASSERT_EQ(info->samples.size(), 1u);
  EXPECT_EQ(info->samples[0].labels.size(), 15u);
  EXPECT_EQ(*info->samples[0].labels.Get("num_gpu_blocks"), "2340");
  EXPECT_EQ(*info->samples[0].labels.Get("swap_space_bytes"), "4294967296.0");
  EXPECT_EQ(info->samples[0].value, 1.0);

  const MetricFamily* lora = FindFamily(families, "vllm:lora_requests_info");
  ASSERT_NE(lora, nullptr);
  EXPECT_EQ(*lora->samples[0].labels.Get("running_lora_adapters"), "");
  EXPECT_DOUBLE_EQ(lora->samples[0].value, 1.755178079975038e+09);

  // A histogram whose family name ends in _total; its _sum comes before the buckets.
  const MetricFamily* iter = FindFamily(families, "vllm:iteration_tokens_total");
  ASSERT_NE(iter, nullptr);
  EXPECT_EQ(iter->type, MetricType::kHistogram);
  ASSERT_EQ(iter->samples.size(), 16u);
  EXPECT_EQ(iter->samples[0].name, "vllm:iteration_tokens_total_sum");
  EXPECT_EQ(iter->samples[0].value, 48826.0);
  const double kLe[] = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
  const double kCounts[] = {416,  1302, 1302, 1302, 1302, 1302, 1306,
                            1309, 1320, 1320, 1321, 1325, 1325, 1325};
  for (int b = 0; b < 14; ++b) {
    const Sample& s = iter->samples[1 + b];
    EXPECT_EQ(s.name, "vllm:iteration_tokens_total_bucket");
    EXPECT_EQ(*s.labels.Get("model_name"), "Qwen/Qwen3-0.6B");
    EXPECT_EQ(s.value, kCounts[b]) << b;
    if (b < 13) {
      EXPECT_EQ(std::stod(*s.labels.Get("le")), kLe[b]) << b;
    } else {
      EXPECT_EQ(*s.labels.Get("le"), "+Inf");
    }
  }
  EXPECT_EQ(iter->samples[15].name, "vllm:iteration_tokens_total_count");
  EXPECT_EQ(iter->samples[15].value, 1325.0);

  const MetricFamily* ttft = FindFamily(families, "vllm:time_to_first_token_seconds");
  ASSERT_NE(ttft, nullptr);
  EXPECT_DOUBLE_EQ(ttft->samples[0].value, 4941.843970537186);

  const MetricFamily* success = FindFamily(families, "vllm:request_success_total");
  ASSERT_NE(success, nullptr);
  EXPECT_EQ(success->type, MetricType::kCounter);
  ASSERT_EQ(success->samples.size(), 1u);
  EXPECT_EQ(success->samples[0].name, "vllm:request_success_total");
  EXPECT_EQ(*success->samples[0].labels.Get("finished_reason"), "length");
  EXPECT_EQ(success->samples[0].value, 38.0);
  EXPECT_FALSE(success->samples[0].timestamp_ms.has_value());
}

TEST(ExpfmtPrometheus, TruncatedVllmV1CaptureIsValidWithDanglingHelp) {
  // The capture was cut by `head -40`: its last line is a complete HELP line whose TYPE and
  // samples were cut off. A family with HELP and no samples is valid Prometheus text.
  const auto families =
      MustParse(ReadCapture("vllm_v1_sample_truncated.txt"), Format::kPrometheusText);
  ASSERT_EQ(families.size(), 14u);
  const MetricFamily& last = families.back();
  EXPECT_EQ(last.name, "vllm:request_success_total");
  EXPECT_EQ(last.help, "Count of successfully processed requests.");
  EXPECT_EQ(last.type, MetricType::kUnknown);
  EXPECT_TRUE(last.samples.empty());

  const MetricFamily* created = FindFamily(families, "vllm:prefix_cache_queries_created");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->type, MetricType::kGauge);
  ASSERT_EQ(created->samples.size(), 1u);
  EXPECT_EQ(*created->samples[0].labels.Get("engine"), "0");
  EXPECT_EQ(*created->samples[0].labels.Get("model_name"), "llama-vllm-single");
  EXPECT_DOUBLE_EQ(created->samples[0].value, 1.7769301736864316e+09);

  const MetricFamily* queries = FindFamily(families, "vllm:prefix_cache_queries_total");
  ASSERT_NE(queries, nullptr);
  EXPECT_EQ(queries->type, MetricType::kCounter);
  EXPECT_EQ(queries->samples[0].value, 0.0);
}

TEST(ExpfmtPrometheus, VllmV1CaptureIsNotOpenMetrics) {
  // In OpenMetrics a counter named x_total owns samples x_total_total, so the sample
  // vllm:prefix_cache_queries_total starts a second family with a clashing name.
  const ParseError error =
      MustFail(ReadCapture("vllm_v1_sample_truncated.txt"), Format::kOpenMetrics);
  EXPECT_EQ(error.line, 12);
  EXPECT_NE(error.message.find("clashes"), std::string::npos) << error.message;
}

TEST(ExpfmtPrometheus, ParsesAphroditeCapture) {
  const auto families = MustParse(ReadCapture("aphrodite_v0_sample.txt"), Format::kPrometheusText);
  ASSERT_EQ(families.size(), 3u);
  EXPECT_EQ(families[0].name, "aphrodite:num_requests_running");
  EXPECT_EQ(families[0].type, MetricType::kGauge);
  EXPECT_EQ(families[0].help, "Number of requests currently running on GPU.");
  EXPECT_EQ(*families[0].samples[0].labels.Get("model_name"),
            "./Models/llama3-8b-instruct-exl2-6.0bpw");
  EXPECT_EQ(families[0].samples[0].value, 1.0);
  EXPECT_EQ(families[1].name, "aphrodite:num_requests_swapped");
  EXPECT_EQ(families[2].name, "aphrodite:num_requests_waiting");
  EXPECT_EQ(families[2].samples[0].value, 0.0);
}

// --- Prometheus text specifics ---------------------------------------------------------------

TEST(ExpfmtPrometheus, TimestampsAreIntegerMilliseconds) {
  const auto f = MustParse("a 1 1700000000123\nb 2 -5\n", Format::kPrometheusText);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].samples[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(f[1].samples[0].timestamp_ms, -5);
  const ParseError e = MustFail("a 1 1.5\n", Format::kPrometheusText);
  EXPECT_EQ(e.ToString(),
            "line 1, column 5: invalid timestamp '1.5' (expected integer milliseconds)");
}

TEST(ExpfmtPrometheus, CommentsBlankLinesAndWhitespaceAreTolerated) {
  const auto f = MustParse(
      "# a comment\n\n  # HELP x  Some help \n# TYPE x gauge\n"
      "x { a = \"1\" , b=\"2\", } 3 \r\n\t\n",
      Format::kPrometheusText);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].help, "Some help ");
  ASSERT_EQ(f[0].samples.size(), 1u);
  EXPECT_EQ(*f[0].samples[0].labels.Get("a"), "1");
  EXPECT_EQ(*f[0].samples[0].labels.Get("b"), "2");
  EXPECT_EQ(f[0].samples[0].value, 3.0);
}

TEST(ExpfmtPrometheus, ExemplarIsAnError) {
  const ParseError e = MustFail("a_total 1 # {a=\"b\"} 1\n", Format::kPrometheusText);
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.column, 11);
  EXPECT_NE(e.message.find("exemplars are not part of the Prometheus text format"),
            std::string::npos);
}

TEST(ExpfmtPrometheus, EscapesInLabelValuesAndHelp) {
  const auto f = MustParse(
      "# HELP a line1\\nback\\\\slash \\\"kept\n"
      "a{v=\"q\\\"x\\ny\\\\z\\t\"} 1\n",
      Format::kPrometheusText);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].help, "line1\nback\\slash \\\"kept");           // \" is not an escape in HELP
  EXPECT_EQ(*f[0].samples[0].labels.Get("v"), "q\"x\ny\\z\\t");  // unknown escape kept
}

TEST(ExpfmtPrometheus, SpecialValues) {
  const auto f = MustParse("a NaN\nb +Inf\nc -Inf\nd 1e3\n", Format::kPrometheusText);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_TRUE(std::isnan(f[0].samples[0].value));
  EXPECT_EQ(f[1].samples[0].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(f[2].samples[0].value, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(f[3].samples[0].value, 1000.0);
}

TEST(ExpfmtPrometheus, SummaryAndHistogramSamplesJoinTheirFamily) {
  const auto f = MustParse(
      "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
      "other 1\nh_count 2\n",
      Format::kPrometheusText);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].samples.size(), 3u);
  EXPECT_EQ(f[1].samples.size(), 5u);  // the late h_count merges into h, as Prometheus does
  EXPECT_EQ(f[2].name, "other");
  EXPECT_EQ(f[2].type, MetricType::kUnknown);
}

TEST(ExpfmtPrometheus, RejectsMalformedInput) {
  EXPECT_EQ(MustFail("a{b\"c\"} 1\n", Format::kPrometheusText).ToString(),
            "line 1, column 4: expected '=' after label name");
  EXPECT_EQ(MustFail("ok 1\na{b=\"1\",b=\"2\"} 1\n", Format::kPrometheusText).ToString(),
            "line 2, column 9: duplicate label name 'b'");
  EXPECT_EQ(MustFail("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", Format::kPrometheusText).line,
            2);
  EXPECT_EQ(MustFail("# TYPE a gauge\n# TYPE a counter\n", Format::kPrometheusText).line, 2);
  EXPECT_EQ(MustFail("a 1\n# TYPE a gauge\n", Format::kPrometheusText).line, 2);
  EXPECT_EQ(MustFail("# TYPE a bogus\n", Format::kPrometheusText).column, 10);
  EXPECT_EQ(MustFail("a 0x10\n", Format::kPrometheusText).column, 3);
  EXPECT_EQ(MustFail("a{b=\"\xff\"} 1\n", Format::kPrometheusText).message,
            "label value is not valid UTF-8");
}

// --- OpenMetrics specifics -------------------------------------------------------------------

TEST(ExpfmtOpenMetrics, TimestampsAreSecondsConvertedToMilliseconds) {
  const auto f = MustParse(
      "# TYPE a gauge\na{x=\"1\"} 1 1700000000.123456\na{x=\"2\"} 1 1.5e3\n"
      "a{x=\"3\"} 1 -1.25\na{x=\"4\"} 1 12345678901234567890.1\n# EOF\n",
      Format::kOpenMetrics);
  ASSERT_EQ(f.size(), 1u);
  ASSERT_EQ(f[0].samples.size(), 4u);
  EXPECT_EQ(f[0].samples[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(f[0].samples[1].timestamp_ms, 1500000);
  EXPECT_EQ(f[0].samples[2].timestamp_ms, -1250);
  EXPECT_EQ(f[0].samples[3].timestamp_ms, std::numeric_limits<int64_t>::max());
}

TEST(ExpfmtOpenMetrics, KeepsExemplarsAndMetadata) {
  const auto f = MustParse(
      "# TYPE rq_seconds counter\n# UNIT rq_seconds seconds\n# HELP rq_seconds Say \\\"hi\\\"\n"
      "rq_seconds_total{path=\"/\"} 7 1.5 # {trace_id=\"abc\"} 0.25 1.001\n"
      "rq_seconds_created{path=\"/\"} 1.5 1.5\n# EOF",
      Format::kOpenMetrics);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, MetricType::kCounter);
  EXPECT_EQ(f[0].unit, "seconds");
  EXPECT_EQ(f[0].help, "Say \"hi\"");
  ASSERT_EQ(f[0].samples.size(), 2u);
  const Sample& s = f[0].samples[0];
  EXPECT_EQ(s.name, "rq_seconds_total");
  EXPECT_EQ(s.value, 7.0);
  EXPECT_EQ(s.timestamp_ms, 1500);
  ASSERT_TRUE(s.exemplar.has_value());
  EXPECT_EQ(*s.exemplar->labels.Get("trace_id"), "abc");
  EXPECT_EQ(s.exemplar->value, 0.25);
  EXPECT_EQ(s.exemplar->timestamp_ms, 1001);
  EXPECT_EQ(f[0].samples[1].name, "rq_seconds_created");
}

TEST(ExpfmtOpenMetrics, AllTypes) {
  const auto f = MustParse(
      "# TYPE i info\ni_info{v=\"1.2\"} 1\n"
      "# TYPE st stateset\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n"
      "# TYPE gh gaugehistogram\ngh_bucket{le=\"-1\"} 1\ngh_bucket{le=\"+Inf\"} 2\n"
      "gh_gcount 2\ngh_gsum -3\n"
      "# TYPE u unknown\nu 5\n# EOF\n",
      Format::kOpenMetrics);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].type, MetricType::kInfo);
  EXPECT_EQ(f[1].type, MetricType::kStateSet);
  EXPECT_EQ(f[1].samples.size(), 2u);
  EXPECT_EQ(f[2].type, MetricType::kGaugeHistogram);
  EXPECT_EQ(f[2].samples[3].value, -3.0);
  EXPECT_EQ(f[3].type, MetricType::kUnknown);
}

TEST(ExpfmtOpenMetrics, SemanticErrorsNameTheRule) {
  EXPECT_EQ(MustFail("# TYPE a histogram\na_bucket{le=\"1\"} 2\na_bucket{le=\"+Inf\"} 1\n# EOF\n",
                     Format::kOpenMetrics)
                .ToString(),
            "line 3, column 21: histogram bucket values must be cumulative (non-decreasing)");
  EXPECT_EQ(MustFail("a 1\n# EOF\n\n", Format::kOpenMetrics).ToString(),
            "line 3, column 1: text after '# EOF'");
  EXPECT_EQ(MustFail("a 1\n", Format::kOpenMetrics).ToString(),
            "line 2, column 1: missing '# EOF' at the end of the input");
  EXPECT_EQ(MustFail("# TYPE a counter\na_total -1\n# EOF\n", Format::kOpenMetrics).ToString(),
            "line 2, column 9: value of 'a_total' must not be negative");
}

// --- Limits ----------------------------------------------------------------------------------

TEST(ExpfmtLimits, EachLimitIsEnforcedAndNamed) {
  ParseLimits limits;
  limits.max_samples = 2;
  ParseError e = MustFail("a 1\nb 1\nc 1\n", Format::kPrometheusText, limits);
  EXPECT_TRUE(e.resource_exhausted);
  EXPECT_EQ(e.line, 3);
  EXPECT_NE(e.message.find("max_samples"), std::string::npos);

  limits = ParseLimits{};
  limits.max_labels_per_series = 2;
  e = MustFail("a{x=\"1\",y=\"2\",z=\"3\"} 1\n", Format::kPrometheusText, limits);
  EXPECT_NE(e.message.find("max_labels_per_series"), std::string::npos);

  limits = ParseLimits{};
  limits.max_line_bytes = 8;
  e = MustFail("a 1\nabcdefghi 1\n", Format::kPrometheusText, limits);
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(e.message.find("max_line_bytes"), std::string::npos);

  limits = ParseLimits{};
  limits.max_body_bytes = 4;
  auto r = Parse("a 1\nb 2\n", Format::kOpenMetrics, limits, &e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(r.status().message().find("max_body_bytes"), std::string::npos);

  limits = ParseLimits{};
  limits.max_label_value_bytes = 3;
  e = MustFail("a{x=\"abcd\"} 1\n# EOF\n", Format::kOpenMetrics, limits);
  EXPECT_NE(e.message.find("max_label_value_bytes"), std::string::npos);

  limits = ParseLimits{};
  limits.max_label_name_bytes = 3;
  e = MustFail("a{abcd=\"x\"} 1\n", Format::kPrometheusText, limits);
  EXPECT_NE(e.message.find("max_label_name_bytes"), std::string::npos);
}

TEST(ExpfmtParse, ErrorStatusCarriesPosition) {
  auto r = Parse("a{b} 1\n", Format::kPrometheusText);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_EQ(r.status().message(), "line 1, column 4: expected '=' after label name");
}

TEST(ExpfmtFormat, FromContentType) {
  EXPECT_EQ(FormatFromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType(" Application/OpenMetrics-Text"), Format::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType("text/plain; version=0.0.4; charset=utf-8"),
            Format::kPrometheusText);
  EXPECT_EQ(FormatFromContentType(""), Format::kPrometheusText);
  EXPECT_EQ(FormatFromContentType("application/openmetrics-textx"), Format::kPrometheusText);
  EXPECT_STREQ(FormatName(Format::kOpenMetrics), "openmetrics");
  EXPECT_STREQ(MetricTypeName(MetricType::kGaugeHistogram), "gaugehistogram");
}

}  // namespace
}  // namespace echomon::collect::expfmt
