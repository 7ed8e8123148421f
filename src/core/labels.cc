#include "core/labels.h"

#include <algorithm>

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

bool LabelMatcher::Matches(const Labels& labels) const {
  const std::string* v = labels.Get(name);
  std::string_view actual = v ? std::string_view(*v) : std::string_view();
  return op == Op::kEqual ? actual == value : actual != value;
}

std::string MatchersToString(const std::vector<LabelMatcher>& matchers) {
  std::string out;
  for (const auto& m : matchers) {
    if (!out.empty()) out += ',';
    out += m.name;
    out += m.op == LabelMatcher::Op::kEqual ? "=\"" : "!=\"";
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
  auto fail = [&](const std::string& why) {
    *error = "at offset " + std::to_string(i) + ": " + why;
    return false;
  };
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
    if (!IsValidLabelName(name)) return fail("expected a label name");
    skip_ws();
    LabelMatcher m;
    m.name = std::move(name);
    if (text.substr(i, 2) == "!=") {
      m.op = LabelMatcher::Op::kNotEqual;
      i += 2;
    } else if (i < text.size() && text[i] == '=') {
      ++i;
    } else {
      return fail("expected '=' or '!=' after label name");
    }
    skip_ws();
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
      if (!closed) return fail("unterminated quoted label value");
    } else {
      size_t vs = i;
      while (i < text.size() && text[i] != ',' && text[i] != '}') ++i;
      m.value = std::string(text.substr(vs, i - vs));
      while (!m.value.empty() && (m.value.back() == ' ' || m.value.back() == '\t'))
        m.value.pop_back();
    }
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
