#include "store/series_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "common/test_util.h"
#include "core/labels.h"

namespace echomon::store {
namespace {

using echomon::testing::TempDir;

constexpr int64_t kT0 = 1700000000000;  // a round start time, ms

std::vector<Point> Points(int64_t t0, int n, int64_t step = 1000) {
  std::vector<Point> out;
  for (int i = 0; i < n; ++i) out.push_back({t0 + i * step, i * 1.5 + 0.25});
  return out;
}

void AppendAll(SeriesStore* store, SeriesId id, const std::vector<Point>& points) {
  for (const Point& p : points) ASSERT_TRUE(store->Append(id, p.t_ms, p.v).ok()) << p.t_ms;
}

std::vector<Point> RangeOrDie(const SeriesStore& store, SeriesId id, int64_t start, int64_t end) {
  auto r = store.Range(id, start, end);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : std::vector<Point>{};
}

int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  int64_t v = -1;
  if (stmt && sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

StoreOptions SmallChunks(const std::string& dir = {}) {
  StoreOptions o;
  o.chunk_samples = 10;
  o.data_dir = dir;
  return o;
}

TEST(SeriesStore, ResolvesSameSeriesWhateverLabelOrder) {
  SeriesStore store({});
  core::Labels a;
  a.Set("mode", "user");
  a.Set("cpu", "0");
  core::Labels b;
  b.Set("cpu", "0");
  b.Set("mode", "user");
  const SeriesId id = store.Resolve("cpu_seconds", a, core::MetricType::kCounter, "CPU time");
  EXPECT_NE(id, 0u);
  EXPECT_EQ(store.Resolve("cpu_seconds", b), id);
  EXPECT_NE(store.Resolve("cpu_seconds", {{"cpu", "1"}, {"mode", "user"}}), id);
  EXPECT_NE(store.Resolve("cpu_seconds", {}), id);
  auto info = store.Info(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->name, "cpu_seconds");
  EXPECT_EQ(info->labels, a);
  EXPECT_EQ(info->type, core::MetricType::kCounter);
  EXPECT_EQ(info->help, "CPU time");
  EXPECT_FALSE(store.Info(9999).has_value());
  EXPECT_EQ(store.Stats().series, 3u);
}

TEST(SeriesStore, RejectsAndCountsOutOfOrderSamples) {
  SeriesStore store({});
  const SeriesId id = store.Resolve("m", {});
  ASSERT_TRUE(store.Append(id, kT0, 1).ok());
  EXPECT_EQ(store.Append(id, kT0, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Append(id, kT0 - 1, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Append(12345, kT0 + 1, 2).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Append(id, kT0 + 1000, 3).ok());
  const StoreStats st = store.Stats();
  EXPECT_EQ(st.append_errors, 3u);
  EXPECT_EQ(st.samples_appended, 2u);
  EXPECT_EQ(st.samples, 2u);
  EXPECT_EQ(RangeOrDie(store, id, 0, kT0 * 2), (std::vector<Point>{{kT0, 1}, {kT0 + 1000, 3}}));
  EXPECT_EQ(store.Latest(id), (Point{kT0 + 1000, 3}));
}

TEST(SeriesStore, AppendBatchResolvesAndStores) {
  SeriesStore store({});
  core::SampleBatch batch(2);
  batch[0].name = "load1";
  batch[0].value = 0.5;
  batch[1].name = "mem_free";
  batch[1].labels.Set("unit", "kB");
  batch[1].value = 1024;
  batch[1].type = core::MetricType::kGauge;
  EXPECT_EQ(store.AppendBatch(batch, kT0), 2u);
  EXPECT_EQ(store.AppendBatch(batch, kT0), 0u);  // same timestamp: both rejected
  batch[0].value = 0.75;
  EXPECT_EQ(store.AppendBatch(batch, kT0 + 1000), 2u);
  const SeriesId load = store.Resolve("load1", {});
  EXPECT_EQ(RangeOrDie(store, load, kT0, kT0 + 1000),
            (std::vector<Point>{{kT0, 0.5}, {kT0 + 1000, 0.75}}));
  EXPECT_EQ(store.Stats().append_errors, 2u);
  EXPECT_EQ(store.Stats().series, 2u);
}

TEST(SeriesStore, SelectsByNameAndMatchers) {
  SeriesStore store({});
  const SeriesId root = store.Resolve("disk_free", {{"mount", "/"}, {"fs", "ext4"}});
  const SeriesId tmp = store.Resolve("disk_free", {{"mount", "/tmp"}, {"fs", "tmpfs"}});
  const SeriesId other = store.Resolve("disk_used", {{"mount", "/"}});
  auto ids = [](const std::vector<SeriesInfo>& infos) {
    std::vector<SeriesId> out;
    for (const auto& i : infos) out.push_back(i.id);
    return out;
  };
  using Op = core::LabelMatcher::Op;
  EXPECT_EQ(ids(store.Select("disk_free", {})), (std::vector<SeriesId>{root, tmp}));
  EXPECT_EQ(ids(store.Select("", {})), (std::vector<SeriesId>{root, tmp, other}));
  EXPECT_EQ(ids(store.Select("", {{"mount", Op::kEqual, "/"}})),
            (std::vector<SeriesId>{root, other}));
  EXPECT_EQ(ids(store.Select("disk_free", {{"fs", Op::kNotEqual, "tmpfs"}})),
            (std::vector<SeriesId>{root}));
  EXPECT_EQ(ids(store.Select("disk_free", {{"mount", Op::kEqual, "/"}, {"fs", Op::kEqual, "xfs"}})),
            (std::vector<SeriesId>{}));
  EXPECT_TRUE(store.Select("nope", {}).empty());
  // Regex matchers (anchored) filter like the others, with or without a metric name.
  EXPECT_EQ(ids(store.Select("", {{"mount", Op::kRegex, "/(tmp)?"}})),
            (std::vector<SeriesId>{root, tmp, other}));
  EXPECT_EQ(ids(store.Select("disk_free", {{"fs", Op::kNotRegex, "tmp.*"}})),
            (std::vector<SeriesId>{root}));
  EXPECT_EQ(ids(store.Select("", {{"mount", Op::kRegex, "/t"}})), (std::vector<SeriesId>{}));
}

TEST(SeriesStore, RangeIsInclusiveAndSpansChunks) {
  SeriesStore store(SmallChunks());
  const SeriesId id = store.Resolve("m", {});
  const auto points = Points(kT0, 35);  // 3 sealed chunks + a head of 5
  AppendAll(&store, id, points);
  EXPECT_EQ(store.Stats().chunks_in_memory, 4u);
  EXPECT_EQ(RangeOrDie(store, id, kT0, kT0 + 34000), points);
  EXPECT_EQ(RangeOrDie(store, id, kT0 + 9000, kT0 + 10000),
            (std::vector<Point>(points.begin() + 9, points.begin() + 11)));
  EXPECT_EQ(RangeOrDie(store, id, kT0 + 9001, kT0 + 9999), std::vector<Point>{});
  EXPECT_EQ(RangeOrDie(store, id, kT0 + 34000, kT0 + 99000), (std::vector<Point>{points[34]}));
  EXPECT_EQ(RangeOrDie(store, id, 0, kT0 - 1), std::vector<Point>{});
  EXPECT_EQ(store.Range(id, kT0 + 1, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Range(77, kT0, kT0 + 1).status().code(), StatusCode::kNotFound);
}

TEST(SeriesStore, SealsChunksThatWouldSpanTooLong) {
  StoreOptions o;
  o.max_chunk_span_ms = 10000;
  SeriesStore store(o);
  const SeriesId id = store.Resolve("m", {});
  AppendAll(&store, id, {{kT0, 1}, {kT0 + 9999, 2}, {kT0 + 10000, 3}, {kT0 + 50000, 4}});
  EXPECT_EQ(store.Stats().chunks_in_memory, 3u);
  EXPECT_EQ(RangeOrDie(store, id, kT0, kT0 + 50000).size(), 4u);
}

TEST(SeriesStore, RangeStepAggregatesPerBucket) {
  SeriesStore store(SmallChunks());
  const SeriesId id = store.Resolve("m", {});
  // Buckets of 10 s from kT0: [0,10) has 1,2,3; [10,20) is empty; [20,30) has 10, 4;
  // [30,40) has 7 (at 35 s); the query ends at 37 s, so the last bucket is stamped 37 s.
  AppendAll(&store, id,
            {{kT0, 1},
             {kT0 + 4000, 3},
             {kT0 + 9999, 2},
             {kT0 + 20000, 10},
             {kT0 + 29000, 4},
             {kT0 + 35000, 7},
             {kT0 + 38000, 100}});
  auto step = [&](Aggregation agg) {
    auto r = store.RangeStep(id, kT0, kT0 + 37000, 10000, agg);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::vector<Point>{};
  };
  EXPECT_EQ(step(Aggregation::kAvg),
            (std::vector<Point>{{kT0 + 10000, 2}, {kT0 + 30000, 7}, {kT0 + 37000, 7}}));
  EXPECT_EQ(step(Aggregation::kMin),
            (std::vector<Point>{{kT0 + 10000, 1}, {kT0 + 30000, 4}, {kT0 + 37000, 7}}));
  EXPECT_EQ(step(Aggregation::kMax),
            (std::vector<Point>{{kT0 + 10000, 3}, {kT0 + 30000, 10}, {kT0 + 37000, 7}}));
  EXPECT_EQ(step(Aggregation::kLast),
            (std::vector<Point>{{kT0 + 10000, 2}, {kT0 + 30000, 4}, {kT0 + 37000, 7}}));
  // A start inside the data: the sample before start is excluded.
  auto r = store.RangeStep(id, kT0 + 1, kT0 + 20000, 5000, Aggregation::kMax);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (std::vector<Point>{{kT0 + 5001, 3}, {kT0 + 10001, 2}, {kT0 + 20000, 10}}));
  EXPECT_EQ(store.RangeStep(id, kT0, kT0 + 1000, 0, Aggregation::kAvg).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store.RangeStep(id, kT0 + 1000, kT0, 10, Aggregation::kAvg).status().code(),
            StatusCode::kInvalidArgument);
  auto empty = store.RangeStep(id, 0, 1000, 100, Aggregation::kAvg);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value().empty());
}

TEST(SeriesStore, RangeStepMinMaxIgnoreNaN) {
  SeriesStore store({});
  const SeriesId id = store.Resolve("m", {});
  AppendAll(&store, id, {{kT0, NAN}, {kT0 + 1, 5}, {kT0 + 2, NAN}, {kT0 + 3, 2}});
  auto max = store.RangeStep(id, kT0, kT0 + 3, 10, Aggregation::kMax);
  auto min = store.RangeStep(id, kT0, kT0 + 3, 10, Aggregation::kMin);
  auto avg = store.RangeStep(id, kT0, kT0 + 3, 10, Aggregation::kAvg);
  ASSERT_TRUE(max.ok() && min.ok() && avg.ok());
  EXPECT_EQ(max.value(), (std::vector<Point>{{kT0 + 3, 5}}));
  EXPECT_EQ(min.value(), (std::vector<Point>{{kT0 + 3, 2}}));
  ASSERT_EQ(avg.value().size(), 1u);
  EXPECT_TRUE(std::isnan(avg.value()[0].v));
}

TEST(ParseAggregation, AcceptsTheFourNames) {
  Aggregation a = Aggregation::kAvg;
  EXPECT_TRUE(ParseAggregation("max", &a));
  EXPECT_EQ(a, Aggregation::kMax);
  EXPECT_TRUE(ParseAggregation("last", &a));
  EXPECT_EQ(a, Aggregation::kLast);
  EXPECT_TRUE(ParseAggregation("min", &a));
  EXPECT_TRUE(ParseAggregation("avg", &a));
  EXPECT_EQ(a, Aggregation::kAvg);
  EXPECT_FALSE(ParseAggregation("mean", &a));
  EXPECT_FALSE(ParseAggregation("", &a));
}

TEST(SeriesStore, RetentionDropsOldData) {
  StoreOptions o = SmallChunks();
  o.retention_ms = 30000;
  SeriesStore store(o);
  const SeriesId id = store.Resolve("m", {});
  const SeriesId idle = store.Resolve("idle", {});
  const auto points = Points(kT0, 100);  // kT0 .. kT0 + 99 s
  AppendAll(&store, id, points);
  AppendAll(&store, idle, {{kT0, 1}});
  store.EnforceRetention(kT0 + 100000);  // cutoff kT0 + 70 s
  // Chunks are dropped whole: [60 s, 69 s] ends before the cutoff, [70 s, 79 s] stays.
  EXPECT_EQ(RangeOrDie(store, id, 0, kT0 + 200000),
            (std::vector<Point>(points.begin() + 70, points.end())));
  EXPECT_EQ(RangeOrDie(store, idle, 0, kT0 + 200000), std::vector<Point>{});
  EXPECT_FALSE(store.Latest(idle).has_value());
  EXPECT_EQ(store.Latest(id), points.back());
  const StoreStats st = store.Stats();
  EXPECT_EQ(st.samples, 30u);
  EXPECT_EQ(st.chunks_evicted, 7u);
  EXPECT_EQ(st.oldest_ms, kT0 + 70000);
  // The dropped idle series still orders appends.
  EXPECT_FALSE(store.Append(idle, kT0, 2).ok());
  EXPECT_TRUE(store.Append(idle, kT0 + 100000, 2).ok());
}

TEST(SeriesStore, MemoryBudgetEvictsOldestAndRangeReadsThemFromDisk) {
  TempDir dir;
  StoreOptions o = SmallChunks(dir.path());
  o.max_memory_bytes = 1;  // everything evictable goes
  SeriesStore store(o);
  ASSERT_TRUE(store.Open(kT0).ok());
  const SeriesId a = store.Resolve("a", {});
  const SeriesId b = store.Resolve("b", {});
  const auto points = Points(kT0, 95);
  for (const Point& p : points) {
    core::SampleBatch batch(2);
    batch[0].name = "a";
    batch[0].value = p.v;
    batch[1].name = "b";
    batch[1].value = -p.v;
    ASSERT_EQ(store.AppendBatch(batch, p.t_ms), 2u);
  }
  const uint64_t before = store.Stats().memory_bytes;
  store.EnforceRetention(kT0 + 95000);
  const StoreStats st = store.Stats();
  EXPECT_EQ(st.chunks_evicted, 18u);  // 9 sealed chunks per series
  EXPECT_EQ(st.chunks_persisted, 18u);
  EXPECT_EQ(st.chunks_in_memory, 2u);  // the heads
  EXPECT_EQ(st.samples, 10u);
  EXPECT_LT(st.memory_bytes, before);
  EXPECT_EQ(RangeOrDie(store, a, kT0, kT0 + 95000), points);
  EXPECT_EQ(RangeOrDie(store, a, kT0 + 15000, kT0 + 91000),
            (std::vector<Point>(points.begin() + 15, points.begin() + 92)));
  const auto b_points = RangeOrDie(store, b, kT0, kT0 + 95000);
  ASSERT_EQ(b_points.size(), points.size());
  EXPECT_EQ(b_points[42].v, -points[42].v);
  auto step = store.RangeStep(a, kT0, kT0 + 94000, 50000, Aggregation::kLast);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step.value(),
            (std::vector<Point>{{kT0 + 50000, points[49].v}, {kT0 + 94000, points[94].v}}));
}

TEST(SeriesStore, MemoryBudgetWithoutDataDirDropsAndCounts) {
  StoreOptions o = SmallChunks();
  o.max_memory_bytes = 1;
  SeriesStore store(o);
  const SeriesId id = store.Resolve("m", {});
  const auto points = Points(kT0, 25);
  AppendAll(&store, id, points);
  store.EnforceRetention(kT0 + 25000);
  EXPECT_EQ(store.Stats().chunks_evicted, 2u);
  EXPECT_EQ(RangeOrDie(store, id, kT0, kT0 + 25000),
            (std::vector<Point>(points.begin() + 20, points.end())));
}

TEST(SeriesStore, RestartRestoresHistoryAndContinuesSeries) {
  TempDir dir;
  const auto points = Points(kT0, 25);
  SeriesId id = 0;
  SeriesId other = 0;
  {
    SeriesStore store(SmallChunks(dir.path()));
    ASSERT_TRUE(store.Open(kT0).ok());
    other = store.Resolve("other", {{"k", "v\"q"}}, core::MetricType::kCounter, "help text");
    id = store.Resolve("m", {{"host", "a"}});
    AppendAll(&store, id, points);
    ASSERT_TRUE(store.Append(other, kT0, 7).ok());
    ASSERT_TRUE(store.Flush().ok());
    EXPECT_EQ(store.Stats().persist_errors, 0u);
  }
  SeriesStore store(SmallChunks(dir.path()));
  ASSERT_TRUE(store.Open(kT0 + 30000).ok());
  EXPECT_EQ(store.Resolve("m", {{"host", "a"}}), id);
  EXPECT_EQ(store.Resolve("other", {{"k", "v\"q"}}), other);
  auto info = store.Info(other);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->type, core::MetricType::kCounter);
  EXPECT_EQ(info->help, "help text");
  EXPECT_EQ(*info->labels.Get("k"), "v\"q");
  EXPECT_EQ(RangeOrDie(store, id, 0, kT0 * 2), points);
  EXPECT_EQ(store.Latest(id), points.back());
  EXPECT_EQ(store.Stats().samples, 26u);
  EXPECT_FALSE(store.Append(id, points.back().t_ms, 1).ok());
  ASSERT_TRUE(store.Append(id, points.back().t_ms + 1000, 99).ok());
  auto all = RangeOrDie(store, id, 0, kT0 * 2);
  ASSERT_EQ(all.size(), points.size() + 1);
  EXPECT_EQ(all.back(), (Point{points.back().t_ms + 1000, 99}));
  // The schema is what docs/storage.md says.
  const std::string db = dir.File("echomon.db");
  EXPECT_EQ(QueryInt(db, "SELECT version FROM schema_version"), 1);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM series"), 2);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM chunks WHERE series_id = " + std::to_string(id)), 2);
  EXPECT_EQ(QueryInt(db, "SELECT count FROM head_chunks WHERE series_id = " + std::to_string(id)),
            5);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM series WHERE key = '" +
                             core::SeriesKey("m", {{"host", "a"}}) + "'"),
            1);
}

TEST(SeriesStore, RestartTwiceDoesNotDuplicateCheckpointedSamples) {
  TempDir dir;
  const auto points = Points(kT0, 50);
  {
    SeriesStore store(SmallChunks(dir.path()));
    ASSERT_TRUE(store.Open(kT0).ok());
    const SeriesId id = store.Resolve("m", {});
    AppendAll(&store, id, std::vector<Point>(points.begin(), points.begin() + 15));
    ASSERT_TRUE(store.Checkpoint().ok());  // head holds samples 10..14
    AppendAll(&store, id, std::vector<Point>(points.begin() + 15, points.begin() + 25));
    store.EnforceRetention(kT0 + 25000);  // persists the chunk 10..19 sealed by Append
  }
  for (int round = 0; round < 2; ++round) {
    SeriesStore store(SmallChunks(dir.path()));
    ASSERT_TRUE(store.Open(kT0 + 60000).ok());
    const SeriesId id = store.Resolve("m", {});
    EXPECT_EQ(RangeOrDie(store, id, 0, kT0 * 2),
              (std::vector<Point>(points.begin(), points.begin() + 20)))
        << "round " << round;
    ASSERT_TRUE(store.Flush().ok());
  }
}

TEST(SeriesStore, CrashKeepsDataUpToTheLastCheckpoint) {
  TempDir dir;
  const auto points = Points(kT0, 40);
  SeriesId id = 0;
  {
    SeriesStore store(SmallChunks(dir.path()));
    ASSERT_TRUE(store.Open(kT0).ok());
    id = store.Resolve("m", {});
    AppendAll(&store, id, std::vector<Point>(points.begin(), points.begin() + 27));
    ASSERT_TRUE(store.Checkpoint().ok());
    // After the checkpoint, samples that stay in the head are lost by a crash.
    ASSERT_TRUE(store.Append(id, points[27].t_ms, points[27].v).ok());
    // Destroyed without Flush: a crash.
  }
  SeriesStore store(SmallChunks(dir.path()));
  ASSERT_TRUE(store.Open(kT0 + 40000).ok());
  EXPECT_EQ(RangeOrDie(store, id, 0, kT0 * 2),
            (std::vector<Point>(points.begin(), points.begin() + 27)));
  ASSERT_TRUE(store.Append(id, points[27].t_ms, points[27].v).ok());
}

TEST(SeriesStore, CrashKeepsChunksSealedByAppendBatch) {
  TempDir dir;
  {
    SeriesStore store(SmallChunks(dir.path()));
    ASSERT_TRUE(store.Open(kT0).ok());
    core::SampleBatch batch(1);
    batch[0].name = "m";
    for (int i = 0; i < 23; ++i) {
      batch[0].value = i;
      ASSERT_EQ(store.AppendBatch(batch, kT0 + i * 1000), 1u);
    }
    EXPECT_EQ(store.Stats().chunks_persisted, 2u);
  }
  SeriesStore store(SmallChunks(dir.path()));
  ASSERT_TRUE(store.Open(kT0 + 40000).ok());
  const auto got = RangeOrDie(store, store.Resolve("m", {}), 0, kT0 * 2);
  ASSERT_EQ(got.size(), 20u);
  EXPECT_EQ(got.back(), (Point{kT0 + 19000, 19}));
}

TEST(SeriesStore, RetentionDeletesRowsAndRestartSkipsExpiredData) {
  TempDir dir;
  StoreOptions o = SmallChunks(dir.path());
  o.retention_ms = 30000;
  const auto points = Points(kT0, 60);
  {
    SeriesStore store(o);
    ASSERT_TRUE(store.Open(kT0).ok());
    AppendAll(&store, store.Resolve("m", {}), points);
    ASSERT_TRUE(store.Flush().ok());
    EXPECT_EQ(QueryInt(dir.File("echomon.db"), "SELECT count(*) FROM chunks"), 5);
    store.EnforceRetention(kT0 + 60000);  // cutoff 30 s: chunks ending at 9, 19, 29 s go
    EXPECT_EQ(QueryInt(dir.File("echomon.db"), "SELECT count(*) FROM chunks"), 2);
  }
  SeriesStore store(o);
  ASSERT_TRUE(store.Open(kT0 + 60000).ok());
  EXPECT_EQ(RangeOrDie(store, store.Resolve("m", {}), 0, kT0 * 2),
            (std::vector<Point>(points.begin() + 30, points.end())));
}

void ExecSql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  sqlite3_close(db);
}

TEST(SeriesStore, FailedWritesAreCountedKeptInMemoryAndRetried) {
  TempDir dir;
  StoreOptions o = SmallChunks(dir.path());
  o.max_memory_bytes = 1;
  SeriesStore store(o);
  ASSERT_TRUE(store.Open(kT0).ok());
  const SeriesId id = store.Resolve("m", {});
  ASSERT_TRUE(store.Checkpoint().ok());  // the series row is written
  // Another process breaks the database under us.
  ExecSql(dir.File("echomon.db"), "ALTER TABLE chunks RENAME TO chunks_moved");
  const auto points = Points(kT0, 25);
  AppendAll(&store, id, points);
  store.EnforceRetention(kT0 + 25000);
  StoreStats st = store.Stats();
  EXPECT_GE(st.persist_errors, 1u);
  EXPECT_EQ(st.chunks_persisted, 0u);
  EXPECT_EQ(st.chunks_evicted, 0u) << "unpersisted chunks must not be evicted";
  EXPECT_EQ(RangeOrDie(store, id, kT0, kT0 + 25000), points);
  // Repaired: the next tick writes the pending chunks and may then evict them.
  ExecSql(dir.File("echomon.db"), "ALTER TABLE chunks_moved RENAME TO chunks");
  store.EnforceRetention(kT0 + 26000);
  st = store.Stats();
  EXPECT_EQ(st.chunks_persisted, 2u);
  EXPECT_EQ(st.chunks_evicted, 2u);
  EXPECT_EQ(RangeOrDie(store, id, kT0, kT0 + 25000), points);
}

TEST(SeriesStore, OpenNamesThePathOfACorruptDatabase) {
  TempDir dir;
  echomon::testing::WriteFile(dir.File("echomon.db"), std::string(4096, 'x'));
  SeriesStore store(SmallChunks(dir.path()));
  Status st = store.Open(kT0);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find(dir.File("echomon.db")), std::string::npos) << st.message();
  // The store stays usable in memory.
  const SeriesId id = store.Resolve("m", {});
  EXPECT_TRUE(store.Append(id, kT0, 1).ok());
}

TEST(SeriesStore, OpenNamesAnUnusableDataDir) {
  TempDir dir;
  echomon::testing::WriteFile(dir.File("file"), "not a directory");
  const std::string data_dir = dir.File("file") + "/data";
  SeriesStore store(SmallChunks(data_dir));
  Status st = store.Open(kT0);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find(data_dir), std::string::npos) << st.message();
}

TEST(SeriesStore, OpenAfterResolveIsRejected) {
  TempDir dir;
  SeriesStore store(SmallChunks(dir.path()));
  store.Resolve("m", {});
  EXPECT_EQ(store.Open(kT0).code(), StatusCode::kInvalidArgument);
}

TEST(SeriesStore, MemoryOnlyStoreIgnoresPersistenceCalls) {
  SeriesStore store({});
  EXPECT_TRUE(store.Open(kT0).ok());
  const SeriesId id = store.Resolve("m", {});
  AppendAll(&store, id, Points(kT0, 300));
  EXPECT_TRUE(store.Checkpoint().ok());
  EXPECT_TRUE(store.Flush().ok());
  const StoreStats st = store.Stats();
  EXPECT_EQ(st.chunks_persisted, 0u);
  EXPECT_EQ(st.chunks_in_memory, 3u);  // 120 + 120 + head of 60
  EXPECT_EQ(st.samples, 300u);
  EXPECT_EQ(st.oldest_ms, kT0);
  EXPECT_GT(st.memory_bytes, st.chunk_bytes);
  EXPECT_GT(st.chunk_bytes, 3u * (3 + 16));  // three chunk headers and first samples
  EXPECT_LT(st.chunk_bytes, 300u * 16 / 2);  // well under half the raw size
}

TEST(SeriesStore, ReadersSeeConsistentDataWhileOneThreadAppends) {
  SeriesStore store(SmallChunks());
  const SeriesId id = store.Resolve("m", {});
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto got = store.Range(id, 0, kT0 * 2);
        if (!got.ok()) ++bad;
        for (size_t i = 0; got.ok() && i < got->size(); ++i) {
          if ((*got)[i].t_ms != kT0 + static_cast<int64_t>(i) * 1000) ++bad;
        }
        store.Stats();
        store.Latest(id);
      }
    });
  }
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(store.Append(id, kT0 + i * 1000LL, i).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(RangeOrDie(store, id, 0, kT0 * 2).size(), 5000u);
}

}  // namespace
}  // namespace echomon::store
