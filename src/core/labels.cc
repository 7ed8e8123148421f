#include "core/labels.h"

#include <algorithm>
#include <regex>

namespace echomon::core {

Labels::Labels(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  for (const auto& [n, v] : pairs) Set(n, v);
}

void Labels::Set(std::string name, std::string value) {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const Label& l, const std::string& n) { return l.name < n; });
  if (it != items_.end() && it->name == name) {
    it->value = std::move(value);
  } else {
    items_.insert(it, Label{std::move(name), std::move(value)});
  }
}

void Labels::Erase(std::string_view name) {
  auto it =
      std::find_if(items_.begin(), items_.end(), [&](const Label& l) { return l.name == name; });
  if (it != items_.end()) items_.erase(it);
}

const std::string* Labels::Get(std::string_view name) const {
  for (const auto& l : items_) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}

std::string Labels::ToString() const {
  if (items_.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& l : items_) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    out += EscapeLabelValue(l.value);
    out += '"';
  }
  out += '}';
  return out;
}

std::string SeriesKey(std::string_view name, const Labels& labels) {
  std::string key(name);
  key += labels.ToString();
  return key;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

struct LabelMatcher::Compiled {
  std::regex re;
};

LabelMatcher::LabelMatcher(std::string name, Op op, std::string value)
    : name(std::move(name)), op(op), value(std::move(value)) {
  Compile();
}

bool LabelMatcher::Compile(std::string* error) {
  re_.reset();
  if (!IsRegex()) return true;
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (value.size() > kMaxMatcherRegex) {
    return fail("the regular expression for '" + name + "' is longer than " +
                std::to_string(kMaxMatcherRegex) + " characters");
  }
  try {
    re_ = std::make_shared<const Compiled>(Compiled{std::regex(value, std::regex::ECMAScript)});
  } catch (const std::regex_error& e) {
    return fail("invalid regular expression \"" + value + "\" for '" + name + "': " + e.what());
  }
  return true;
}

bool LabelMatcher::MatchesValue(std::string_view actual) const {
  switch (op) {
    case Op::kEqual:
      return actual == value;
    case Op::kNotEqual:
      return actual != value;
    case Op::kRegex:
    case Op::kNotRegex: {
      // std::regex recurses per character: values beyond kMaxRegexSubject never match a regex.
      if (!re_ || actual.size() > kMaxRegexSubject) return false;
      const bool m = std::regex_match(actual.begin(), actual.end(), re_->re);
      return op == Op::kRegex ? m : !m;
    }
  }
  return false;
}

bool LabelMatcher::Matches(const Labels& labels) const {
  const std::string* v = labels.Get(name);
  return MatchesValue(v ? std::string_view(*v) : std::string_view());
}

bool LabelMatcher::Matches(const std::map<std::string, std::string>& labels) const {
  auto it = labels.find(name);
  return MatchesValue(it == labels.end() ? std::string_view() : std::string_view(it->second));
}

std::string_view OpString(LabelMatcher::Op op) {
  switch (op) {
    case LabelMatcher::Op::kEqual:
      return "=";
    case LabelMatcher::Op::kNotEqual:
      return "!=";
    case LabelMatcher::Op::kRegex:
      return "=~";
    case LabelMatcher::Op::kNotRegex:
      return "!~";
  }
  return "=";
}

bool MatchesAll(const std::vector<LabelMatcher>& matchers, const Labels& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const LabelMatcher& m) { return m.Matches(labels); });
}

bool MatchesAll(const std::vector<LabelMatcher>& matchers,
                const std::map<std::string, std::string>& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const LabelMatcher& m) { return m.Matches(labels); });
}

std::string MatchersToString(const std::vector<LabelMatcher>& matchers) {
  std::string out;
  for (const auto& m : matchers) {
    if (!out.empty()) out += ',';
    out += m.name;
    out += OpString(m.op);
    out += '"';
    out += EscapeLabelValue(m.value);
    out += '"';
  }
  return out;
}

bool ParseLabelMatchers(std::string_view text, std::vector<LabelMatcher>* out, std::string* error) {
  out->clear();
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  auto fail_at = [&](size_t at, const std::string& why) {
    *error = "at offset " + std::to_string(at) + ": " + why;
    out->clear();
    return false;
  };
  auto fail = [&](const std::string& why) { return fail_at(i, why); };
  if (text.size() > LabelMatcher::kMaxMatcherText) {
    return fail("longer than " + std::to_string(LabelMatcher::kMaxMatcherText) + " characters");
  }
  skip_ws();
  bool braced = i < text.size() && text[i] == '{';
  if (braced) ++i;
  while (true) {
    skip_ws();
    if (i >= text.size()) break;
    if (braced && text[i] == '}') break;
    size_t start = i;
    while (i < text.size() && (IsAlpha(text[i]) || IsDigit(text[i]) || text[i] == '_')) ++i;
    std::string name(text.substr(start, i - start));
    if (!IsValidLabelName(name)) return fail_at(start, "expected a label name");
    skip_ws();
    LabelMatcher m;
    m.name = std::move(name);
    const std::string_view two = text.substr(i, 2);
    if (two == "=~") {
      m.op = LabelMatcher::Op::kRegex;
      i += 2;
    } else if (two == "!~") {
      m.op = LabelMatcher::Op::kNotRegex;
      i += 2;
    } else if (two == "!=") {
      m.op = LabelMatcher::Op::kNotEqual;
      i += 2;
    } else if (i < text.size() && text[i] == '=') {
      ++i;
    } else {
      return fail("expected =, !=, =~ or !~ after '" + m.name + "'");
    }
    skip_ws();
    const size_t value_at = i;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) {
          char e = text[i++];
          m.value += e == 'n' ? '\n' : e;
        } else {
          m.value += c;
        }
      }
      if (!closed) return fail_at(value_at, "unterminated quoted value for '" + m.name + "'");
    } else {
      size_t vs = i;
      while (i < text.size() && text[i] != ',' && text[i] != '}') ++i;
      m.value = std::string(text.substr(vs, i - vs));
      while (!m.value.empty() && (m.value.back() == ' ' || m.value.back() == '\t'))
        m.value.pop_back();
    }
    std::string why;
    if (!m.Compile(&why)) return fail_at(value_at, why);
    out->push_back(std::move(m));
    skip_ws();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (i >= text.size() || (braced && text[i] == '}')) break;
    return fail("expected ',' between matchers");
  }
  if (braced) {
    if (i >= text.size() || text[i] != '}') return fail("missing closing '}'");
    ++i;
    skip_ws();
    if (i != text.size()) return fail("unexpected text after '}'");
  }
  return true;
}

}  // namespace echomon::core
