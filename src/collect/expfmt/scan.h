// Low-level scanning shared by the Prometheus-text and OpenMetrics parsers: names, label sets,
// numbers, timestamps, escapes and UTF-8. Everything works on one line (a string_view without
// its newline) and a byte position in it; nothing allocates except the label strings it returns.
//
// Internal to echomon_expfmt. Thread-safety: free functions, no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collect/expfmt/parser.h"
#include "core/labels.h"

namespace echomon::collect::expfmt::internal {

// A failure inside one line: 0-based byte position and reason.
struct ScanError {
  size_t pos = 0;
  std::string message;
  bool resource_exhausted = false;
};

// Character classes for names, as a table: bit 1 metric-name start, 2 metric-name char,
// 4 label-name start, 8 label-name char.
struct NameCharTable {
  unsigned char bits[256] = {};
  constexpr NameCharTable() {
    for (int c = 0; c < 256; ++c) {
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      const bool digit = c >= '0' && c <= '9';
      bits[c] = static_cast<unsigned char>((alpha || c == ':' ? 1 : 0) |
                                           (alpha || c == ':' || digit ? 2 : 0) | (alpha ? 4 : 0) |
                                           (alpha || digit ? 8 : 0));
    }
  }
};
inline constexpr NameCharTable kNameChars;

inline bool IsMetricNameStart(char c) { return kNameChars.bits[static_cast<unsigned char>(c)] & 1; }
inline bool IsMetricNameChar(char c) { return kNameChars.bits[static_cast<unsigned char>(c)] & 2; }
inline bool IsLabelNameStart(char c) { return kNameChars.bits[static_cast<unsigned char>(c)] & 4; }
inline bool IsLabelNameChar(char c) { return kNameChars.bits[static_cast<unsigned char>(c)] & 8; }
inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Length of the metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) starting at line[pos]; 0 if none.
size_t ScanMetricName(std::string_view line, size_t pos);
// Length of the label name ([a-zA-Z_][a-zA-Z0-9_]*) starting at line[pos]; 0 if none.
size_t ScanLabelName(std::string_view line, size_t pos);
// Index of the first byte at or after pos that is not a blank or tab.
size_t SkipBlanks(std::string_view line, size_t pos);

// How a label set may be written.
enum class LabelSyntax {
  kOpenMetrics,  // no whitespace inside the braces, no trailing comma
  kPrometheus,   // blanks around tokens and a trailing comma are accepted
};

// Parses a label set starting at line[*pos] == '{' into *labels (which must be empty). On
// success *pos is just past the closing '}'. Values are unescaped (\\, \", \n; any other escape
// is kept as written) and must be valid UTF-8. Fails on a malformed set, a duplicate or reserved
// (__name__) label name, or a ParseLimits bound.
bool ParseLabelSet(std::string_view line, size_t* pos, LabelSyntax syntax,
                   const ParseLimits& limits, core::Labels* labels, ScanError* error);

// Parses a real number as both formats write it: [sign] digits [. digits] [e[sign]digits],
// [sign] . digits [exponent], [sign] Inf / Infinity, NaN (keywords case-insensitive). Hex,
// underscores and surrounding whitespace are rejected. Out-of-range values become ±Inf or 0.
bool ParseNumber(std::string_view token, double* out);

// Parses an OpenMetrics timestamp (a real number of seconds, not NaN or ±Inf) into seconds and
// milliseconds (sub-millisecond digits truncated toward zero; saturated to the int64 range).
bool ParseSecondsTimestamp(std::string_view token, double* seconds, int64_t* ms);

// Parses a Prometheus-text timestamp: an optionally signed decimal int64 of milliseconds.
bool ParseInt64(std::string_view token, int64_t* out);

// Unescapes HELP text: \\ and \n always, \" too when quote is true; any other escape is kept.
void UnescapeHelp(std::string_view text, bool quote, std::string* out);

bool IsValidUtf8(std::string_view s);
// Number of code points in valid UTF-8 text.
size_t CountRunes(std::string_view s);

}  // namespace echomon::collect::expfmt::internal
