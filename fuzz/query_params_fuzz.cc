// Fuzzes the parsers of HTTP query parameters: label matchers, query times, listen addresses.
#include <cstdint>
#include <string>
#include <vector>

#include "core/labels.h"
#include "server/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<echomon::core::LabelMatcher> matchers;
  std::string error;
  if (echomon::core::ParseLabelMatchers(text, &matchers, &error)) {
    echomon::core::Labels labels;
    for (const auto& m : matchers) labels.Set(m.name, m.value);
    for (const auto& m : matchers) (void)m.Matches(labels);
    // Whatever parsed renders back to text that parses to the same matchers (quoting and
    // escaping can push the text past the length limit; that refusal is expected).
    const std::string rendered = echomon::core::MatchersToString(matchers);
    std::vector<echomon::core::LabelMatcher> back;
    if (rendered.size() <= echomon::core::LabelMatcher::kMaxMatcherText &&
        (!echomon::core::ParseLabelMatchers(rendered, &back, &error) ||
         back.size() != matchers.size())) {
      __builtin_trap();
    }
  }
  int64_t t = 0;
  (void)echomon::server::ParseQueryTime(text, 1'700'000'000'000, &t);
  std::string host;
  int port = 0;
  (void)echomon::server::SplitHostPort(text, &host, &port);
  (void)echomon::server::ParseQueryString(text);
  return 0;
}
