// Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
//
// Parse() turns a whole scrape body into metric families. It never throws and never crashes on
// any input: malformed or over-limit input yields an error naming the 1-based line and column
// (byte offset in the line) and the reason. Input from outside is bounded by ParseLimits.
//
// Prometheus text (0.0.4) is parsed the way Prometheus' own parser does: `#` lines other than
// HELP/TYPE are comments, blank lines are skipped, samples of a family may appear apart and are
// merged, timestamps are integer milliseconds, and exemplars are not part of the format.
// OpenMetrics 1.0 is parsed strictly, with the semantic rules of the specification (see
// docs/exposition-parser.md for the full list), and passes the OpenMetrics conformance suite.
//
// Thread-safety: free functions on value types; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/metric.h"
#include "echomon/status.h"

namespace echomon::collect::expfmt {

enum class Format {
  kPrometheusText,  // text/plain; version=0.0.4
  kOpenMetrics,     // application/openmetrics-text; version=1.0.0
};

// OpenMetrics for an `application/openmetrics-text` media type (any parameters, any case),
// Prometheus text for everything else (including an empty Content-Type).
Format FormatFromContentType(std::string_view content_type);
// "prometheus" or "openmetrics".
const char* FormatName(Format format);

enum class MetricType {
  kUnknown,  // OpenMetrics "unknown", Prometheus "untyped", or no TYPE line
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateSet,
};

// The OpenMetrics spelling: "unknown", "counter", ..., "stateset".
const char* MetricTypeName(MetricType type);
// The type a family's samples are stored with: counter, histogram and summary keep their type,
// unknown/untyped becomes untyped, everything else (gauge, info, stateset, gaugehistogram) gauge.
core::MetricType StoredMetricType(MetricType type);

struct Exemplar {
  core::Labels labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

struct Sample {
  std::string name;  // full sample name, suffix included (e.g. "x_bucket", "x_total")
  core::Labels labels;
  double value = 0;
  // Milliseconds since the epoch. OpenMetrics seconds are converted (sub-millisecond digits
  // truncated toward zero); values beyond the int64 range saturate.
  std::optional<int64_t> timestamp_ms;
  std::optional<Exemplar> exemplar;  // OpenMetrics only
};

struct MetricFamily {
  std::string name;  // the family name from TYPE/HELP/UNIT, else the sample name
  MetricType type = MetricType::kUnknown;
  std::string help;  // unescaped
  std::string unit;  // OpenMetrics only
  std::vector<Sample> samples;
};

// Bounds on what one Parse() call accepts. Exceeding one is an error (kResourceExhausted) whose
// message names the limit.
struct ParseLimits {
  size_t max_body_bytes = 16u << 20;         // whole input
  size_t max_line_bytes = 64u << 10;         // one line, without its newline
  size_t max_samples = 100'000;              // samples over all families
  size_t max_labels_per_series = 64;         // labels on one sample or exemplar
  size_t max_label_name_bytes = 1024;        // one label name
  size_t max_label_value_bytes = 16u << 10;  // one label value, as written (escaped)
};

struct ParseError {
  int line = 0;    // 1-based; 0 when the error is about the whole input (e.g. its size)
  int column = 0;  // 1-based byte offset within the line; 0 with line 0
  std::string message;
  bool resource_exhausted = false;  // a ParseLimits bound was exceeded

  // "line 7, column 12: expected '=' after label name" (or just the message when line is 0).
  std::string ToString() const;
};

// Parses a whole exposition body. On failure the Status is kParseError (or kResourceExhausted
// for a ParseLimits bound) with ParseError::ToString() as its message, and *error, when given,
// receives the structured error. On success *error is left untouched.
Result<std::vector<MetricFamily>> Parse(std::string_view text, Format format,
                                        const ParseLimits& limits = {},
                                        ParseError* error = nullptr);

}  // namespace echomon::collect::expfmt
