#include "collect/expfmt/parser.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <unordered_set>
#include <utility>

#include "collect/expfmt/scan.h"

namespace echomon::collect::expfmt {

namespace {

using internal::IsBlank;
using internal::LabelSyntax;
using internal::ParseLabelSet;
using internal::ParseNumber;
using internal::ScanError;
using internal::ScanMetricName;
using internal::SkipBlanks;

constexpr size_t kNoFamily = std::numeric_limits<size_t>::max();
constexpr size_t kMaxExemplarRunes = 128;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Quoted(std::string_view s) {
  std::string out = "'";
  // Keep error messages bounded: long tokens are cut.
  if (s.size() > 64) {
    out.append(s.substr(0, 64));
    out += "...";
  } else {
    out.append(s);
  }
  out += '\'';
  return out;
}

// Splits the input into lines (without their '\n'), numbering them from 1 and enforcing the line
// length limit. A final line without '\n' is still a line; "" after a final '\n' is not.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool Next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    const void* nl = std::memchr(text_.data() + pos_, '\n', text_.size() - pos_);
    const size_t end =
        nl ? static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) : text_.size();
    *line = text_.substr(pos_, end - pos_);
    pos_ = nl ? end + 1 : end;
    ++line_no_;
    return true;
  }
  int line_no() const { return line_no_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int line_no_ = 0;
};

// Shared state and error reporting of both format parsers.
class ParserBase {
 public:
  ParserBase(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  std::vector<MetricFamily>& families() { return families_; }
  const ParseError& error() const { return error_; }

 protected:
  // Fails at 0-based byte position pos of the current line.
  bool Fail(size_t pos, std::string message, bool exhausted = false) {
    return FailAt(reader_.line_no(), static_cast<int>(pos) + 1, std::move(message), exhausted);
  }
  bool FailAt(int line, int column, std::string message, bool exhausted = false) {
    error_.line = line;
    error_.column = column;
    error_.message = std::move(message);
    error_.resource_exhausted = exhausted;
    return false;
  }
  bool FailScan(const ScanError& e) { return Fail(e.pos, e.message, e.resource_exhausted); }

  bool NextLine(std::string_view* line) {
    if (!reader_.Next(line)) return false;
    if (line->size() > limits_.max_line_bytes) {
      Fail(limits_.max_line_bytes,
           "line longer than max_line_bytes (" + std::to_string(limits_.max_line_bytes) + ")",
           true);
      too_long_ = true;
      return false;
    }
    return true;
  }

  bool CountSample() {
    if (++sample_count_ > limits_.max_samples) {
      return Fail(0, "more samples than max_samples (" + std::to_string(limits_.max_samples) + ")",
                  true);
    }
    return true;
  }

  std::string_view text_;
  const ParseLimits& limits_;
  LineReader reader_{text_};
  bool too_long_ = false;
  std::vector<MetricFamily> families_;
  size_t sample_count_ = 0;
  ParseError error_;
};

// ---------------------------------------------------------------------------------------------
// Prometheus text format 0.0.4.

class PrometheusTextParser : public ParserBase {
 public:
  using ParserBase::ParserBase;

  bool Run() {
    std::string_view line;
    while (NextLine(&line)) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!ParseLine(line)) return false;
    }
    return !too_long_;
  }

 private:
  struct FamilyFlags {
    bool has_help = false;
    bool has_type = false;
  };

  bool ParseLine(std::string_view line) {
    const size_t i = SkipBlanks(line, 0);
    if (i == line.size()) return true;
    if (line[i] == '#') return ParseComment(line, i + 1);
    return ParseSample(line, i);
  }

  size_t GetOrCreateFamily(std::string_view name) {
    if (current_ != kNoFamily && families_[current_].name == name) return current_;
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    families_.emplace_back().name.assign(name);
    flags_.emplace_back();
    by_name_.emplace(std::string(name), families_.size() - 1);
    return families_.size() - 1;
  }

  bool SampleBelongsTo(size_t index, std::string_view name) const {
    const MetricFamily& f = families_[index];
    if (name.size() < f.name.size() || name.compare(0, f.name.size(), f.name) != 0) return false;
    const std::string_view suffix = name.substr(f.name.size());
    if (suffix.empty()) return true;
    if (f.type == MetricType::kHistogram) {
      return suffix == "_bucket" || suffix == "_sum" || suffix == "_count";
    }
    if (f.type == MetricType::kSummary) return suffix == "_sum" || suffix == "_count";
    return false;
  }

  size_t FamilyForSample(std::string_view name) {
    if (current_ != kNoFamily && SampleBelongsTo(current_, name)) return current_;
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!EndsWith(name, suffix)) continue;
      auto base = by_name_.find(name.substr(0, name.size() - suffix.size()));
      if (base != by_name_.end() && SampleBelongsTo(base->second, name)) return base->second;
    }
    return GetOrCreateFamily(name);
  }

  bool ParseComment(std::string_view line, size_t i) {
    i = SkipBlanks(line, i);
    size_t kw_end = i;
    while (kw_end < line.size() && !IsBlank(line[kw_end])) ++kw_end;
    const std::string_view keyword = line.substr(i, kw_end - i);
    if (keyword != "HELP" && keyword != "TYPE") return true;  // an ordinary comment
    const size_t keyword_pos = i;
    i = SkipBlanks(line, kw_end);
    if (i == line.size()) return true;  // "# HELP" alone: ignored, as Prometheus does
    const size_t n = ScanMetricName(line, i);
    if (n == 0) return Fail(i, "expected metric name after # " + std::string(keyword));
    const std::string_view name = line.substr(i, n);
    i += n;
    if (i == line.size()) return true;  // "# HELP name" without text: ignored
    if (!IsBlank(line[i])) return Fail(i, "invalid character in metric name");
    i = SkipBlanks(line, i);
    std::string_view rest = line.substr(i);

    const size_t index = GetOrCreateFamily(name);
    current_ = index;
    MetricFamily& family = families_[index];
    FamilyFlags& flags = flags_[index];
    if (keyword == "HELP") {
      if (flags.has_help) return Fail(keyword_pos, "second HELP line for " + Quoted(name));
      flags.has_help = true;
      internal::UnescapeHelp(rest, /*quote=*/false, &family.help);
      if (!internal::IsValidUtf8(family.help)) return Fail(i, "HELP text is not valid UTF-8");
      return true;
    }
    if (flags.has_type) return Fail(keyword_pos, "second TYPE line for " + Quoted(name));
    if (!family.samples.empty()) {
      return Fail(keyword_pos, "TYPE line for " + Quoted(name) + " after its samples");
    }
    while (!rest.empty() && IsBlank(rest.back())) rest.remove_suffix(1);
    std::string lower(rest);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (lower == "counter") {
      family.type = MetricType::kCounter;
    } else if (lower == "gauge") {
      family.type = MetricType::kGauge;
    } else if (lower == "histogram") {
      family.type = MetricType::kHistogram;
    } else if (lower == "summary") {
      family.type = MetricType::kSummary;
    } else if (lower == "untyped") {
      family.type = MetricType::kUnknown;
    } else {
      return Fail(i, "unknown metric type " + Quoted(rest) +
                         " (expected counter, gauge, histogram, summary or untyped)");
    }
    flags.has_type = true;
    return true;
  }

  bool ParseSample(std::string_view line, size_t i) {
    const size_t n = ScanMetricName(line, i);
    if (n == 0) return Fail(i, "expected metric name, '#' or a blank line");
    const std::string_view name = line.substr(i, n);
    i += n;
    if (i < line.size() && !IsBlank(line[i]) && line[i] != '{') {
      return Fail(i, "invalid character in metric name");
    }
    Sample sample;
    i = SkipBlanks(line, i);
    const size_t labels_pos = i;
    if (i < line.size() && line[i] == '{') {
      ScanError e;
      if (!ParseLabelSet(line, &i, LabelSyntax::kPrometheus, limits_, &sample.labels, &e)) {
        return FailScan(e);
      }
      i = SkipBlanks(line, i);
    }
    if (i == line.size()) return Fail(i, "expected a value after the metric name");
    size_t j = i;
    while (j < line.size() && !IsBlank(line[j])) ++j;
    const std::string_view value = line.substr(i, j - i);
    if (value[0] == '#') {
      return Fail(i,
                  "expected a value, found '#' (exemplars are not part of the Prometheus text "
                  "format)");
    }
    if (!ParseNumber(value, &sample.value)) return Fail(i, "invalid value " + Quoted(value));
    i = SkipBlanks(line, j);
    if (i < line.size()) {
      if (line[i] == '#') {
        return Fail(i,
                    "unexpected '#' after the value (exemplars are not part of the Prometheus "
                    "text format; use OpenMetrics)");
      }
      j = i;
      while (j < line.size() && !IsBlank(line[j])) ++j;
      const std::string_view ts = line.substr(i, j - i);
      int64_t ms = 0;
      if (!internal::ParseInt64(ts, &ms)) {
        return Fail(i, "invalid timestamp " + Quoted(ts) + " (expected integer milliseconds)");
      }
      sample.timestamp_ms = ms;
      i = SkipBlanks(line, j);
      if (i < line.size()) return Fail(i, "unexpected text after the timestamp");
    }

    const size_t index = FamilyForSample(name);
    current_ = index;
    MetricFamily& family = families_[index];
    const std::string_view suffix = name.substr(family.name.size());
    if (family.type == MetricType::kHistogram && suffix == "_bucket") {
      const std::string* le = sample.labels.Get("le");
      double bound = 0;
      if (le == nullptr) return Fail(labels_pos, "histogram bucket without an 'le' label");
      if (!ParseNumber(*le, &bound)) {
        return Fail(labels_pos, "expected a number as the 'le' label value, got " + Quoted(*le));
      }
    }
    if (family.type == MetricType::kSummary && suffix.empty()) {
      const std::string* q = sample.labels.Get("quantile");
      double quantile = 0;
      if (q != nullptr && !ParseNumber(*q, &quantile)) {
        return Fail(labels_pos,
                    "expected a number as the 'quantile' label value, got " + Quoted(*q));
      }
    }
    if (!CountSample()) return false;
    sample.name.assign(name);
    family.samples.push_back(std::move(sample));
    return true;
  }

  std::vector<FamilyFlags> flags_;  // parallel to families_
  std::map<std::string, size_t, std::less<>> by_name_;
  size_t current_ = kNoFamily;
};

// ---------------------------------------------------------------------------------------------
// OpenMetrics 1.0.

// The sample-name suffixes a family of each type owns ("" is the bare family name).
std::span<const std::string_view> SuffixesOf(MetricType type) {
  static constexpr std::string_view kCounter[] = {"_total", "_created"};
  static constexpr std::string_view kSummary[] = {"", "_count", "_sum", "_created"};
  static constexpr std::string_view kHistogram[] = {"_count", "_sum", "_bucket", "_created"};
  static constexpr std::string_view kGaugeHistogram[] = {"_gcount", "_gsum", "_bucket"};
  static constexpr std::string_view kInfo[] = {"_info"};
  static constexpr std::string_view kBare[] = {""};
  switch (type) {
    case MetricType::kCounter:
      return kCounter;
    case MetricType::kSummary:
      return kSummary;
    case MetricType::kHistogram:
      return kHistogram;
    case MetricType::kGaugeHistogram:
      return kGaugeHistogram;
    case MetricType::kInfo:
      return kInfo;
    default:
      return kBare;
  }
}

bool IsHistogramType(MetricType t) {
  return t == MetricType::kHistogram || t == MetricType::kGaugeHistogram;
}

void AppendLengthPrefixed(std::string* out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

class OpenMetricsParser : public ParserBase {
 public:
  using ParserBase::ParserBase;

  bool Run() {
    std::string_view line;
    while (NextLine(&line)) {
      if (eof_) return Fail(0, "text after '# EOF'");
      if (line.empty()) return Fail(0, "blank line (not allowed in OpenMetrics)");
      if (line[0] == '#') {
        if (line == "# EOF") {
          eof_ = true;
          continue;
        }
        if (!ParseMetadata(line)) return false;
      } else if (!ParseSampleLine(line)) {
        return false;
      }
    }
    if (too_long_) return false;
    if (!FinishFamily()) return false;
    if (!eof_) return FailAt(reader_.line_no() + 1, 1, "missing '# EOF' at the end of the input");
    return true;
  }

 private:
  // Checks gathered over one histogram group (same labels apart from le, same timestamp).
  struct HistogramGroup {
    bool active = false;
    int line = 0;
    bool has_bucket = false;
    double last_le = 0;
    double last_bucket_value = 0;
    bool has_count = false;
    double count = 0;
    bool has_sum = false;
    bool has_gsum = false;
    bool negative_buckets = false;
    bool negative_gsum = false;
  };

  // The family being parsed.
  struct Current {
    bool active = false;
    size_t index = 0;
    int first_line = 0;
    bool has_type = false;
    bool has_help = false;
    bool has_unit = false;
    // Grouping: a group is the label set minus the type's own label (le, quantile, the
    // stateset's name); an info family is one group. Groups must be contiguous.
    bool has_group = false;
    std::string group_key;
    bool group_has_ts = false;
    double group_ts = 0;
    size_t group_first_sample = 0;
    std::unordered_set<std::string> seen_groups;
    std::unordered_set<size_t> group_series;  // hashes of the series seen at group_ts
    HistogramGroup histogram;
  };

  MetricFamily& family() { return families_[cur_.index]; }
  MetricType type() { return cur_.has_type ? family().type : MetricType::kUnknown; }

  void StartFamily(std::string_view name) {
    families_.emplace_back().name.assign(name);
    cur_.active = true;
    cur_.index = families_.size() - 1;
    cur_.first_line = reader_.line_no();
    cur_.has_type = cur_.has_help = cur_.has_unit = false;
    cur_.has_group = false;
    cur_.group_key.clear();
    cur_.group_has_ts = false;
    cur_.group_first_sample = 0;
    cur_.seen_groups.clear();
    cur_.group_series.clear();
    cur_.histogram = HistogramGroup{};
  }

  bool FinishFamily() {
    if (!cur_.active) return true;
    cur_.active = false;
    if (cur_.histogram.active && !FinishHistogramGroup()) return false;
    const MetricFamily& f = family();
    const MetricType t = type();
    auto claim = [&](std::string_view suffix) {
      std::string full = f.name;
      full.append(suffix);
      if (!seen_names_.insert(full).second) {
        return FailAt(cur_.first_line, 1,
                      "metric family " + Quoted(f.name) + " clashes with an earlier family (" +
                          Quoted(full) + " already used)");
      }
      return true;
    };
    if (!claim("")) return false;
    for (std::string_view suffix : SuffixesOf(t)) {
      if (!suffix.empty() && !claim(suffix)) return false;
    }
    if (!f.unit.empty()) {
      if (!EndsWith(f.name, "_" + f.unit)) {
        return FailAt(
            cur_.first_line, 1,
            "metric name " + Quoted(f.name) + " does not end with its unit '_" + f.unit + "'");
      }
      if (t == MetricType::kInfo || t == MetricType::kStateSet) {
        return FailAt(
            cur_.first_line, 1,
            std::string("a family of type ") + MetricTypeName(t) + " may not have a unit");
      }
    }
    return true;
  }

  bool FinishHistogramGroup() {
    HistogramGroup& h = cur_.histogram;
    h.active = false;
    const std::string& name = family().name;
    auto fail = [&](std::string message) {
      return FailAt(h.line, 1, "histogram " + Quoted(name) + ": " + message);
    };
    if (!h.has_bucket || h.last_le != std::numeric_limits<double>::infinity()) {
      return fail("missing the le=\"+Inf\" bucket");
    }
    if (h.has_count && h.count != h.last_bucket_value) {
      return fail("count does not equal the +Inf bucket's value");
    }
    if (h.has_sum && !h.has_count) return fail("_sum present without _count");
    if (h.has_gsum && !h.has_count) return fail("_gsum present without _gcount");
    if (!(h.has_sum || h.has_gsum) && h.has_count) return fail("_count present without _sum");
    if (h.negative_buckets && h.has_sum) return fail("_sum not allowed with negative buckets");
    if (!h.negative_buckets && h.negative_gsum) {
      return fail("negative _gsum requires negative buckets");
    }
    return true;
  }

  bool ParseMetadata(std::string_view line) {
    if (line.size() < 2 || line[1] != ' ') {
      return Fail(1, "expected '# HELP', '# TYPE', '# UNIT' or '# EOF'");
    }
    const size_t kw_end = line.find(' ', 2);
    const std::string_view keyword =
        line.substr(2, kw_end == std::string_view::npos ? std::string_view::npos : kw_end - 2);
    if (keyword != "HELP" && keyword != "TYPE" && keyword != "UNIT") {
      return Fail(2, "unknown keyword " + Quoted(keyword) + " (expected HELP, TYPE, UNIT or EOF)");
    }
    if (kw_end == std::string_view::npos) {
      return Fail(line.size(), "expected a metric name after # " + std::string(keyword));
    }
    size_t i = kw_end + 1;
    const size_t n = ScanMetricName(line, i);
    if (n == 0) return Fail(i, "expected a metric name after # " + std::string(keyword));
    const std::string_view name = line.substr(i, n);
    i += n;
    if (i == line.size()) return Fail(i, "expected ' ' and text after the metric name");
    if (line[i] != ' ') return Fail(i, "invalid character in metric name");
    const std::string_view rest = line.substr(i + 1);

    if (cur_.active && family().name == name) {
      if (!family().samples.empty()) {
        return Fail(0, "metadata for " + Quoted(name) + " after its samples");
      }
    } else {
      if (!FinishFamily()) return false;
      StartFamily(name);
    }
    MetricFamily& f = family();
    if (keyword == "HELP") {
      if (cur_.has_help) return Fail(2, "second HELP line for " + Quoted(name));
      cur_.has_help = true;
      internal::UnescapeHelp(rest, /*quote=*/true, &f.help);
      if (!internal::IsValidUtf8(f.help)) return Fail(i + 1, "HELP text is not valid UTF-8");
    } else if (keyword == "TYPE") {
      if (cur_.has_type) return Fail(2, "second TYPE line for " + Quoted(name));
      static constexpr std::pair<std::string_view, MetricType> kTypes[] = {
          {"counter", MetricType::kCounter},     {"gauge", MetricType::kGauge},
          {"histogram", MetricType::kHistogram}, {"gaugehistogram", MetricType::kGaugeHistogram},
          {"summary", MetricType::kSummary},     {"info", MetricType::kInfo},
          {"stateset", MetricType::kStateSet},   {"unknown", MetricType::kUnknown},
      };
      bool found = false;
      for (const auto& [text, t] : kTypes) {
        if (rest == text) {
          f.type = t;
          found = true;
        }
      }
      if (!found) {
        return Fail(i + 1, "invalid metric type " + Quoted(rest) +
                               " (expected counter, gauge, histogram, gaugehistogram, summary, "
                               "info, stateset or unknown)");
      }
      cur_.has_type = true;
    } else {
      if (cur_.has_unit) return Fail(2, "second UNIT line for " + Quoted(name));
      cur_.has_unit = true;
      f.unit.assign(rest);
      if (!internal::IsValidUtf8(f.unit)) return Fail(i + 1, "UNIT is not valid UTF-8");
    }
    return true;
  }

  // Where the parts of the current sample line start (0-based), for error columns.
  struct Positions {
    size_t labels = 0;
    size_t value = 0;
    size_t timestamp = 0;
    size_t exemplar = 0;
  };

  bool ParseExemplar(std::string_view line, size_t i, Sample* sample) {
    // line[i] == '#'
    if (i + 1 >= line.size() || line[i + 1] != ' ') return Fail(i + 1, "expected ' ' after '#'");
    i += 2;
    if (i >= line.size() || line[i] != '{') {
      return Fail(i, "expected '{' to start the exemplar's label set");
    }
    const size_t labels_pos = i;
    Exemplar& ex = sample->exemplar.emplace();
    ScanError e;
    if (!ParseLabelSet(line, &i, LabelSyntax::kOpenMetrics, limits_, &ex.labels, &e)) {
      return FailScan(e);
    }
    size_t runes = 0;
    for (const auto& l : ex.labels.items()) {
      runes += internal::CountRunes(l.name) + internal::CountRunes(l.value);
    }
    if (runes > kMaxExemplarRunes) {
      return Fail(labels_pos,
                  "exemplar label set longer than 128 characters (" + std::to_string(runes) + ")");
    }
    if (i >= line.size() || line[i] != ' ') {
      return Fail(i, "expected ' ' and a value after the exemplar's label set");
    }
    ++i;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    const std::string_view value = line.substr(i, j - i);
    if (!ParseNumber(value, &ex.value)) {
      return Fail(i, value.empty() ? std::string("expected the exemplar's value")
                                   : "invalid exemplar value " + Quoted(value));
    }
    if (j == line.size()) return true;
    i = j + 1;
    const std::string_view ts = line.substr(i);
    double seconds = 0;
    int64_t ms = 0;
    if (!internal::ParseSecondsTimestamp(ts, &seconds, &ms)) {
      return Fail(i, ts.empty() ? std::string("expected the exemplar's timestamp after ' '")
                                : "invalid exemplar timestamp " + Quoted(ts));
    }
    ex.timestamp_ms = ms;
    return true;
  }

  bool ParseSampleLine(std::string_view line) {
    Sample sample;
    Positions at;
    bool has_ts = false;
    double ts_seconds = 0;
    const size_t n = ScanMetricName(line, 0);
    if (n == 0) return Fail(0, "expected a metric name or '#'");
    size_t i = n;
    at.labels = i;
    if (i < line.size() && line[i] == '{') {
      ScanError e;
      if (!ParseLabelSet(line, &i, LabelSyntax::kOpenMetrics, limits_, &sample.labels, &e)) {
        return FailScan(e);
      }
    }
    if (i >= line.size()) return Fail(i, "expected ' ' and a value after the metric name");
    if (line[i] != ' ') {
      return Fail(i,
                  i == n ? "invalid character in metric name" : "expected ' ' after the label set");
    }
    ++i;
    at.value = i;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    const std::string_view value = line.substr(i, j - i);
    if (!ParseNumber(value, &sample.value)) {
      return Fail(
          i, value.empty() ? std::string("expected a value") : "invalid value " + Quoted(value));
    }
    i = j;
    if (i < line.size()) {
      ++i;  // past ' '
      if (i < line.size() && line[i] == '#') {
        at.exemplar = i;
        if (!ParseExemplar(line, i, &sample)) return false;
      } else {
        at.timestamp = i;
        j = line.find(' ', i);
        if (j == std::string_view::npos) j = line.size();
        const std::string_view ts = line.substr(i, j - i);
        int64_t ms = 0;
        if (!internal::ParseSecondsTimestamp(ts, &ts_seconds, &ms)) {
          return Fail(i, ts.empty() ? std::string("expected a timestamp after ' '")
                                    : "invalid timestamp " + Quoted(ts));
        }
        sample.timestamp_ms = ms;
        has_ts = true;
        i = j;
        if (i < line.size()) {
          ++i;
          if (i >= line.size() || line[i] != '#') {
            return Fail(i, "expected '# ' and an exemplar after the timestamp");
          }
          at.exemplar = i;
          if (!ParseExemplar(line, i, &sample)) return false;
        }
      }
    }
    return AddSample(line.substr(0, n), std::move(sample), has_ts, ts_seconds, at);
  }

  bool OwnsSampleName(std::string_view name) {
    const std::string& base = family().name;
    if (name.size() < base.size() || name.compare(0, base.size(), base) != 0) return false;
    const std::string_view suffix = name.substr(base.size());
    if (!cur_.has_type) return suffix.empty();
    for (std::string_view s : SuffixesOf(family().type)) {
      if (s == suffix) return true;
    }
    return false;
  }

  bool AddSample(std::string_view name, Sample sample, bool has_ts, double ts,
                 const Positions& at) {
    if (!cur_.active || !OwnsSampleName(name)) {
      if (!FinishFamily()) return false;
      StartFamily(name);
    }
    MetricFamily& f = family();
    const MetricType t = type();
    const std::string_view suffix = name.substr(f.name.size());
    const double v = sample.value;

    // Labels the type requires.
    std::string_view own_label;  // the label that distinguishes series within a group
    if (t == MetricType::kStateSet) {
      if (sample.labels.Get(f.name) == nullptr) {
        return Fail(at.labels, "stateset sample without the label " + Quoted(f.name));
      }
      own_label = f.name;
    }
    double le = 0;
    if (IsHistogramType(t) && suffix == "_bucket") {
      const std::string* le_text = sample.labels.Get("le");
      if (le_text == nullptr) return Fail(at.labels, "histogram bucket without an 'le' label");
      if (!ParseNumber(*le_text, &le) || std::isnan(le) ||
          (std::isinf(le) && *le_text != "+Inf" && *le_text != "-Inf")) {
        return Fail(at.labels, "invalid 'le' label value " + Quoted(*le_text) +
                                   " (a number; infinity written as +Inf)");
      }
      if (!std::isfinite(v) || v != std::floor(v)) {
        return Fail(at.value, "bucket value must be an integer");
      }
      own_label = "le";
    }
    if ((suffix == "_count" || suffix == "_gcount") && (!std::isfinite(v) || v != std::floor(v))) {
      return Fail(at.value, "count value must be an integer");
    }
    if (t == MetricType::kSummary && suffix.empty()) {
      const std::string* q_text = sample.labels.Get("quantile");
      double q = 0;
      if (q_text == nullptr) return Fail(at.labels, "summary quantile without a 'quantile' label");
      if (!ParseNumber(*q_text, &q) || !(q >= 0 && q <= 1)) {
        return Fail(at.labels, "invalid 'quantile' label value " + Quoted(*q_text) +
                                   " (a number between 0 and 1)");
      }
      own_label = "quantile";
    }

    // Grouping and timestamps.
    group_scratch_.clear();
    if (t != MetricType::kInfo) {
      for (const auto& l : sample.labels.items()) {
        if (!own_label.empty() && l.name == own_label) continue;
        AppendLengthPrefixed(&group_scratch_, l.name);
        AppendLengthPrefixed(&group_scratch_, l.value);
      }
    }
    const bool same_group = cur_.has_group && group_scratch_ == cur_.group_key;
    if (cur_.has_group && !same_group && cur_.seen_groups.count(group_scratch_) > 0) {
      return Fail(at.labels,
                  "samples of one label set are not contiguous in family " + Quoted(f.name));
    }
    const bool same_ts =
        cur_.has_group && has_ts == cur_.group_has_ts && (!has_ts || ts == cur_.group_ts);
    if (same_group) {
      if (has_ts != cur_.group_has_ts) {
        return Fail(has_ts ? at.timestamp : at.value,
                    "mix of samples with and without timestamps in one group");
      }
      if (has_ts && ts < cur_.group_ts && t != MetricType::kInfo) {
        return Fail(at.timestamp, "timestamp goes backwards within a group");
      }
    } else {
      cur_.group_series.clear();
      cur_.group_first_sample = f.samples.size();
    }
    // A repeated series at the same timestamp (e.g. after timestamp truncation) is dropped.
    series_scratch_.assign(name);
    series_scratch_ += '\0';
    if (t == MetricType::kInfo) {
      for (const auto& l : sample.labels.items()) {
        AppendLengthPrefixed(&series_scratch_, l.name);
        AppendLengthPrefixed(&series_scratch_, l.value);
      }
    } else if (!own_label.empty()) {
      AppendLengthPrefixed(&series_scratch_, *sample.labels.Get(own_label));
    }
    const size_t series_hash = std::hash<std::string>{}(series_scratch_);
    bool duplicate = false;
    if (same_ts && !cur_.group_series.insert(series_hash).second) {
      for (size_t k = cur_.group_first_sample; k < f.samples.size(); ++k) {
        if (f.samples[k].name == name && f.samples[k].labels == sample.labels) {
          duplicate = true;
          break;
        }
      }
    } else if (!same_ts) {
      cur_.group_series.insert(series_hash);
    }
    if (!same_group) {
      cur_.seen_groups.insert(group_scratch_);
      cur_.group_key.swap(group_scratch_);
    }
    cur_.has_group = true;
    const bool prev_has_ts = cur_.group_has_ts;
    const double prev_ts = cur_.group_ts;
    cur_.group_has_ts = has_ts;
    cur_.group_ts = ts;

    // Values the type allows.
    if (t == MetricType::kStateSet && v != 0 && v != 1) {
      return Fail(at.value, "stateset value must be 0 or 1");
    }
    if (t == MetricType::kInfo && v != 1) return Fail(at.value, "info value must be 1");
    if (t == MetricType::kSummary && suffix.empty() && v < 0) {
      return Fail(at.value, "quantile value must not be negative");
    }
    const bool counter_like =
        !suffix.empty() && (suffix == "_total" || suffix == "_sum" || suffix == "_count" ||
                            suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum");
    if (counter_like && std::isnan(v)) {
      return Fail(at.value, "value of " + Quoted(name) + " must not be NaN");
    }
    if (counter_like && suffix != "_gsum" && v < 0) {
      return Fail(at.value, "value of " + Quoted(name) + " must not be negative");
    }
    if (sample.exemplar.has_value()) {
      const bool allowed = (IsHistogramType(t) && suffix == "_bucket") ||
                           (t == MetricType::kCounter && suffix == "_total");
      if (!allowed) {
        return Fail(at.exemplar,
                    "exemplars are only allowed on counter _total and histogram _bucket samples");
      }
    }

    if (duplicate) return true;

    // Histogram structure, checked per group (same labels apart from le, same timestamp).
    if (IsHistogramType(t)) {
      HistogramGroup& h = cur_.histogram;
      const bool ts_changed = prev_has_ts != has_ts || (has_ts && prev_ts != ts);
      if (h.active && (!same_group || ts_changed)) {
        if (!FinishHistogramGroup()) return false;
      }
      if (!h.active) {
        h = HistogramGroup{};
        h.active = true;
        h.line = reader_.line_no();
      }
      if (suffix == "_bucket") {
        if (le < 0) h.negative_buckets = true;
        if (h.has_bucket && le <= h.last_le) {
          return Fail(at.labels, "histogram buckets out of order (le must increase)");
        }
        if (v < h.last_bucket_value) {
          return Fail(at.value, "histogram bucket values must be cumulative (non-decreasing)");
        }
        h.has_bucket = true;
        h.last_le = le;
        h.last_bucket_value = v;
      } else if (suffix == "_count" || suffix == "_gcount") {
        h.has_count = true;
        h.count = v;
      } else if (suffix == "_sum") {
        h.has_sum = true;
      } else if (suffix == "_gsum") {
        h.has_gsum = true;
        if (v < 0) h.negative_gsum = true;
      }
    }

    if (!CountSample()) return false;
    sample.name.assign(name);
    f.samples.push_back(std::move(sample));
    return true;
  }

  Current cur_;
  std::unordered_set<std::string> seen_names_;
  std::string group_scratch_;
  std::string series_scratch_;
  bool eof_ = false;
};

}  // namespace

Format FormatFromContentType(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && IsBlank(media.front())) media.remove_prefix(1);
  while (!media.empty() && IsBlank(media.back())) media.remove_suffix(1);
  constexpr std::string_view kOpenMetrics = "application/openmetrics-text";
  if (media.size() != kOpenMetrics.size()) return Format::kPrometheusText;
  for (size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kOpenMetrics[i]) return Format::kPrometheusText;
  }
  return Format::kOpenMetrics;
}

const char* FormatName(Format format) {
  return format == Format::kOpenMetrics ? "openmetrics" : "prometheus";
}

core::MetricType StoredMetricType(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return core::MetricType::kCounter;
    case MetricType::kHistogram:
      return core::MetricType::kHistogram;
    case MetricType::kSummary:
      return core::MetricType::kSummary;
    case MetricType::kUnknown:
      return core::MetricType::kUntyped;
    default:
      return core::MetricType::kGauge;
  }
}

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kUnknown:
      return "unknown";
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateSet:
      return "stateset";
  }
  return "unknown";
}

std::string ParseError::ToString() const {
  if (line == 0) return message;
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
}

Result<std::vector<MetricFamily>> Parse(std::string_view text, Format format,
                                        const ParseLimits& limits, ParseError* error) {
  ParseError err;
  auto finish = [&](ParseError e) -> Result<std::vector<MetricFamily>> {
    std::string message = e.ToString();
    const bool exhausted = e.resource_exhausted;
    if (error != nullptr) *error = std::move(e);
    return exhausted ? Status::ResourceExhausted(std::move(message))
                     : Status::ParseError(std::move(message));
  };
  if (text.size() > limits.max_body_bytes) {
    err.message = "input of " + std::to_string(text.size()) + " bytes exceeds max_body_bytes (" +
                  std::to_string(limits.max_body_bytes) + ")";
    err.resource_exhausted = true;
    return finish(std::move(err));
  }
  if (format == Format::kOpenMetrics) {
    OpenMetricsParser parser(text, limits);
    if (!parser.Run()) return finish(parser.error());
    return std::move(parser.families());
  }
  PrometheusTextParser parser(text, limits);
  if (!parser.Run()) return finish(parser.error());
  return std::move(parser.families());
}

}  // namespace echomon::collect::expfmt
