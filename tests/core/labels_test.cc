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

TEST(LabelMatchers, RegexOperatorsMatchTheWholeValue) {
  std::vector<LabelMatcher> m;
  std::string err;
  ASSERT_TRUE(
      ParseLabelMatchers(R"({alertname=~"disk_.*", severity!="info", mount!~"/boot.*"})", &m, &err))
      << err;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].op, LabelMatcher::Op::kRegex);
  EXPECT_EQ(m[2].op, LabelMatcher::Op::kNotRegex);
  EXPECT_TRUE(MatchesAll(m, Labels{{"alertname", "disk_usage_high"}, {"mount", "/"}}));
  EXPECT_FALSE(MatchesAll(m, Labels{{"alertname", "disk_usage_high"}, {"severity", "info"}}));
  EXPECT_FALSE(MatchesAll(m, Labels{{"alertname", "disk_x"}, {"mount", "/boot/efi"}}));
  // Anchored: a substring match is not a match.
  EXPECT_FALSE(MatchesAll(m, Labels{{"alertname", "big_disk_usage"}}));
  // The same over a std::map (playbooks); an absent label is the empty value.
  const std::map<std::string, std::string> alert = {{"alertname", "disk_full"}};
  EXPECT_TRUE(MatchesAll(m, alert));
  EXPECT_FALSE(m[0].Matches(std::map<std::string, std::string>{}));
  LabelMatcher empty_ok("mount", LabelMatcher::Op::kRegex, "|/data");
  EXPECT_TRUE(empty_ok.Matches(Labels{}));
  EXPECT_TRUE(empty_ok.Matches(Labels{{"mount", "/data"}}));
  EXPECT_FALSE(empty_ok.Matches(Labels{{"mount", "/data2"}}));
}

TEST(LabelMatchers, BuiltInCodeCompilesTheExpressionOnce) {
  const LabelMatcher m("cpu", LabelMatcher::Op::kRegex, "[0-3]");
  const LabelMatcher copy = m;  // shares the compiled expression
  EXPECT_TRUE(copy.Matches(Labels{{"cpu", "2"}}));
  EXPECT_FALSE(copy.Matches(Labels{{"cpu", "12"}}));
  // An invalid expression built in code matches nothing; Compile() says why.
  LabelMatcher bad("cpu", LabelMatcher::Op::kNotRegex, "(");
  EXPECT_FALSE(bad.Matches(Labels{{"cpu", "2"}}));
  std::string err;
  EXPECT_FALSE(bad.Compile(&err));
  EXPECT_NE(err.find("invalid regular expression \"(\" for 'cpu'"), std::string::npos) << err;
  // Changing the value and recompiling takes effect.
  bad.value = "2";
  EXPECT_TRUE(bad.Compile(&err));
  EXPECT_FALSE(bad.Matches(Labels{{"cpu", "2"}}));
  EXPECT_TRUE(bad.Matches(Labels{{"cpu", "3"}}));
}

TEST(LabelMatchers, RegexMatchersRenderAndParseBack) {
  std::vector<LabelMatcher> m = {{"job", LabelMatcher::Op::kRegex, R"(a"b\.c|d)"},
                                 {"mode", LabelMatcher::Op::kNotRegex, "idle|iowait"}};
  const std::string text = MatchersToString(m);
  EXPECT_EQ(text, R"(job=~"a\"b\\.c|d",mode!~"idle|iowait")");
  std::vector<LabelMatcher> back;
  std::string err;
  ASSERT_TRUE(ParseLabelMatchers(text, &back, &err)) << err;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].op, LabelMatcher::Op::kRegex);
  EXPECT_EQ(back[0].value, R"(a"b\.c|d)");
  EXPECT_EQ(back[1].op, LabelMatcher::Op::kNotRegex);
  EXPECT_TRUE(back[0].Matches(Labels{{"job", "a\"b.c"}}));
  EXPECT_FALSE(back[0].Matches(Labels{{"job", "a\"bxc"}}));
  EXPECT_EQ(MatchersToString(back), text);
  EXPECT_EQ(OpString(LabelMatcher::Op::kNotRegex), "!~");
}

TEST(LabelMatchers, RejectsBadRegexesAndOversizedInputNamingWhereAndWhy) {
  std::vector<LabelMatcher> m;
  std::string err;
  EXPECT_FALSE(ParseLabelMatchers(R"(mode="user", alertname=~"(unclosed")", &m, &err));
  EXPECT_EQ(
      err.rfind("at offset 24: invalid regular expression \"(unclosed\" for 'alertname': ", 0), 0u)
      << err;
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(ParseLabelMatchers("alertname", &m, &err));
  EXPECT_EQ(err, "at offset 9: expected =, !=, =~ or !~ after 'alertname'");
  EXPECT_FALSE(ParseLabelMatchers("a~x", &m, &err));
  EXPECT_NE(err.find("expected =, !=, =~ or !~"), std::string::npos) << err;
  EXPECT_FALSE(ParseLabelMatchers(R"(a="x" b="y")", &m, &err));
  EXPECT_EQ(err, "at offset 6: expected ',' between matchers");
  EXPECT_FALSE(ParseLabelMatchers("a=~\"" + std::string(513, 'x') + "\"", &m, &err));
  EXPECT_NE(err.find("longer than 512 characters"), std::string::npos) << err;
  EXPECT_TRUE(ParseLabelMatchers("a=~\"" + std::string(512, 'x') + "\"", &m, &err)) << err;
  EXPECT_FALSE(ParseLabelMatchers("a=\"" + std::string(4100, 'x') + "\"", &m, &err));
  EXPECT_EQ(err, "at offset 0: longer than 4096 characters");
}

TEST(LabelMatchers, RegexesAreNotTriedOnValuesLongEnoughToExhaustTheStack) {
  // std::regex recurses per character; a value past the limit matches neither =~ nor !~.
  const LabelMatcher any("v", LabelMatcher::Op::kRegex, "(a|b)*");
  const LabelMatcher none("v", LabelMatcher::Op::kNotRegex, "c");
  const std::string ok(LabelMatcher::kMaxRegexSubject, 'a');
  const std::string huge(1'000'000, 'a');
  EXPECT_TRUE(any.Matches(Labels{{"v", ok}}));
  EXPECT_TRUE(none.Matches(Labels{{"v", ok}}));
  EXPECT_FALSE(any.Matches(Labels{{"v", huge}}));
  EXPECT_FALSE(none.Matches(Labels{{"v", huge}}));
  // Equality matchers have no such limit.
  EXPECT_TRUE(LabelMatcher("v", LabelMatcher::Op::kEqual, huge).Matches(Labels{{"v", huge}}));
}

}  // namespace
}  // namespace echomon::core
