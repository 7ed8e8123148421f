#include "collect/scrape/engine_profile.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

namespace echomon::collect {
namespace {

constexpr std::array<const char*, 2> kPrefixes = {"vllm:", "aphrodite:"};
constexpr std::array<double, 3> kQuantiles = {0.5, 0.95, 0.99};
constexpr std::array<const char*, 3> kQuantileLabels = {"0.5", "0.95", "0.99"};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool ParseBound(const std::string& text, double* out) {
  if (text == "+Inf" || text == "Inf" || text == "+inf" || text == "inf") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0' && !std::isnan(*out);
}

// Counters the engine exposes (name without prefix and `_total`) -> canonical key.
struct CounterName {
  const char* exposed;
  const char* key;
};
constexpr std::array<CounterName, 5> kCounters = {{
    {"generation_tokens", "generation_tokens"},
    {"prompt_tokens", "prompt_tokens"},
    {"num_preemptions", "preemptions"},
    {"prefix_cache_hits", "prefix_cache_hits"},
    {"prefix_cache_queries", "prefix_cache_queries"},
}};
constexpr const char* kSuccess = "request_success";

// Histograms (name without prefix and `_bucket`) -> canonical key; a "~" key is a legacy alias
// used only when the current name is absent.
constexpr std::array<CounterName, 4> kHistograms = {{
    {"e2e_request_latency_seconds", "e2e"},
    {"time_to_first_token_seconds", "ttft"},
    {"inter_token_latency_seconds", "itl"},
    {"time_per_output_token_seconds", "~itl"},
}};

struct Gauge {
  double sum = 0;
  int n = 0;
};

}  // namespace

double HistogramQuantile(double q, std::vector<HistogramBucket> buckets) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::isnan(q)) return nan;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  if (buckets.empty()) return nan;
  std::sort(buckets.begin(), buckets.end(), [](const HistogramBucket& a, const HistogramBucket& b) {
    return a.upper_bound < b.upper_bound;
  });
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) return nan;
  // Merge equal bounds (summing counts), then force the counts monotonic.
  std::vector<HistogramBucket> merged;
  for (const auto& b : buckets) {
    if (!merged.empty() && merged.back().upper_bound == b.upper_bound) {
      merged.back().count += b.count;
    } else {
      merged.push_back(b);
    }
  }
  double max = merged.front().count;
  for (auto& b : merged) {
    if (b.count < max) b.count = max;
    max = b.count;
  }
  if (merged.size() < 2) return nan;
  const double observations = merged.back().count;
  if (observations == 0 || std::isnan(observations)) return nan;
  double rank = q * observations;
  // First bucket (excluding +Inf) whose cumulative count reaches rank.
  size_t b = 0;
  while (b < merged.size() - 1 && merged[b].count < rank) ++b;
  if (b == merged.size() - 1) return merged[merged.size() - 2].upper_bound;
  if (b == 0 && merged[0].upper_bound <= 0) return merged[0].upper_bound;
  double start = 0;
  double end = merged[b].upper_bound;
  double count = merged[b].count;
  if (b > 0) {
    start = merged[b - 1].upper_bound;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

struct EngineCollector::Snapshot {
  struct Model {
    // Per source series (its labels as text), so increases are computed per engine process
    // and then summed: one process restarting does not reset the others.
    using Series = std::map<std::string, double>;
    std::map<std::string, Series> counters;  // canonical key (or "success:<reason>") -> series
    std::map<std::string, Series> created;   // same key (or "h:<key>") -> series -> _created
    // key -> series (labels without le) -> le -> cumulative count
    std::map<std::string, std::map<std::string, std::map<double, double>>> histograms;
    std::map<std::string, Gauge> gauges;
  };
  int64_t now_ns = 0;
  std::map<std::string, Model> models;
};

EngineCollector::EngineCollector(ScrapeTarget target, Clock* clock)
    : target_(std::move(target)),
      clock_(clock != nullptr ? clock : SystemClock::Get()),
      name_("engine:" + target_.name),
      schedule_(target_.interval_ms) {}

EngineCollector::~EngineCollector() = default;

void EngineCollector::EmitUp(bool up, core::SampleBatch& out) const {
  core::Labels labels = target_.extra_labels;
  labels.Set("engine", target_.name);
  out.push_back({"echomon_engine_up", std::move(labels), up ? 1.0 : 0.0, core::MetricType::kGauge,
                 "1 if the inference engine's metrics were scraped, else 0."});
}

Status EngineCollector::Collect(core::SampleBatch& out) {
  const int64_t now_ns = clock_->MonotonicNanos();
  if (!schedule_.Due(now_ns)) {
    out.insert(out.end(), last_batch_.begin(), last_batch_.end());
    return last_status_;
  }
  schedule_.Scraped(now_ns);
  const size_t first = out.size();
  auto exposition = FetchExposition(target_);
  if (!exposition.ok()) {
    previous_.reset();
    EmitUp(false, out);
    last_status_ = exposition.status();
  } else {
    last_status_ = Derive(exposition->families, clock_->MonotonicNanos(), out);
  }
  if (target_.interval_ms > 0) last_batch_.assign(out.begin() + first, out.end());
  return last_status_;
}

Status EngineCollector::Derive(const std::vector<expfmt::MetricFamily>& families, int64_t now_ns,
                               core::SampleBatch& out) {
  // Detect the prefix: the first family carrying one of the known prefixes.
  std::string prefix;
  for (const auto& family : families) {
    for (const char* p : kPrefixes) {
      if (family.name.rfind(p, 0) == 0) {
        prefix = p;
        break;
      }
    }
    if (!prefix.empty()) break;
  }
  if (prefix.empty()) {
    previous_.reset();
    EmitUp(false, out);
    return Status::NotFound("engine " + target_.name + " at " + target_.url +
                            ": no vllm: or aphrodite: metrics exposed");
  }
  prefix_ = prefix;

  auto snapshot = std::make_unique<Snapshot>();
  snapshot->now_ns = now_ns;
  for (const auto& family : families) {
    if (family.name.rfind(prefix, 0) != 0) continue;
    for (const auto& sample : family.samples) {
      if (sample.name.rfind(prefix, 0) != 0) continue;
      std::string_view name = std::string_view(sample.name).substr(prefix.size());
      const std::string* model_label = sample.labels.Get("model_name");
      auto& model = snapshot->models[model_label != nullptr ? *model_label : std::string()];
      const double v = sample.value;
      if (std::isnan(v)) continue;
      const std::string series = sample.labels.ToString();
      // Gauges.
      if (name == "num_requests_running") {
        model.gauges["running"].sum += v;
        ++model.gauges["running"].n;
        continue;
      }
      if (name == "num_requests_waiting") {
        model.gauges["waiting"].sum += v;
        ++model.gauges["waiting"].n;
        continue;
      }
      if (name == "kv_cache_usage_perc" || name == "gpu_cache_usage_perc") {
        auto& g = model.gauges[name == "kv_cache_usage_perc" ? "kv" : "~kv"];
        g.sum += v;
        ++g.n;
        continue;
      }
      // Counters and their _created companions.
      bool done = false;
      for (const auto& c : kCounters) {
        std::string base = c.exposed;
        if (name == base + "_total") {
          model.counters[c.key][series] = v;
          done = true;
        } else if (name == base + "_created") {
          model.created[c.key][series] = v;
          done = true;
        }
      }
      if (done) continue;
      if (name == std::string(kSuccess) + "_total" || name == std::string(kSuccess) + "_created") {
        const std::string* reason = sample.labels.Get("finished_reason");
        std::string key = "success:" + (reason != nullptr ? *reason : std::string());
        (EndsWith(name, "_total") ? model.counters : model.created)[key][series] = v;
        continue;
      }
      for (const auto& h : kHistograms) {
        std::string base = h.exposed;
        if (name == base + "_bucket") {
          const std::string* le = sample.labels.Get("le");
          double bound = 0;
          if (le == nullptr || !ParseBound(*le, &bound)) continue;
          core::Labels without_le = sample.labels;
          without_le.Erase("le");
          model.histograms[h.key][without_le.ToString()][bound] = v;
        } else if (name == base + "_created") {
          std::string key =
              h.key[0] == '~' ? std::string("~h:") + (h.key + 1) : std::string("h:") + h.key;
          model.created[key][series] = v;
        }
      }
    }
  }
  // Resolve legacy aliases: a "~" entry is used only when the current name is absent.
  for (auto& [model_name, model] : snapshot->models) {
    auto resolve = [](auto& map, const std::string& key) {
      auto legacy = map.find("~" + key);
      if (legacy == map.end()) return;
      if (map.find(key) == map.end()) map[key] = std::move(legacy->second);
      map.erase("~" + key);
    };
    resolve(model.gauges, "kv");
    resolve(model.histograms, "itl");
    resolve(model.created, "h:itl");
  }

  EmitUp(true, out);
  const Snapshot* prev = previous_.get();
  const double dt = prev != nullptr ? static_cast<double>(now_ns - prev->now_ns) / 1e9 : 0;
  for (const auto& [model_name, model] : snapshot->models) {
    core::Labels labels = target_.extra_labels;
    labels.Set("engine", target_.name);
    labels.Set("model", model_name);
    auto emit = [&](const char* metric, double value, const char* help,
                    const core::Labels* with = nullptr) {
      out.push_back(
          {metric, with != nullptr ? *with : labels, value, core::MetricType::kGauge, help});
    };
    if (auto it = model.gauges.find("running"); it != model.gauges.end()) {
      emit("echomon_engine_requests_running", it->second.sum,
           "Requests the engine is executing now.");
    }
    if (auto it = model.gauges.find("waiting"); it != model.gauges.end()) {
      emit("echomon_engine_requests_waiting", it->second.sum,
           "Requests queued in the engine, waiting to be scheduled.");
    }
    if (auto it = model.gauges.find("kv"); it != model.gauges.end() && it->second.n > 0) {
      emit("echomon_engine_kv_cache_usage_percent", 100.0 * it->second.sum / it->second.n,
           "KV-cache blocks in use, percent (mean over the engine's processes).");
    }

    if (prev == nullptr || dt <= 0) continue;
    auto prev_model_it = prev->models.find(model_name);
    if (prev_model_it == prev->models.end()) continue;
    const auto& prev_model = prev_model_it->second;
    // Whether the series' `_created` changed between the scrapes (the process restarted).
    auto restarted = [&](const std::string& created_key, const std::string& series) {
      auto now_created = model.created.find(created_key);
      auto then_created = prev_model.created.find(created_key);
      if (now_created == model.created.end() || then_created == prev_model.created.end()) {
        return false;
      }
      auto now_value = now_created->second.find(series);
      auto then_value = then_created->second.find(series);
      return now_value != now_created->second.end() && then_value != then_created->second.end() &&
             now_value->second != then_value->second;
    };
    // Increase of a counter since the previous scrape, summed over the series present in both
    // scrapes (a series that went down or whose _created changed contributes its new value);
    // nullopt when no series is in both.
    auto increase = [&](const std::string& key) -> std::optional<double> {
      auto now_it = model.counters.find(key);
      auto then_it = prev_model.counters.find(key);
      if (now_it == model.counters.end() || then_it == prev_model.counters.end()) {
        return std::nullopt;
      }
      std::optional<double> total;
      for (const auto& [series, value] : now_it->second) {
        auto then_value = then_it->second.find(series);
        if (then_value == then_it->second.end()) continue;  // no baseline yet
        const bool reset = value < then_value->second || restarted(key, series);
        total = total.value_or(0) + (reset ? value : value - then_value->second);
      }
      return total;
    };
    if (auto d = increase("generation_tokens")) {
      emit("echomon_engine_generation_tokens_per_second", *d / dt,
           "Generated (decode) tokens per second over the last scrape interval.");
    }
    if (auto d = increase("prompt_tokens")) {
      emit("echomon_engine_prompt_tokens_per_second", *d / dt,
           "Prompt (prefill) tokens per second over the last scrape interval.");
    }
    if (auto d = increase("preemptions")) {
      emit("echomon_engine_preemptions_per_second", *d / dt,
           "Request preemptions per second over the last scrape interval.");
    }
    auto hits = increase("prefix_cache_hits");
    auto queries = increase("prefix_cache_queries");
    if (hits && queries && *queries > 0) {
      emit("echomon_engine_prefix_cache_hit_rate", *hits / *queries,
           "Prefix-cache hits per queried token over the last scrape interval (0-1).");
    }
    for (const auto& [key, value] : model.counters) {
      if (key.rfind("success:", 0) != 0) continue;
      auto d = increase(key);
      if (!d) continue;
      std::string reason = key.substr(8);
      if (reason == "abort") {
        emit("echomon_engine_request_errors_per_second", *d / dt,
             "Aborted requests per second over the last scrape interval.");
      } else {
        core::Labels with = labels;
        with.Set("finished_reason", reason);
        emit("echomon_engine_request_success_per_second", *d / dt,
             "Finished requests per second by finish reason over the last scrape interval.", &with);
      }
    }
    // Latency quantiles from bucket deltas.
    struct QuantileMetric {
      const char* key;
      const char* metric;
      const char* help;
    };
    static constexpr std::array<QuantileMetric, 3> kQuantileMetrics = {{
        {"e2e", "echomon_engine_request_latency_seconds",
         "End-to-end request latency quantile over the last scrape interval."},
        {"ttft", "echomon_engine_time_to_first_token_seconds",
         "Time-to-first-token quantile over the last scrape interval."},
        {"itl", "echomon_engine_inter_token_latency_seconds",
         "Inter-token latency quantile over the last scrape interval."},
    }};
    for (const auto& qm : kQuantileMetrics) {
      auto now_it = model.histograms.find(qm.key);
      auto then_it = prev_model.histograms.find(qm.key);
      if (now_it == model.histograms.end() || then_it == prev_model.histograms.end()) continue;
      // Bucket deltas per series, summed by upper bound.
      std::map<double, double> summed;
      for (const auto& [series, buckets] : now_it->second) {
        auto then_series = then_it->second.find(series);
        if (then_series == then_it->second.end()) continue;  // no baseline yet
        bool reset = restarted(std::string("h:") + qm.key, series);
        for (const auto& [bound, count] : buckets) {
          auto then_bucket = then_series->second.find(bound);
          if (then_bucket == then_series->second.end() || count < then_bucket->second) {
            reset = true;
          }
        }
        for (const auto& [bound, count] : buckets) {
          summed[bound] += reset ? count : count - then_series->second.at(bound);
        }
      }
      std::vector<HistogramBucket> deltas;
      for (const auto& [bound, count] : summed) deltas.push_back({bound, count});
      for (size_t i = 0; i < kQuantiles.size(); ++i) {
        double value = HistogramQuantile(kQuantiles[i], deltas);
        if (std::isnan(value)) continue;  // no observations in the interval: no data
        core::Labels with = labels;
        with.Set("quantile", kQuantileLabels[i]);
        emit(qm.metric, value, qm.help, &with);
      }
    }
  }
  previous_ = std::move(snapshot);
  return Status::Ok();
}

}  // namespace echomon::collect
