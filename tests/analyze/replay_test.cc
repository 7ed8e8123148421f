#include "analyze/replay.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace echomon::analyze {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("analyze_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name, const std::string& content = "") const {
    const std::string p = (path_ / name).string();
    if (!content.empty()) std::ofstream(p) << content;
    return p;
  }

 private:
  fs::path path_;
};

Status ParseAll(std::string_view text, std::vector<NabCsvRow>* rows) {
  return ParseNabCsv(text, [&](const NabCsvRow& r) {
    rows->push_back(r);
    return Status::Ok();
  });
}

TEST(ParseNabTimestamp, ReadsNabDatesAndUnixSeconds) {
  EXPECT_EQ(*ParseNabTimestamp("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(*ParseNabTimestamp("2013-07-04 00:00:00"), 1372896000000);
  EXPECT_EQ(*ParseNabTimestamp("2014-04-10 07:15:00.000000"), 1397114100000);
  EXPECT_EQ(*ParseNabTimestamp("2014-04-10T07:15:00.5"), 1397114100500);
  EXPECT_EQ(*ParseNabTimestamp("1372896000"), 1372896000000);
  EXPECT_EQ(*ParseNabTimestamp("1372896000.25"), 1372896000250);
  EXPECT_FALSE(ParseNabTimestamp("2013-13-04 00:00:00").ok());
  EXPECT_FALSE(ParseNabTimestamp("2013-07-04").ok());
  EXPECT_FALSE(ParseNabTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseNabTimestamp("").ok());
}

TEST(ParseNabCsv, ParsesRowsWithLineNumbers) {
  std::vector<NabCsvRow> rows;
  ASSERT_TRUE(ParseAll("timestamp,value\r\n2013-07-04 00:00:00,1.5\r\n\n2013-07-04 00:05:00,-2e3\n"
                       "2013-07-04 00:10:00,nan\n",
                       &rows)
                  .ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[0].timestamp, "2013-07-04 00:00:00");
  EXPECT_DOUBLE_EQ(rows[0].value, 1.5);
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_DOUBLE_EQ(rows[1].value, -2000);
  EXPECT_EQ(rows[1].t_ms - rows[0].t_ms, 300000);
  EXPECT_TRUE(std::isnan(rows[2].value));
}

TEST(ParseNabCsv, AcceptsReorderedAndExtraColumns) {
  std::vector<NabCsvRow> rows;
  ASSERT_TRUE(ParseAll("value,label,timestamp\n3,x,1372896000\n", &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].value, 3);
  EXPECT_EQ(rows[0].t_ms, 1372896000000);
}

TEST(ParseNabCsv, ErrorsNameTheLineAndReason) {
  std::vector<NabCsvRow> rows;
  Status s = ParseAll("timestamp,value\n2013-07-04 00:00:00,1\n2013-07-04 00:05:00,abc\n", &rows);
  EXPECT_EQ(s.code(), StatusCode::kParseError);
  EXPECT_NE(s.message().find("line 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'abc' is not a number"), std::string::npos) << s.message();

  s = ParseAll("timestamp,value\n2013-07-04 00:00:00\n", &rows);
  EXPECT_NE(s.message().find("line 2: expected at least 2 fields"), std::string::npos)
      << s.message();

  s = ParseAll("time,value\n2013-07-04 00:00:00,1\n", &rows);
  EXPECT_NE(s.message().find("line 1: header"), std::string::npos) << s.message();

  s = ParseAll("timestamp,value\n\n2013-07-04 25:00:00,1\n", &rows);
  EXPECT_NE(s.message().find("line 3: timestamp '2013-07-04 25:00:00'"), std::string::npos)
      << s.message();

  EXPECT_FALSE(ParseAll("", &rows).ok());
}

TEST(ReplayCsv, WritesScoresForEveryRow) {
  TempDir dir;
  std::ostringstream in;
  in << "timestamp,value\n";
  for (int i = 0; i < 500; ++i)
    in << 1372896000 + i * 300 << "," << (i == 400 ? 1000 : i % 7) << "\n";
  const std::string input = dir.File("in.csv", in.str());
  const std::string output = dir.File("out.csv");
  size_t last_rows = 0, last_done = 0, last_total = 0;
  Status s = ReplayCsv(input, output, AnomalyConfig{}, [&](size_t r, size_t d, size_t t) {
    last_rows = r;
    last_done = d;
    last_total = t;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(last_rows, 500u);
  EXPECT_EQ(last_done, last_total);
  std::ifstream out(output);
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "timestamp,value,anomaly_score");
  std::vector<double> scores;
  while (std::getline(out, line)) scores.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  ASSERT_EQ(scores.size(), 500u);
  EXPECT_GT(scores[400], 0.9);  // the spike
  EXPECT_EQ(scores[10], 0.0);   // warm-up
}

TEST(ReplayCsv, BadInputLeavesNoOutputAndNamesFileAndLine) {
  TempDir dir;
  const std::string input = dir.File("bad.csv", "timestamp,value\n1372896000,1\n1372896300,\n");
  const std::string output = dir.File("out.csv");
  Status s = ReplayCsv(input, output, AnomalyConfig{}, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bad.csv: line 3"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(output + ".tmp"));
  EXPECT_EQ(ReplayCsv(dir.File("missing.csv"), output, AnomalyConfig{}, nullptr).code(),
            StatusCode::kIoError);
}

TEST(ReplayCsv, ScoresARealNabFileWithinRange) {
  auto r = ReplayCsvToMemory(
      std::string(ECHOMON_SHARED_DATA_DIR) + "/nab/data/realKnownCause/nyc_taxi.csv",
      AnomalyConfig{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scores.size(), 10320u);
  for (double s : r->scores) ASSERT_TRUE(s >= 0.0 && s <= 1.0);
}

TEST(AnomalyConfig, LoadsYamlAndJsonAndRejectsBadKeys) {
  auto c =
      ParseAnomalyConfig("anomaly:\n  warmup_points: 300\n  pattern_vigilance: 0.3\n", "a.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->warmup_points, 300);
  EXPECT_DOUBLE_EQ(c->pattern_vigilance, 0.3);
  EXPECT_EQ(c->pattern_block, AnomalyConfig{}.pattern_block);  // untouched default

  c = ParseAnomalyConfig(R"({"refractory_points": 10})", "a.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->refractory_points, 10);

  c = ParseAnomalyConfig("warmup_points: 1\nbogus: 2\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("b.yaml:2: unknown anomaly detector key 'bogus'"),
            std::string::npos)
      << c.status().message();

  c = ParseAnomalyConfig("pattern_vigilance: 5\n", "c.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'pattern_vigilance' must be in"), std::string::npos);

  c = ParseAnomalyConfig("warmup_points: 1.5\n", "d.yaml");
  EXPECT_FALSE(c.ok());
  c = ParseAnomalyConfig("warmup_points: [1\n", "e.yaml");
  EXPECT_FALSE(c.ok());
  EXPECT_FALSE(LoadAnomalyConfig("/nonexistent/anomaly.yaml").ok());
}

}  // namespace
}  // namespace echomon::analyze
