// Labels and series identity.
//
// Labels is a set of name=value pairs kept sorted by name (names unique), so two label sets
// with the same pairs compare equal whatever order they were built in. A series is identified
// by its metric name plus its Labels; SeriesKey() renders that identity canonically.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace echomon::core {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};

class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<std::pair<std::string, std::string>> pairs);

  // Sets name to value, replacing an existing value for name.
  void Set(std::string name, std::string value);
  // Removes name if present.
  void Erase(std::string_view name);
  // The value of name, or nullptr when absent.
  const std::string* Get(std::string_view name) const;

  const std::vector<Label>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  void clear() { items_.clear(); }

  bool operator==(const Labels&) const = default;
  auto operator<=>(const Labels&) const = default;

  // {a="1",b="x\"y"} with label values escaped as in the Prometheus text format; "" if empty.
  std::string ToString() const;

 private:
  std::vector<Label> items_;
};

// Canonical series identity: name followed by Labels::ToString(), e.g. cpu{core="0"}.
std::string SeriesKey(std::string_view name, const Labels& labels);

// Escapes a label value for the text exposition: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value);
// Escapes HELP text for the text exposition: backslash and newline.
std::string EscapeHelp(std::string_view help);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
bool IsValidLabelName(std::string_view name);

// A label matcher as used in queries, silences, rules and playbooks:
//   name="value"   the label equals value          name!="value"  it does not
//   name=~"re"     the whole value matches re      name!~"re"     it does not
// A missing label counts as the empty value. Regular expressions are ECMAScript (std::regex),
// anchored (they must match the whole value), at most kMaxMatcherRegex characters, and are
// compiled once, when the matcher is built (or by Compile()). std::regex recurses per character,
// so a label value longer than kMaxRegexSubject matches neither =~ nor !~.
//
// Ownership: a value type; copies share the immutable compiled expression. Thread-safety:
// Matches() is const and safe to call concurrently; do not change op/value after construction
// without calling Compile() again.
struct LabelMatcher {
  enum class Op { kEqual, kNotEqual, kRegex, kNotRegex };
  static constexpr size_t kMaxMatcherText = 4096;   // whole matcher list, in characters
  static constexpr size_t kMaxMatcherRegex = 512;   // one regular expression, in characters
  static constexpr size_t kMaxRegexSubject = 4096;  // longest value a regex is tried on

  LabelMatcher() = default;
  // Compiles value for the regex ops; an invalid expression then matches nothing (use Compile()
  // or ParseLabelMatchers to learn why).
  LabelMatcher(std::string name, Op op, std::string value);

  std::string name;
  Op op = Op::kEqual;
  std::string value;

  // (Re)compiles value for kRegex/kNotRegex (no-op for the others). Returns false and sets
  // *error (when given) when value is too long or not a valid regular expression.
  bool Compile(std::string* error = nullptr);
  bool IsRegex() const { return op == Op::kRegex || op == Op::kNotRegex; }

  bool Matches(const Labels& labels) const;
  bool Matches(const std::map<std::string, std::string>& labels) const;
  // Whether a label value (empty when the label is absent) satisfies this matcher.
  bool MatchesValue(std::string_view actual) const;

 private:
  struct Compiled;  // the std::regex, kept out of this widely included header
  std::shared_ptr<const Compiled> re_;
};

// The operator as written: "=", "!=", "=~" or "!~".
std::string_view OpString(LabelMatcher::Op op);

// Whether every matcher matches labels (true for an empty list).
bool MatchesAll(const std::vector<LabelMatcher>& matchers, const Labels& labels);
bool MatchesAll(const std::vector<LabelMatcher>& matchers,
                const std::map<std::string, std::string>& labels);

// Renders matchers in the form ParseLabelMatchers reads: name="value",name!="value",
// name=~"re",name!~"re".
std::string MatchersToString(const std::vector<LabelMatcher>& matchers);

// Parses a matcher list such as `mount="/",device!="tmpfs"`, `{alertname=~"disk_.*"}` or
// `mount=/` (braces optional; values quoted with \" \\ \n escapes, or bare up to ',' or '}').
// An empty list is valid (matches everything). At most LabelMatcher::kMaxMatcherText characters.
// Returns false and sets *error ("at offset N: reason"; for a bad regex, the regex error) on
// malformed input; *out is then left empty.
bool ParseLabelMatchers(std::string_view text, std::vector<LabelMatcher>* out, std::string* error);

}  // namespace echomon::core
