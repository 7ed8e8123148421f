#include "collect/scrape/scrape_collector.h"

#include <httplib.h>

#include <algorithm>
#include <mutex>
#include <unordered_set>
#include <utility>

namespace echomon::collect {
namespace {

constexpr size_t kMaxBodyBytes = 16u << 20;

constexpr const char* kAcceptHeader =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Splits "http://host:port/path?q" into "http://host:port" and "/path?q".
bool SplitUrl(const std::string& url, std::string* scheme_host_port, std::string* path) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find_first_of("/?", host_start);
  if (path_start == host_start) return false;
  *scheme_host_port = url.substr(0, path_start);
  *path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (!path->empty() && (*path)[0] == '?') *path = "/" + *path;
  return true;
}

std::string ClientErrorReason(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect (connection refused or host unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "read failed or timed out";
    default:
      return httplib::to_string(error);
  }
}

// HELP texts outlive any batch: core::Sample::help is a string_view, so scraped help strings are
// interned for the life of the process, bounded so a hostile target cannot grow it forever.
std::string_view InternHelp(const std::string& help) {
  static std::mutex mu;
  static auto* pool = new std::unordered_set<std::string>();
  static size_t bytes = 0;
  constexpr size_t kMaxBytes = 1u << 20;
  if (help.empty()) return {};
  std::lock_guard<std::mutex> lock(mu);
  auto it = pool->find(help);
  if (it != pool->end()) return *it;
  if (bytes + help.size() > kMaxBytes) return {};
  bytes += help.size();
  return *pool->insert(help).first;
}

bool IsCounterLike(expfmt::MetricType type) {
  return type == expfmt::MetricType::kCounter || type == expfmt::MetricType::kHistogram ||
         type == expfmt::MetricType::kSummary || type == expfmt::MetricType::kGaugeHistogram;
}

std::string StripTotal(const std::string& name) {
  return EndsWith(name, "_total") ? name.substr(0, name.size() - 6) : name;
}

}  // namespace

Result<ScrapedExposition> FetchExposition(const ScrapeTarget& target) {
  const std::string where = "scrape " + target.url + ": ";
  std::string scheme_host_port, path;
  if (!SplitUrl(target.url, &scheme_host_port, &path)) {
    return Status::InvalidArgument(where + "not an http(s)://host[:port]/path URL");
  }
  httplib::Client client(scheme_host_port);
  if (!client.is_valid()) return Status::InvalidArgument(where + "unsupported URL");
  int64_t timeout_ms = std::max<int64_t>(target.timeout_ms, 1);
  time_t sec = static_cast<time_t>(timeout_ms / 1000);
  time_t usec = static_cast<time_t>((timeout_ms % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_keep_alive(false);

  httplib::Headers headers{{"Accept", kAcceptHeader}};
  for (const auto& [key, value] : target.headers) headers.emplace(key, value);

  std::string body;
  bool too_big = false;
  auto result = client.Get(
      path, headers, [](const httplib::Response&) { return true; },
      [&](const char* data, size_t length) {
        if (body.size() + length > kMaxBodyBytes) {
          too_big = true;
          return false;
        }
        body.append(data, length);
        return true;
      });
  if (too_big) {
    return Status::ResourceExhausted(where + "body larger than " + std::to_string(kMaxBodyBytes) +
                                     " bytes");
  }
  if (!result) {
    httplib::Error error = result.error();
    std::string reason = ClientErrorReason(error);
    if (error == httplib::Error::ConnectionTimeout) return Status::Timeout(where + reason);
    if (error == httplib::Error::Connection) return Status::Unavailable(where + reason);
    return Status::IoError(where + reason);
  }
  if (result->status < 200 || result->status > 299) {
    return Status::IoError(where + "HTTP " + std::to_string(result->status));
  }

  ScrapedExposition exposition;
  exposition.content_type = result->get_header_value("Content-Type");
  exposition.format = expfmt::FormatFromContentType(exposition.content_type);
  expfmt::ParseLimits limits;
  limits.max_body_bytes = kMaxBodyBytes;
  if (target.sample_limit > 0) limits.max_samples = target.sample_limit;
  expfmt::ParseError parse_error;
  auto families = expfmt::Parse(body, exposition.format, limits, &parse_error);
  if (!families.ok()) {
    if (parse_error.resource_exhausted &&
        parse_error.message.find("max_samples") != std::string::npos) {
      return Status::ResourceExhausted(
          where + "more than sample_limit=" + std::to_string(target.sample_limit) + " samples (" +
          parse_error.ToString() + ")");
    }
    StatusCode code = families.status().code();
    return Status(code,
                  where + expfmt::FormatName(exposition.format) + " " + parse_error.ToString());
  }
  exposition.families = std::move(families).value();
  return exposition;
}

ScrapeCollector::ScrapeCollector(ScrapeTarget target, Clock* clock)
    : target_(std::move(target)),
      schedule_(target_.interval_ms),
      clock_(clock != nullptr ? clock : SystemClock::Get()),
      name_("scrape:" + target_.name) {}

Status ScrapeCollector::Collect(core::SampleBatch& out) {
  const int64_t now_ns = clock_->MonotonicNanos();
  if (!schedule_.Due(now_ns)) {
    out.insert(out.end(), last_batch_.begin(), last_batch_.end());
    return last_status_;
  }
  schedule_.Scraped(now_ns);
  ++scrapes_;
  const size_t first = out.size();
  last_status_ = Scrape(out);
  if (target_.interval_ms > 0) last_batch_.assign(out.begin() + first, out.end());
  return last_status_;
}

Status ScrapeCollector::Scrape(core::SampleBatch& out) {
  const int64_t start_ns = clock_->MonotonicNanos();
  const size_t first = out.size();
  Status status;
  auto exposition = FetchExposition(target_);
  if (!exposition.ok()) {
    status = exposition.status();
  } else {
    std::unordered_set<std::string> counter_like_bases;
    for (const auto& family : exposition->families) {
      if (IsCounterLike(family.type)) counter_like_bases.insert(StripTotal(family.name));
    }
    std::unordered_map<std::string, double> created_now;
    for (const auto& family : exposition->families) {
      const core::MetricType type = expfmt::StoredMetricType(family.type);
      std::string_view help = InternHelp(family.help);
      for (const auto& sample : family.samples) {
        core::Labels labels = sample.labels;
        for (const auto& label : target_.extra_labels.items()) labels.Set(label.name, label.value);
        for (const auto& drop : target_.drop_labels) labels.Erase(drop);
        labels.Set("target", target_.name);
        if (EndsWith(sample.name, "_created")) {
          std::string base = sample.name.substr(0, sample.name.size() - 8);
          if (IsCounterLike(family.type) || counter_like_bases.count(base) > 0) {
            created_now[core::SeriesKey(sample.name, labels)] = sample.value;
            continue;
          }
        }
        out.push_back(core::Sample{sample.name, std::move(labels), sample.value, type, help});
      }
    }
    for (const auto& [key, value] : created_now) {
      auto it = created_.find(key);
      if (it != created_.end() && it->second != value) ++counter_restarts_;
    }
    created_ = std::move(created_now);
    if (target_.sample_limit > 0 && out.size() - first > target_.sample_limit) {
      out.resize(first);
      status = Status::ResourceExhausted("scrape " + target_.url + ": more than sample_limit=" +
                                         std::to_string(target_.sample_limit) + " samples");
    }
  }
  if (!status.ok()) ++errors_;
  const size_t emitted = out.size() - first;
  const double seconds = static_cast<double>(clock_->MonotonicNanos() - start_ns) / 1e9;
  core::Labels self{{"target", target_.name}};
  out.push_back({"echomon_scrape_up", self, status.ok() ? 1.0 : 0.0, core::MetricType::kGauge,
                 "1 if the last scrape of the target succeeded, else 0."});
  out.push_back({"echomon_scrape_duration_seconds", self, seconds, core::MetricType::kGauge,
                 "Duration of the last scrape of the target."});
  out.push_back({"echomon_scrape_samples", self, static_cast<double>(emitted),
                 core::MetricType::kGauge, "Samples emitted by the last scrape of the target."});
  out.push_back({"echomon_scrape_errors_total", self, static_cast<double>(errors_),
                 core::MetricType::kCounter, "Failed scrapes of the target."});
  return status;
}

}  // namespace echomon::collect
