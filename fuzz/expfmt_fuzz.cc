// Fuzz target for the exposition-text parser: the bytes are parsed as Prometheus text and as
// OpenMetrics. Any input must return (ok or an error), never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collect/expfmt/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using echomon::collect::expfmt::Format;
  using echomon::collect::expfmt::Parse;
  using echomon::collect::expfmt::ParseError;
  using echomon::collect::expfmt::ParseLimits;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseLimits limits;
  limits.max_samples = 10'000;
  for (Format format : {Format::kPrometheusText, Format::kOpenMetrics}) {
    ParseError error;
    auto result = Parse(text, format, limits, &error);
    if (!result.ok() && error.message.empty()) __builtin_trap();  // an error always says why
  }
  return 0;
}
