#include "store/series_store.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/log.h"
#include "store/sqlite_chunk_db.h"

namespace echomon::store {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
constexpr int64_t kDbRetentionIntervalMs = 60 * 1000;
// Ids above this in a database are treated as corruption rather than allocated densely.
constexpr uint32_t kMaxSeriesId = 1u << 24;
constexpr size_t kSealedChunkOverhead = 64;  // deque slot + vector header, roughly
constexpr size_t kSeriesOverhead = 256;      // Series + hash-map node, roughly

// A reader/writer lock that lets a waiting writer in before new readers, so a steady stream
// of queries cannot starve the collection thread (glibc's default rwlock, behind
// std::shared_mutex, prefers readers). Meets the SharedMutex requirements used here.
class WriterPreferringMutex {
 public:
  WriterPreferringMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterPreferringMutex() { pthread_rwlock_destroy(&lock_); }
  WriterPreferringMutex(const WriterPreferringMutex&) = delete;
  WriterPreferringMutex& operator=(const WriterPreferringMutex&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

struct SealedChunk {
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint32_t count = 0;
  bool persisted = false;
  std::vector<uint8_t> bytes;
};

struct Series {
  SeriesInfo info;
  std::string key;
  std::deque<SealedChunk> sealed;  // oldest first
  ChunkEncoder head;
  Point last{0, 0};
  bool has_last = false;   // a sample was ever appended (orders later appends)
  bool last_live = false;  // ... and retention has not dropped it
  bool row_persisted = false;
  bool dirty = false;  // in Impl::dirty: row or sealed chunks not yet persisted
  // Newest max_t of a chunk evicted by the memory budget; older data is read from SQLite.
  int64_t evicted_through = kNever;
};

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Same text as core::SeriesKey(name, labels), written into a reused buffer.
void BuildKey(std::string_view name, const core::Labels& labels, std::string* out) {
  out->clear();
  out->append(name);
  if (labels.empty()) return;
  out->push_back('{');
  bool first = true;
  for (const auto& l : labels.items()) {
    if (!first) out->push_back(',');
    first = false;
    out->append(l.name);
    out->append("=\"");
    for (char c : l.value) {
      switch (c) {
        case '\\':
          out->append("\\\\");
          break;
        case '"':
          out->append("\\\"");
          break;
        case '\n':
          out->append("\\n");
          break;
        default:
          out->push_back(c);
      }
    }
    out->push_back('"');
  }
  out->push_back('}');
}

std::string& ThreadKeyBuffer() {
  thread_local std::string key;
  return key;
}

// Appends the points of chunk bytes with start <= t <= end to *out.
Status DecodeRange(std::span<const uint8_t> bytes, int64_t start, int64_t end,
                   std::vector<Point>* out) {
  ChunkDecoder d(bytes);
  while (d.Next()) {
    if (d.t_ms() > end) return Status::Ok();
    if (d.t_ms() >= start) out->push_back(Point{d.t_ms(), d.value()});
  }
  return d.status();
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return kNever;
  return r;
}

}  // namespace

bool ParseAggregation(std::string_view text, Aggregation* out) {
  static constexpr std::pair<std::string_view, Aggregation> kNames[] = {
      {"avg", Aggregation::kAvg},
      {"min", Aggregation::kMin},
      {"max", Aggregation::kMax},
      {"last", Aggregation::kLast}};
  for (const auto& [name, agg] : kNames) {
    if (text == name) {
      *out = agg;
      return true;
    }
  }
  return false;
}

struct SeriesStore::Impl {
  explicit Impl(StoreOptions o) : options(std::move(o)) {
    if (options.chunk_samples == 0) options.chunk_samples = 1;
    if (options.chunk_samples > kChunkMaxSamples) options.chunk_samples = kChunkMaxSamples;
    if (options.max_chunk_span_ms <= 0) options.max_chunk_span_ms = 1;
    series.emplace_back();  // id 0 is never a series
  }

  Series* Find(SeriesId id) const { return id < series.size() ? series[id].get() : nullptr; }

  SeriesId ResolveLocked(const std::string& key, std::string_view name, const core::Labels& labels,
                         core::MetricType type, std::string_view help) {
    if (auto it = by_key.find(std::string_view(key)); it != by_key.end()) return it->second;
    const auto id = static_cast<SeriesId>(series.size());
    auto s = std::make_unique<Series>();
    s->info = SeriesInfo{id, std::string(name), labels, type, std::string(help)};
    s->key = key;
    by_key.emplace(key, id);
    by_name[std::string(name)].push_back(id);
    series.push_back(std::move(s));
    MarkDirty(*series.back());
    return id;
  }

  void MarkDirty(Series& s) {
    if (db && !s.dirty) {
      s.dirty = true;
      dirty.push_back(s.info.id);
    }
  }

  Status AppendLocked(Series& s, int64_t t, double v) {
    if (s.has_last && t <= s.last.t_ms) {
      ++append_errors;
      return Status::InvalidArgument("out-of-order sample for " + s.key + ": " + std::to_string(t) +
                                     " is not after " + std::to_string(s.last.t_ms));
    }
    if (!s.head.empty() && (s.head.count() >= options.chunk_samples ||
                            static_cast<uint64_t>(t) - static_cast<uint64_t>(s.head.min_t()) >=
                                static_cast<uint64_t>(options.max_chunk_span_ms))) {
      SealHead(s);
    }
    if (Status st = s.head.Append(t, v); !st.ok()) {
      ++append_errors;
      return st;
    }
    s.last = Point{t, v};
    s.has_last = true;
    s.last_live = true;
    ++samples_in_memory;
    return Status::Ok();
  }

  void SealHead(Series& s) {
    SealedChunk c;
    c.min_t = s.head.min_t();
    c.max_t = s.head.max_t();
    c.count = s.head.count();
    c.bytes = s.head.TakeBytes();
    c.bytes.shrink_to_fit();
    sealed_bytes += c.bytes.capacity() + kSealedChunkOverhead;
    sealed_encoded_bytes += c.bytes.size();
    s.sealed.push_back(std::move(c));
    MarkDirty(s);
  }

  void DropFront(Series& s) {
    const SealedChunk& c = s.sealed.front();
    sealed_bytes -= c.bytes.capacity() + kSealedChunkOverhead;
    sealed_encoded_bytes -= c.bytes.size();
    samples_in_memory -= c.count;
    ++chunks_evicted;
    s.sealed.pop_front();
  }

  // Writes new series rows and unpersisted sealed chunks (and, with write_heads, every head
  // chunk as the new checkpoint) in one transaction.
  Status PersistLocked(bool write_heads) {
    if (!db || (dirty.empty() && !write_heads)) return Status::Ok();
    std::vector<SqliteChunkDb::SeriesRow> rows;
    std::vector<SqliteChunkDb::ChunkView> chunks;
    for (SeriesId id : dirty) {
      Series& s = *series[id];
      if (!s.row_persisted) {
        rows.push_back({id, s.key, s.info.name, s.info.labels, s.info.type, s.info.help});
      }
      for (auto it = s.sealed.rbegin(); it != s.sealed.rend() && !it->persisted; ++it) {
        chunks.push_back({id, it->min_t, it->max_t, it->count, it->bytes});
      }
    }
    std::vector<SqliteChunkDb::ChunkView> heads;
    if (write_heads) {
      for (const auto& s : series) {
        if (s && !s->head.empty()) {
          heads.push_back(
              {s->info.id, s->head.min_t(), s->head.max_t(), s->head.count(), s->head.bytes()});
        }
      }
    }
    Status st = db->Write(rows, chunks, write_heads ? &heads : nullptr);
    if (!st.ok()) {
      ++persist_errors;
      core::WarnOnce("store.persist", "store: cannot persist chunks: " + st.ToString());
      return st;
    }
    core::ResetOnce("store.persist");
    for (SeriesId id : dirty) {
      Series& s = *series[id];
      s.row_persisted = true;
      s.dirty = false;
      for (auto it = s.sealed.rbegin(); it != s.sealed.rend() && !it->persisted; ++it) {
        it->persisted = true;
      }
    }
    chunks_persisted += chunks.size();
    dirty.clear();
    return Status::Ok();
  }

  uint64_t MemoryLocked() const {
    uint64_t bytes = sealed_bytes + series.capacity() * sizeof(void*);
    for (const auto& s : series) {
      if (!s) continue;
      bytes += kSeriesOverhead + sizeof(Series) + 2 * s->key.capacity() + s->info.name.capacity() +
               s->info.help.capacity() + s->head.capacity_bytes();
      for (const auto& l : s->info.labels.items()) {
        bytes += sizeof(core::Label) + l.name.capacity() + l.value.capacity();
      }
    }
    return bytes;
  }

  // Evicts the oldest sealed chunks (persisted ones only, with a database) until memory is
  // within the budget.
  void EnforceBudgetLocked() {
    uint64_t memory = MemoryLocked();
    if (memory <= options.max_memory_bytes) return;
    std::vector<std::pair<int64_t, SeriesId>> candidates;
    for (const auto& s : series) {
      if (!s) continue;
      for (const auto& c : s->sealed) {
        if (db && !c.persisted) break;
        candidates.emplace_back(c.min_t, s->info.id);
      }
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& [min_t, id] : candidates) {
      if (memory <= options.max_memory_bytes) break;
      Series& s = *series[id];
      const SealedChunk& c = s.sealed.front();
      memory -= c.bytes.capacity() + kSealedChunkOverhead;
      s.evicted_through = std::max(s.evicted_through, c.max_t);
      DropFront(s);
    }
    if (memory > options.max_memory_bytes) {
      core::WarnOnce("store.budget", "store: memory budget exceeded by open head chunks");
    } else {
      core::ResetOnce("store.budget");
    }
  }

  Status Load(int64_t now_ms) {
    auto opened = SqliteChunkDb::Open(options.data_dir);
    if (!opened.ok()) return opened.status();
    std::unique_ptr<SqliteChunkDb> database = std::move(opened).value();
    const int64_t cutoff = SaturatingSub(now_ms, options.retention_ms);
    std::vector<SqliteChunkDb::SeriesRow> rows;
    std::vector<SqliteChunkDb::ChunkRow> chunks;
    std::vector<SqliteChunkDb::ChunkRow> heads;
    if (Status st = database->LoadAll(cutoff, &rows, &chunks, &heads); !st.ok()) return st;
    for (auto& row : rows) {
      if (row.id == 0 || row.id > kMaxSeriesId || by_key.count(row.key) != 0) {
        return Status::IoError("database '" + database->path() + "': bad series row " +
                               std::to_string(row.id));
      }
      if (series.size() <= row.id) series.resize(row.id + 1);
      if (series[row.id]) {
        return Status::IoError("database '" + database->path() + "': duplicate series id " +
                               std::to_string(row.id));
      }
      auto s = std::make_unique<Series>();
      s->info = SeriesInfo{row.id, std::move(row.name), std::move(row.labels), row.type,
                           std::move(row.help)};
      s->key = std::move(row.key);
      s->row_persisted = true;
      by_key.emplace(s->key, row.id);
      by_name[s->info.name].push_back(row.id);
      series[row.id] = std::move(s);
    }
    std::vector<Point> points;
    for (auto& row : chunks) {
      Series* s = Find(row.series);
      points.clear();
      if (s == nullptr || !DecodeChunk(row.data, &points).ok() || points.size() != row.count ||
          points.empty() || (s->has_last && points.front().t_ms <= s->last.t_ms)) {
        ++persist_errors;
        core::WarnOnce("store.load", "store: skipped corrupt chunks in " + database->path());
        continue;
      }
      SealedChunk c{points.front().t_ms, points.back().t_ms, row.count, true, std::move(row.data)};
      sealed_bytes += c.bytes.capacity() + kSealedChunkOverhead;
      sealed_encoded_bytes += c.bytes.size();
      samples_in_memory += c.count;
      s->sealed.push_back(std::move(c));
      s->last = points.back();
      s->has_last = s->last_live = true;
    }
    // From here on, chunks sealed while restoring head checkpoints are queued for writing.
    db = std::move(database);
    for (auto& row : heads) {
      Series* s = Find(row.series);
      points.clear();
      if (s == nullptr || !DecodeChunk(row.data, &points).ok()) {
        ++persist_errors;
        core::WarnOnce("store.load", "store: skipped corrupt chunks in " + db->path());
        continue;
      }
      // A checkpoint may overlap chunks sealed after it was taken; keep only newer samples.
      for (const Point& p : points) {
        if (p.t_ms >= cutoff && (!s->has_last || p.t_ms > s->last.t_ms)) {
          AppendLocked(*s, p.t_ms, p.v);
        }
      }
    }
    EnforceBudgetLocked();
    return Status::Ok();
  }

  StoreOptions options;
  mutable WriterPreferringMutex mu;
  std::vector<std::unique_ptr<Series>> series;  // indexed by id
  std::unordered_map<std::string, SeriesId, KeyHash, std::equal_to<>> by_key;
  // Series ids per metric name, so selecting one metric does not scan every series.
  std::unordered_map<std::string, std::vector<SeriesId>, KeyHash, std::equal_to<>> by_name;
  std::unique_ptr<SqliteChunkDb> db;
  std::vector<SeriesId> dirty;
  int64_t last_db_retention_ms = kNever;

  uint64_t samples_in_memory = 0;
  uint64_t samples_appended = 0;
  uint64_t sealed_bytes = 0;          // heap bytes of sealed chunks, with overhead
  uint64_t sealed_encoded_bytes = 0;  // their encoded size
  uint64_t chunks_persisted = 0;
  uint64_t chunks_evicted = 0;
  uint64_t append_errors = 0;
  uint64_t persist_errors = 0;
};

SeriesStore::SeriesStore(StoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

SeriesStore::~SeriesStore() = default;

Status SeriesStore::Open(int64_t now_ms) {
  std::unique_lock lock(impl_->mu);
  if (impl_->options.data_dir.empty()) return Status::Ok();
  if (impl_->db) return Status::InvalidArgument("store is already open");
  if (impl_->series.size() > 1) {
    return Status::InvalidArgument("SeriesStore::Open must be called before series are resolved");
  }
  Status st = impl_->Load(now_ms);
  if (!st.ok()) {
    // Leave the store empty and memory-only rather than half loaded.
    const StoreOptions options = impl_->options;
    lock.unlock();
    impl_ = std::make_unique<Impl>(options);
  }
  return st;
}

SeriesId SeriesStore::Resolve(std::string_view name, const core::Labels& labels,
                              core::MetricType type, std::string_view help) {
  std::string& key = ThreadKeyBuffer();
  BuildKey(name, labels, &key);
  {
    std::shared_lock lock(impl_->mu);
    if (auto it = impl_->by_key.find(std::string_view(key)); it != impl_->by_key.end()) {
      return it->second;
    }
  }
  std::unique_lock lock(impl_->mu);
  return impl_->ResolveLocked(key, name, labels, type, help);
}

Status SeriesStore::Append(SeriesId id, int64_t t_ms, double value) {
  std::unique_lock lock(impl_->mu);
  Series* s = impl_->Find(id);
  if (s == nullptr) {
    ++impl_->append_errors;
    return Status::NotFound("no series with id " + std::to_string(id));
  }
  Status st = impl_->AppendLocked(*s, t_ms, value);
  if (st.ok()) ++impl_->samples_appended;
  return st;
}

size_t SeriesStore::AppendBatch(const core::SampleBatch& batch, int64_t t_ms) {
  std::string& key = ThreadKeyBuffer();
  std::unique_lock lock(impl_->mu);
  size_t stored = 0;
  for (const core::Sample& sample : batch) {
    BuildKey(sample.name, sample.labels, &key);
    const SeriesId id =
        impl_->ResolveLocked(key, sample.name, sample.labels, sample.type, sample.help);
    if (impl_->AppendLocked(*impl_->series[id], t_ms, sample.value).ok()) ++stored;
  }
  impl_->samples_appended += stored;
  impl_->PersistLocked(/*write_heads=*/false);
  return stored;
}

std::optional<Point> SeriesStore::Latest(SeriesId id) const {
  std::shared_lock lock(impl_->mu);
  const Series* s = impl_->Find(id);
  if (s == nullptr || !s->last_live) return std::nullopt;
  return s->last;
}

std::optional<SeriesInfo> SeriesStore::Info(SeriesId id) const {
  std::shared_lock lock(impl_->mu);
  const Series* s = impl_->Find(id);
  if (s == nullptr) return std::nullopt;
  return s->info;
}

std::vector<SeriesInfo> SeriesStore::Select(std::string_view name,
                                            const std::vector<core::LabelMatcher>& matchers) const {
  std::shared_lock lock(impl_->mu);
  std::vector<SeriesInfo> out;
  auto consider = [&](const Series* s) {
    if (s && std::all_of(matchers.begin(), matchers.end(),
                         [&](const core::LabelMatcher& m) { return m.Matches(s->info.labels); })) {
      out.push_back(s->info);
    }
  };
  if (name.empty()) {
    for (const auto& s : impl_->series) consider(s.get());
  } else if (auto it = impl_->by_name.find(name); it != impl_->by_name.end()) {
    for (SeriesId id : it->second) consider(impl_->Find(id));
  }
  return out;
}

Result<std::vector<Point>> SeriesStore::Range(SeriesId id, int64_t start_ms, int64_t end_ms) const {
  if (start_ms > end_ms) {
    return Status::InvalidArgument("range start " + std::to_string(start_ms) + " is after end " +
                                   std::to_string(end_ms));
  }
  std::shared_lock lock(impl_->mu);
  const Series* s = impl_->Find(id);
  if (s == nullptr) return Status::NotFound("no series with id " + std::to_string(id));
  std::vector<Point> out;
  if (impl_->db && s->evicted_through >= start_ms) {
    std::vector<SqliteChunkDb::ChunkRow> rows;
    Status st = impl_->db->ReadChunks(id, start_ms, end_ms, s->evicted_through, &rows);
    if (!st.ok()) return st;
    for (const auto& row : rows) {
      if (Status dst = DecodeRange(row.data, start_ms, end_ms, &out); !dst.ok()) return dst;
    }
  }
  for (const SealedChunk& c : s->sealed) {
    if (c.max_t < start_ms) continue;
    if (c.min_t > end_ms) break;
    if (Status st = DecodeRange(c.bytes, start_ms, end_ms, &out); !st.ok()) return st;
  }
  if (!s->head.empty() && s->head.max_t() >= start_ms && s->head.min_t() <= end_ms) {
    if (Status st = DecodeRange(s->head.bytes(), start_ms, end_ms, &out); !st.ok()) return st;
  }
  return out;
}

Result<std::vector<Point>> SeriesStore::RangeStep(SeriesId id, int64_t start_ms, int64_t end_ms,
                                                  int64_t step_ms, Aggregation agg) const {
  if (step_ms <= 0) {
    return Status::InvalidArgument("step must be positive, got " + std::to_string(step_ms));
  }
  auto raw = Range(id, start_ms, end_ms);
  if (!raw.ok()) return raw.status();
  std::vector<Point> out;
  const auto span = static_cast<uint64_t>(end_ms) - static_cast<uint64_t>(start_ms);
  const auto step = static_cast<uint64_t>(step_ms);
  uint64_t bucket = 0;
  double acc = 0;
  size_t n = 0;
  auto emit = [&] {
    if (n == 0) return;
    const uint64_t bucket_end = (bucket + 1) * step;  // <= span + step, no overflow
    const int64_t stamp = bucket_end > span
                              ? end_ms
                              : static_cast<int64_t>(static_cast<uint64_t>(start_ms) + bucket_end);
    out.push_back(Point{stamp, agg == Aggregation::kAvg ? acc / static_cast<double>(n) : acc});
    n = 0;
  };
  for (const Point& p : *raw) {
    const uint64_t b = (static_cast<uint64_t>(p.t_ms) - static_cast<uint64_t>(start_ms)) / step;
    if (b != bucket) {
      emit();
      bucket = b;
    }
    if (n == 0) {
      acc = p.v;
    } else {
      switch (agg) {
        case Aggregation::kAvg:
          acc += p.v;
          break;
        case Aggregation::kMin:
          acc = std::fmin(acc, p.v);
          break;
        case Aggregation::kMax:
          acc = std::fmax(acc, p.v);
          break;
        case Aggregation::kLast:
          acc = p.v;
          break;
      }
    }
    ++n;
  }
  emit();
  return out;
}

void SeriesStore::EnforceRetention(int64_t now_ms) {
  std::unique_lock lock(impl_->mu);
  Impl& m = *impl_;
  m.PersistLocked(/*write_heads=*/false);
  const int64_t cutoff = SaturatingSub(now_ms, m.options.retention_ms);
  for (const auto& s : m.series) {
    if (!s) continue;
    while (!s->sealed.empty() && s->sealed.front().max_t < cutoff) m.DropFront(*s);
    if (!s->head.empty() && s->head.max_t() < cutoff) {
      m.samples_in_memory -= s->head.count();
      s->head.Reset();
      s->last_live = false;
    }
  }
  if (m.db && (m.last_db_retention_ms == kNever ||
               now_ms - m.last_db_retention_ms >= kDbRetentionIntervalMs)) {
    m.last_db_retention_ms = now_ms;
    if (Status st = m.db->DeleteBefore(cutoff); !st.ok()) {
      ++m.persist_errors;
      core::WarnOnce("store.retention", "store: cannot delete old chunks: " + st.ToString());
    }
  }
  m.EnforceBudgetLocked();
}

Status SeriesStore::Checkpoint() {
  std::unique_lock lock(impl_->mu);
  return impl_->PersistLocked(/*write_heads=*/true);
}

Status SeriesStore::Flush() { return Checkpoint(); }

size_t SeriesStore::SeriesCount() const {
  std::shared_lock lock(impl_->mu);
  return impl_->by_key.size();
}

StoreStats SeriesStore::Stats() const {
  std::shared_lock lock(impl_->mu);
  const Impl& m = *impl_;
  StoreStats st;
  st.samples = m.samples_in_memory;
  st.samples_appended = m.samples_appended;
  st.memory_bytes = m.MemoryLocked();
  st.chunk_bytes = m.sealed_encoded_bytes;
  st.chunks_persisted = m.chunks_persisted;
  st.chunks_evicted = m.chunks_evicted;
  st.append_errors = m.append_errors;
  st.persist_errors = m.persist_errors;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const auto& s : m.series) {
    if (!s) continue;
    ++st.series;
    st.chunks_in_memory += s->sealed.size() + (s->head.empty() ? 0 : 1);
    if (!s->head.empty()) st.chunk_bytes += s->head.bytes().size();
    if (!s->sealed.empty()) {
      oldest = std::min(oldest, s->sealed.front().min_t);
    } else if (!s->head.empty()) {
      oldest = std::min(oldest, s->head.min_t());
    }
  }
  st.oldest_ms = oldest == std::numeric_limits<int64_t>::max() ? 0 : oldest;
  return st;
}

}  // namespace echomon::store
