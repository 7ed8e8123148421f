#include "core/labels.h"

#include <gtest/gtest.h>

namespace echomon::core {
namespace {

TEST(Labels, SortedAndUniqueWhateverTheInsertionOrder) {
  Labels a{{"b", "2"}, {"a", "1"}};
  Labels b;
  b.Set("a", "0");
  b.Set("b", "2");
  b.Set("a", "1");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.ToString(), R"({a="1",b="2"})");
  EXPECT_EQ(SeriesKey("m", a), R"(m{a="1",b="2"})");
  EXPECT_EQ(SeriesKey("m", Labels{}), "m");
}

TEST(Labels, EscapesValuesAsTheTextFormatRequires) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q");
}

TEST(Labels, ValidatesNames) {
  EXPECT_TRUE(IsValidMetricName("node_cpu:rate_5m"));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_TRUE(IsValidLabelName("mount"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST(LabelMatchers, ParsesQuotedUnquotedAndBracedForms) {
  std::vector<LabelMatcher> m;
  std::string err;
  ASSERT_TRUE(ParseLabelMatchers(R"({mount="/",device!="tmp\"fs"})", &m, &err)) << err;
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].name, "mount");
  EXPECT_EQ(m[0].value, "/");
  EXPECT_EQ(m[1].op, LabelMatcher::Op::kNotEqual);
  EXPECT_EQ(m[1].value, "tmp\"fs");
  ASSERT_TRUE(ParseLabelMatchers("cpu=0, mode=user", &m, &err)) << err;
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].value, "user");
  EXPECT_TRUE(m[0].Matches(Labels{{"cpu", "0"}}));
  EXPECT_FALSE(m[0].Matches(Labels{{"cpu", "1"}}));
  ASSERT_TRUE(ParseLabelMatchers("", &m, &err));
  EXPECT_TRUE(m.empty());
}

TEST(LabelMatchers, RenderAndParseBackUnchanged) {
  std::vector<LabelMatcher> m = {{"alertname", LabelMatcher::Op::kEqual, "disk"},
                                 {"mount", LabelMatcher::Op::kNotEqual, "a\"b\\c"}};
  const std::string text = MatchersToString(m);
  EXPECT_EQ(text, R"(alertname="disk",mount!="a\"b\\c")");
  std::vector<LabelMatcher> back;
  std::string err;
  ASSERT_TRUE(ParseLabelMatchers(text, &back, &err)) << err;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].op, LabelMatcher::Op::kNotEqual);
  EXPECT_EQ(back[1].value, "a\"b\\c");
  EXPECT_EQ(MatchersToString({}), "");
}

TEST(LabelMatchers, RejectsMalformedInputWithThePosition) {
  std::vector<LabelMatcher> m;
  std::string err;
  EXPECT_FALSE(ParseLabelMatchers(R"({mount="/")", &m, &err));
  EXPECT_NE(err.find("offset"), std::string::npos);
  EXPECT_FALSE(ParseLabelMatchers("=x", &m, &err));
  EXPECT_FALSE(ParseLabelMatchers(R"(a="unterminated)", &m, &err));
  EXPECT_FALSE(ParseLabelMatchers("a b", &m, &err));
}

}  // namespace
}  // namespace echomon::core
