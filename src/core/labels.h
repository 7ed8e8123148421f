// Labels and series identity.
//
// Labels is a set of name=value pairs kept sorted by name (names unique), so two label sets
// with the same pairs compare equal whatever order they were built in. A series is identified
// by its metric name plus its Labels; SeriesKey() renders that identity canonically.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <initializer_list>
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

// A label matcher as used in queries: name="value" (equality) or name!="value".
struct LabelMatcher {
  enum class Op { kEqual, kNotEqual };
  std::string name;
  Op op = Op::kEqual;
  std::string value;
  bool Matches(const Labels& labels) const;
};

// Renders matchers in the form ParseLabelMatchers reads: name="value",name!="value".
std::string MatchersToString(const std::vector<LabelMatcher>& matchers);

// Parses a matcher list such as `mount="/",device!="tmpfs"` or `{mount="/"}` or `mount=/`.
// Returns false and sets *error (naming the position and reason) on malformed input.
bool ParseLabelMatchers(std::string_view text, std::vector<LabelMatcher>* out, std::string* error);

}  // namespace echomon::core
