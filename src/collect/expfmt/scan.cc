#include "collect/expfmt/scan.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace echomon::collect::expfmt::internal {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Checks the decimal grammar (no sign): digits [. digits] [e [sign] digits] or . digits [exp].
// Sets *has_exponent.
bool IsDecimal(std::string_view s, bool* has_exponent) {
  size_t i = 0;
  size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  *has_exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    *has_exponent = true;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

double ConvertDecimal(std::string_view s, bool negative) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    // Out of range (or a form from_chars declines): strtod saturates to ±HUGE_VAL or 0.
    std::string copy(s);
    v = std::strtod(copy.c_str(), nullptr);
  }
  return negative ? -v : v;
}

}  // namespace

size_t ScanMetricName(std::string_view line, size_t pos) {
  if (pos >= line.size() || !IsMetricNameStart(line[pos])) return 0;
  size_t i = pos + 1;
  while (i < line.size() && IsMetricNameChar(line[i])) ++i;
  return i - pos;
}

size_t ScanLabelName(std::string_view line, size_t pos) {
  if (pos >= line.size() || !IsLabelNameStart(line[pos])) return 0;
  size_t i = pos + 1;
  while (i < line.size() && IsLabelNameChar(line[i])) ++i;
  return i - pos;
}

size_t SkipBlanks(std::string_view line, size_t pos) {
  while (pos < line.size() && IsBlank(line[pos])) ++pos;
  return pos;
}

bool ParseLabelSet(std::string_view line, size_t* pos, LabelSyntax syntax,
                   const ParseLimits& limits, core::Labels* labels, ScanError* error) {
  const bool lenient = syntax == LabelSyntax::kPrometheus;
  size_t i = *pos + 1;  // past '{'
  auto fail = [&](size_t at, std::string message) {
    error->pos = at;
    error->message = std::move(message);
    return false;
  };
  if (lenient) i = SkipBlanks(line, i);
  if (i < line.size() && line[i] == '}') {
    *pos = i + 1;
    return true;
  }
  while (true) {
    if (lenient) i = SkipBlanks(line, i);
    size_t name_len = ScanLabelName(line, i);
    if (name_len == 0) {
      if (i >= line.size()) return fail(i, "unexpected end of line in label set");
      return fail(i, "expected label name");
    }
    if (name_len > limits.max_label_name_bytes) {
      error->resource_exhausted = true;
      return fail(i, "label name longer than max_label_name_bytes (" +
                         std::to_string(limits.max_label_name_bytes) + ")");
    }
    std::string_view name = line.substr(i, name_len);
    if (name == "__name__") return fail(i, "label name '__name__' is reserved");
    const size_t name_pos = i;
    i += name_len;
    if (lenient) i = SkipBlanks(line, i);
    if (i >= line.size() || line[i] != '=') return fail(i, "expected '=' after label name");
    ++i;
    if (lenient) i = SkipBlanks(line, i);
    if (i >= line.size() || line[i] != '"') {
      return fail(i, "expected '\"' to start the label value");
    }
    ++i;
    const size_t value_start = i;
    std::string value;
    bool escaped = false;
    size_t run_start = i;
    while (true) {
      // Find the next quote or backslash.
      while (i < line.size() && line[i] != '"' && line[i] != '\\') ++i;
      if (i >= line.size()) return fail(value_start - 1, "unterminated label value");
      if (line[i] == '"') break;
      // Backslash escape.
      if (i + 1 >= line.size()) return fail(i, "unterminated label value");
      value.append(line.data() + run_start, i - run_start);
      escaped = true;
      char next = line[i + 1];
      switch (next) {
        case '\\':
          value += '\\';
          break;
        case '"':
          value += '"';
          break;
        case 'n':
          value += '\n';
          break;
        default:
          value += '\\';
          value += next;
      }
      i += 2;
      run_start = i;
    }
    if (i - value_start > limits.max_label_value_bytes) {
      error->resource_exhausted = true;
      return fail(value_start, "label value longer than max_label_value_bytes (" +
                                   std::to_string(limits.max_label_value_bytes) + ")");
    }
    if (escaped) {
      value.append(line.data() + run_start, i - run_start);
    } else {
      value.assign(line.data() + value_start, i - value_start);
    }
    if (!IsValidUtf8(value)) return fail(value_start, "label value is not valid UTF-8");
    ++i;  // past closing quote
    if (labels->size() >= limits.max_labels_per_series) {
      error->resource_exhausted = true;
      return fail(name_pos, "more labels than max_labels_per_series (" +
                                std::to_string(limits.max_labels_per_series) + ")");
    }
    const size_t before = labels->size();
    labels->Set(std::string(name), std::move(value));
    if (labels->size() == before) {
      return fail(name_pos, "duplicate label name '" + std::string(name) + "'");
    }
    if (lenient) i = SkipBlanks(line, i);
    if (i >= line.size()) return fail(i, "unexpected end of line in label set");
    if (line[i] == '}') {
      *pos = i + 1;
      return true;
    }
    if (line[i] != ',') return fail(i, "expected ',' or '}' after label value");
    ++i;
    if (lenient) {
      i = SkipBlanks(line, i);
      if (i < line.size() && line[i] == '}') {
        *pos = i + 1;
        return true;
      }
    }
  }
}

bool ParseNumber(std::string_view token, double* out) {
  if (token.empty()) return false;
  bool negative = false;
  std::string_view s = token;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
    if (s.empty()) return false;
  }
  const char c = s[0];
  if (IsDigit(c) || c == '.') {
    bool has_exponent = false;
    if (!IsDecimal(s, &has_exponent)) return false;
    *out = ConvertDecimal(s, negative);
    return true;
  }
  if (EqualsIgnoreCase(s, "inf") || EqualsIgnoreCase(s, "infinity")) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (EqualsIgnoreCase(s, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

bool ParseSecondsTimestamp(std::string_view token, double* seconds, int64_t* ms) {
  if (token.empty()) return false;
  bool negative = false;
  std::string_view s = token;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  bool has_exponent = false;
  if (s.empty() || !(IsDigit(s[0]) || s[0] == '.') || !IsDecimal(s, &has_exponent)) return false;
  *seconds = ConvertDecimal(s, negative);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (has_exponent) {
    const double v = std::trunc(*seconds * 1000.0);
    if (v >= 9.2e18) {
      *ms = kMax;
    } else if (v <= -9.2e18) {
      *ms = kMin;
    } else {
      *ms = static_cast<int64_t>(v);
    }
    return true;
  }
  // Exact decimal: integer seconds and the first three fractional digits.
  const size_t dot = s.find('.');
  std::string_view int_part = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  uint64_t mag = 0;
  bool overflow = false;
  for (char d : int_part) {
    if (mag > (static_cast<uint64_t>(kMax) / 1000 - 10) / 10) {
      overflow = true;
      break;
    }
    mag = mag * 10 + static_cast<uint64_t>(d - '0');
  }
  if (overflow) {
    *ms = negative ? kMin : kMax;
    return true;
  }
  mag *= 1000;
  uint64_t scale = 100;
  for (size_t k = 0; k < frac.size() && k < 3; ++k, scale /= 10) {
    mag += static_cast<uint64_t>(frac[k] - '0') * scale;
  }
  *ms = negative ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
  return true;
}

bool ParseInt64(std::string_view token, int64_t* out) {
  if (token.empty()) return false;
  const char* begin = token.data();
  const char* end = token.data() + token.size();
  if (*begin == '+') {
    ++begin;
    if (begin == end || *begin == '-') return false;
  }
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && ptr == end;
}

void UnescapeHelp(std::string_view text, bool quote, std::string* out) {
  out->clear();
  const size_t first = text.find('\\');
  if (first == std::string_view::npos) {
    out->assign(text);
    return;
  }
  out->reserve(text.size());
  out->append(text.substr(0, first));
  for (size_t i = first; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\\' || i + 1 >= text.size()) {
      *out += c;
      continue;
    }
    const char next = text[i + 1];
    if (next == '\\') {
      *out += '\\';
    } else if (next == 'n') {
      *out += '\n';
    } else if (next == '"' && quote) {
      *out += '"';
    } else {
      *out += '\\';
      *out += next;
    }
    ++i;
  }
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 8 bytes at a time.
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

size_t CountRunes(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace echomon::collect::expfmt::internal
