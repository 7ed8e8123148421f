// ValidUtf8 and AppendCapped: what enters an ActionResult is valid UTF-8, so ToJson().dump()
// never throws, whatever a process, /proc or a file name handed over.
#include <gtest/gtest.h>

#include <string>

#include "respond/action.h"
#include "respond/actions/internal.h"

namespace echomon::respond {
namespace {

using internal::AppendCapped;
using internal::ValidUtf8;

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(ValidUtf8, KeepsValidTextUnchanged) {
  for (std::string s : {std::string(""), std::string("plain ascii"), std::string("\xD1\x84"),
                        std::string("\xE2\x82\xAC"), std::string("\xF0\x9F\x98\x80"),
                        std::string("nul\0inside", 10)}) {
    EXPECT_EQ(ValidUtf8(s), s);
  }
}

TEST(ValidUtf8, ReplacesEachInvalidByte) {
  EXPECT_EQ(ValidUtf8("\xD1"), kReplacement);                            // truncated 2-byte
  EXPECT_EQ(ValidUtf8("\xFF"), kReplacement);                            // never valid
  EXPECT_EQ(ValidUtf8("a\xE2\x82"), "a" + kReplacement + kReplacement);  // truncated 3-byte
  EXPECT_EQ(ValidUtf8("\xF0\x9F\x98z"), kReplacement + kReplacement + kReplacement + "z");
  EXPECT_EQ(ValidUtf8("\x80x"), kReplacement + "x");              // stray continuation
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), kReplacement + kReplacement);  // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80").size(), 4 * kReplacement.size());          // > U+10FFFF
}

TEST(AppendCapped, NeverCutsACharacter) {
  std::string out;
  bool truncated = false;
  AppendCapped(&out, "ab\xD1\x84", 3, &truncated);  // the cut would fall inside U+0444
  EXPECT_EQ(out, "ab");
  EXPECT_TRUE(truncated);
  out.clear();
  truncated = false;
  AppendCapped(&out, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 7, &truncated);
  EXPECT_EQ(out, "\xF0\x9F\x98\x80");
  EXPECT_TRUE(truncated);
  out.clear();
  truncated = false;
  AppendCapped(&out, "abcd", 4, &truncated);
  EXPECT_EQ(out, "abcd");
  EXPECT_FALSE(truncated);
  // Bytes that are no UTF-8 at all are cut where the cap says.
  out.clear();
  AppendCapped(&out, "\x80\x80\x80\x80\x80\x80", 5, &truncated);
  EXPECT_EQ(out.size(), 5u);
}

TEST(ActionResultJson, DumpNeverThrowsOnInvalidUtf8) {
  for (std::string bad : {std::string("\xD1"), std::string("\xFF"), std::string("ok\xE2\x82"),
                          std::string("\xF0\x9F\x98"), std::string("x\xC3")}) {
    ActionResult r;
    r.type = "diagnose";
    r.name = bad;
    r.summary = bad;
    r.error = bad;
    r.output = bad;
    r.command = {bad};
    r.details = {{"top_cpu", {{{"comm", bad}}}}, {bad, bad}};
    std::string dumped;
    ASSERT_NO_THROW(dumped = r.ToJson().dump()) << "input bytes: " << bad.size();
    auto back = nlohmann::json::parse(dumped);
    EXPECT_EQ(back["output"].get<std::string>(), ValidUtf8(bad));
    EXPECT_EQ(back["details"]["top_cpu"][0]["comm"].get<std::string>(), ValidUtf8(bad));
  }
}

}  // namespace
}  // namespace echomon::respond
