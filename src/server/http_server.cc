#include "server/http_server.h"

#include <httplib.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/config.h"
#include "core/labels.h"
#include "server/exposition.h"

namespace echomon::server {
namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";

// Serialises an answer; invalid UTF-8 in strings (e.g. truncated process output) becomes U+FFFD
// instead of throwing.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(Dump(json{{"status", "error"}, {"error", message}}), kJson);
}

// A JSON value for a sample: a number when finite, else the Prometheus spelling as a string.
json SampleJson(double v) {
  if (std::isfinite(v)) return v;
  return FormatSampleValue(v);
}

json PointJson(const store::Point& p) {
  return json::array({static_cast<double>(p.t_ms) / 1000.0, SampleJson(p.v)});
}

json LabelsJson(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels.items()) out[l.name] = l.value;
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

ApiResponse ApiResponse::Json(const nlohmann::json& data, int status) {
  ApiResponse r;
  r.status = status;
  r.body = Dump(json{{"status", "success"}, {"data", data}});
  return r;
}

ApiResponse ApiResponse::Error(int status, const std::string& message) {
  ApiResponse r;
  r.status = status;
  r.body = Dump(json{{"status", "error"}, {"error", message}});
  return r;
}

std::map<std::string, std::string> ParseQueryString(std::string_view target) {
  std::map<std::string, std::string> params;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return params;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');  // the first '=' only: values may contain more
    std::string key = PercentDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    params.emplace(std::move(key), std::move(value));  // the first occurrence wins
  }
  return params;
}

bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  size_t colon;
  if (!listen.empty() && listen[0] == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return false;
    }
    *host = listen.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = listen.rfind(':');
    if (colon == std::string::npos) return false;
    *host = listen.substr(0, colon);
  }
  if (host->empty()) return false;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  int p = -1;
  auto [ptr, ec] = std::from_chars(first, last, p);
  if (ec != std::errc() || ptr != last || first == last || p < 0 || p > 65535) return false;
  *port = p;
  return true;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

bool ParseQueryTime(const std::string& text, int64_t now_ms, int64_t* out_ms) {
  if (text.empty()) return false;
  if (text == "now") {
    *out_ms = now_ms;
    return true;
  }
  if (text[0] == '-') {
    int64_t d = 0;
    if (!core::ParseDurationMs(text.substr(1), &d)) return false;
    *out_ms = now_ms - d;
    return true;
  }
  double seconds = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, seconds);
  if (ec != std::errc() || ptr != last || !std::isfinite(seconds)) return false;
  *out_ms = static_cast<int64_t>(std::llround(seconds * 1000.0));
  return true;
}

// Query parameters parsed from the raw target: httplib 0.11 keeps only the text after the last
// '=' of a parameter, which would mangle values such as labels=mount=/.
struct Query {
  explicit Query(const httplib::Request& req) : params(ParseQueryString(req.target)) {}
  bool has(const std::string& name) const { return params.count(name) > 0; }
  std::string get(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
  std::map<std::string, std::string> params;
};

struct HttpServer::Impl {
  store::SeriesStore* store;
  Clock* clock;
  ServerOptions options;
  ServerHooks hooks;
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::string host;

  bool Authorized(const httplib::Request& req) const {
    auto header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.rfind(prefix, 0) != 0) return false;
    return ConstantTimeEquals(header.substr(prefix.size()), options.token);
  }

  // Returns false (and answers 401) when the request lacks a required token.
  bool CheckRead(const httplib::Request& req, httplib::Response& res) const {
    if (!options.require_token_for_reads || Authorized(req)) return true;
    SendError(res, 401, "this endpoint requires 'Authorization: Bearer <token>'");
    return false;
  }

  void HandleMetrics(const httplib::Request& req, httplib::Response& res) {
    if (!CheckRead(req, res)) return;
    std::string body;
    RenderExposition(*store, clock->NowMillis() - options.staleness_ms, &body);
    res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
  }

  void HandleStatus(const httplib::Request& req, httplib::Response& res) {
    if (!CheckRead(req, res)) return;
    json body = hooks.status ? hooks.status() : json::object();
    res.set_content(Dump(body), kJson);
  }

  // Parses ?metric= and ?labels= shared by /series and /query. Returns false after answering 400.
  bool ParseSelector(const Query& req, httplib::Response& res, bool metric_required,
                     std::string* metric, std::vector<core::LabelMatcher>* matchers) {
    *metric = req.get("metric");
    if (metric->empty() && metric_required) {
      SendError(res, 400, "missing required parameter 'metric'");
      return false;
    }
    if (!metric->empty() && !core::IsValidMetricName(*metric)) {
      SendError(res, 400, "parameter 'metric': '" + *metric + "' is not a valid metric name");
      return false;
    }
    std::string error;
    if (!core::ParseLabelMatchers(req.get("labels"), matchers, &error)) {
      SendError(res, 400, "parameter 'labels': " + error);
      return false;
    }
    return true;
  }

  void HandleSeries(const httplib::Request& req, httplib::Response& res) {
    if (!CheckRead(req, res)) return;
    std::string metric;
    std::vector<core::LabelMatcher> matchers;
    if (!ParseSelector(Query(req), res, false, &metric, &matchers)) return;
    json data = json::array();
    for (const auto& s : store->Select(metric, matchers)) {
      data.push_back({{"metric", s.name},
                      {"labels", LabelsJson(s.labels)},
                      {"type", core::MetricTypeName(s.type)},
                      {"help", s.help}});
    }
    res.set_content(Dump(json{{"status", "success"}, {"data", std::move(data)}}), kJson);
  }

  void HandleQuery(const httplib::Request& req, httplib::Response& res) {
    if (!CheckRead(req, res)) return;
    const Query q(req);
    std::string metric;
    std::vector<core::LabelMatcher> matchers;
    if (!ParseSelector(q, res, true, &metric, &matchers)) return;
    const int64_t now = clock->NowMillis();
    const bool instant = !q.has("start");
    int64_t start = 0, end = now, step = 0;
    if (q.has("end") && !ParseQueryTime(q.get("end"), now, &end)) {
      return SendError(res, 400, "parameter 'end': expected 'now', '-<duration>' or Unix seconds");
    }
    if (!instant && !ParseQueryTime(q.get("start"), now, &start)) {
      return SendError(res, 400,
                       "parameter 'start': expected 'now', '-<duration>' or Unix seconds");
    }
    if (!instant && start > end) return SendError(res, 400, "'start' is after 'end'");
    if (q.has("step")) {
      if (!core::ParseDurationMs(q.get("step"), &step) || step <= 0) {
        return SendError(res, 400, "parameter 'step': expected a positive duration such as 15s");
      }
    }
    store::Aggregation agg = store::Aggregation::kAvg;
    if (q.has("agg") && !store::ParseAggregation(q.get("agg"), &agg)) {
      return SendError(res, 400, "parameter 'agg': expected one of avg, min, max, last");
    }
    if (!instant && step > 0 &&
        (end - start) / step > static_cast<int64_t>(options.max_points_per_query)) {
      return SendError(res, 400, "too many points: raise 'step' or narrow the range");
    }
    json series = json::array();
    size_t total_points = 0;
    for (const auto& s : store->Select(metric, matchers)) {
      json entry = {{"labels", LabelsJson(s.labels)}};
      if (instant) {
        auto latest = store->Latest(s.id);
        if (!latest) continue;
        entry["value"] = PointJson(*latest);
      } else {
        auto points = step > 0 ? store->RangeStep(s.id, start, end, step, agg)
                               : store->Range(s.id, start, end);
        if (!points.ok()) return SendError(res, 500, points.status().ToString());
        total_points += points->size();
        if (total_points > options.max_points_per_query) {
          return SendError(res, 400, "too many points: add or raise 'step' or narrow the range");
        }
        json arr = json::array();
        for (const auto& p : *points) arr.push_back(PointJson(p));
        entry["points"] = std::move(arr);
      }
      series.push_back(std::move(entry));
    }
    json data = {{"metric", metric}, {"series", std::move(series)}};
    if (!instant) {
      data["start"] = static_cast<double>(start) / 1000.0;
      data["end"] = static_cast<double>(end) / 1000.0;
      if (step > 0) data["step"] = static_cast<double>(step) / 1000.0;
    }
    res.set_content(Dump(json{{"status", "success"}, {"data", std::move(data)}}), kJson);
  }

  // Answers a GET endpoint whose body is the JSON a hook returns.
  void ServeJsonHook(const httplib::Request& req, httplib::Response& res,
                     const std::function<json()>& hook) {
    if (!CheckRead(req, res)) return;
    if (!hook) return SendError(res, 501, "not available");
    res.set_content(Dump(json{{"status", "success"}, {"data", hook()}}), kJson);
  }

  void HandleAlertHistory(const httplib::Request& req, httplib::Response& res) {
    if (!CheckRead(req, res)) return;
    if (!hooks.alert_history) return SendError(res, 501, "not available");
    const Query q(req);
    int64_t since = 0;
    if (q.has("since") && !ParseQueryTime(q.get("since"), clock->NowMillis(), &since)) {
      return SendError(res, 400,
                       "parameter 'since': expected 'now', '-<duration>' or Unix seconds");
    }
    size_t limit = 1000;
    if (q.has("limit")) {
      const std::string text = q.get("limit");
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || ptr != text.data() + text.size() || limit == 0 || limit > 100'000) {
        return SendError(res, 400, "parameter 'limit': expected a number from 1 to 100000");
      }
    }
    res.set_content(Dump(json{{"status", "success"}, {"data", hooks.alert_history(since, limit)}}),
                    kJson);
  }

  void HandleCreateSilence(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req)) return SendError(res, 401, "requires 'Authorization: Bearer <token>'");
    if (!hooks.create_silence) return SendError(res, 501, "not available");
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return SendError(res, 400, "the body is not valid JSON");
    auto created = hooks.create_silence(body);
    if (!created.ok()) return SendError(res, 400, created.status().message());
    res.status = 201;
    res.set_content(Dump(json{{"status", "success"}, {"data", *created}}), kJson);
  }

  void HandleExpireSilence(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req)) return SendError(res, 401, "requires 'Authorization: Bearer <token>'");
    if (!hooks.expire_silence) return SendError(res, 501, "not available");
    const std::string id = req.matches.size() > 1 ? std::string(req.matches[1]) : std::string();
    Status s = hooks.expire_silence(id);
    if (s.code() == StatusCode::kNotFound) return SendError(res, 404, s.message());
    if (!s.ok()) return SendError(res, 500, s.message());
    res.set_content(Dump(json{{"status", "success"}}), kJson);
  }

  void HandleRoute(const Route& route, const httplib::Request& req, httplib::Response& res) {
    const bool authorized = Authorized(req);
    if (route.mutating && !authorized) {
      return SendError(res, 401, "requires 'Authorization: Bearer <token>'");
    }
    if (!route.mutating && !CheckRead(req, res)) return;
    ApiRequest in;
    in.method = req.method;
    in.path = req.path;
    for (size_t i = 1; i < req.matches.size(); ++i) in.captures.push_back(req.matches[i].str());
    in.params = ParseQueryString(req.target);
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      in.headers.emplace(std::move(lower), value);
    }
    in.body = req.body;
    in.authorized = authorized;
    ApiResponse out = route.handle(in);
    res.status = out.status;
    for (const auto& [name, value] : out.headers) res.set_header(name, value);
    res.set_content(out.body, out.content_type);
  }

  void HandleReload(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req))
      return SendError(res, 401, "reload requires 'Authorization: Bearer <token>'");
    if (!hooks.reload) return SendError(res, 501, "reload is not available");
    Status s = hooks.reload();
    if (!s.ok()) return SendError(res, 400, s.ToString());
    res.set_content(Dump(json{{"status", "success"}}), kJson);
  }
};

HttpServer::HttpServer(store::SeriesStore* store, Clock* clock, ServerOptions options,
                       ServerHooks hooks)
    : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
  impl_->clock = clock;
  impl_->options = std::move(options);
  impl_->hooks = std::move(hooks);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Impl& d = *impl_;
  int port = 0;
  if (!SplitHostPort(d.options.listen, &d.host, &port)) {
    return Status::InvalidArgument("listen address '" + d.options.listen +
                                   "' is not host:port (e.g. 127.0.0.1:9470)");
  }
  if (d.options.token.empty()) return Status::InvalidArgument("the server needs a token");
  const int threads = d.options.threads;
  d.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default also sets SO_REUSEPORT, which would let a second agent bind the same port
  // and silently share its traffic. Only SO_REUSEADDR (fast restarts) is wanted.
  d.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  d.http.set_payload_max_length(d.options.max_body_bytes);
  d.http.set_read_timeout(5, 0);
  d.http.set_write_timeout(5, 0);
  d.http.set_keep_alive_max_count(100);
  for (const Route& route : d.hooks.routes) {
    auto handler = [&d, &route](const httplib::Request& q, httplib::Response& r) {
      d.HandleRoute(route, q, r);
    };
    if (route.method == "GET") {
      d.http.Get(route.pattern, handler);
    } else if (route.method == "POST") {
      d.http.Post(route.pattern, handler);
    } else if (route.method == "PUT") {
      d.http.Put(route.pattern, handler);
    } else if (route.method == "DELETE") {
      d.http.Delete(route.pattern, handler);
    } else {
      return Status::InvalidArgument("route " + route.pattern + ": unsupported method " +
                                     route.method);
    }
  }
  d.http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "<!doctype html><title>echomon</title><h1>echomon</h1><ul>"
        "<li><a href=\"/metrics\">/metrics</a> Prometheus exposition</li>"
        "<li><a href=\"/api/v1/status\">/api/v1/status</a></li>"
        "<li><a href=\"/api/v1/series\">/api/v1/series</a></li>"
        "<li><a href=\"/api/v1/alerts\">/api/v1/alerts</a> and "
        "<a href=\"/api/v1/alerts/history\">history</a></li>"
        "<li><a href=\"/api/v1/rules\">/api/v1/rules</a></li>"
        "<li><a href=\"/api/v1/silences\">/api/v1/silences</a></li>"
        "<li><a href=\"/api/v1/notifiers\">/api/v1/notifiers</a></li>"
        "<li>/api/v1/query?metric=NAME&amp;start=-1h&amp;step=1m</li></ul>",
        "text/html; charset=utf-8");
  });
  d.http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  d.http.Get("/metrics",
             [&d](const httplib::Request& q, httplib::Response& r) { d.HandleMetrics(q, r); });
  d.http.Get("/api/v1/status",
             [&d](const httplib::Request& q, httplib::Response& r) { d.HandleStatus(q, r); });
  d.http.Get("/api/v1/series",
             [&d](const httplib::Request& q, httplib::Response& r) { d.HandleSeries(q, r); });
  d.http.Get("/api/v1/query",
             [&d](const httplib::Request& q, httplib::Response& r) { d.HandleQuery(q, r); });
  d.http.Post("/api/v1/reload",
              [&d](const httplib::Request& q, httplib::Response& r) { d.HandleReload(q, r); });
  d.http.Get("/api/v1/alerts", [&d](const httplib::Request& q, httplib::Response& r) {
    d.ServeJsonHook(q, r, d.hooks.alerts);
  });
  d.http.Get("/api/v1/alerts/history",
             [&d](const httplib::Request& q, httplib::Response& r) { d.HandleAlertHistory(q, r); });
  d.http.Get("/api/v1/rules", [&d](const httplib::Request& q, httplib::Response& r) {
    d.ServeJsonHook(q, r, d.hooks.rules);
  });
  d.http.Get("/api/v1/notifiers", [&d](const httplib::Request& q, httplib::Response& r) {
    d.ServeJsonHook(q, r, d.hooks.notifiers);
  });
  d.http.Get("/api/v1/silences", [&d](const httplib::Request& q, httplib::Response& r) {
    const std::string all = Query(q).get("all");
    const bool include_expired = all == "1" || all == "true";
    std::function<json()> hook;
    if (d.hooks.silences)
      hook = [&d, include_expired] { return d.hooks.silences(include_expired); };
    d.ServeJsonHook(q, r, hook);
  });
  d.http.Post("/api/v1/silences", [&d](const httplib::Request& q, httplib::Response& r) {
    d.HandleCreateSilence(q, r);
  });
  d.http.Delete(
      R"(/api/v1/silences/([A-Za-z0-9_.-]+))",
      [&d](const httplib::Request& q, httplib::Response& r) { d.HandleExpireSilence(q, r); });
  d.http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, 500, what);
      });
  if (port == 0) {
    d.port = d.http.bind_to_any_port(d.host);
    if (d.port <= 0) return Status::Unavailable("cannot bind " + d.options.listen);
  } else {
    if (!d.http.bind_to_port(d.host, port)) {
      return Status::Unavailable("cannot bind " + d.options.listen +
                                 " (address in use or not available)");
    }
    d.port = port;
  }
  d.thread = std::thread([&d] { d.http.listen_after_bind(); });
  // Return only once the server loop runs: httplib's stop() is a no-op before that, so a Stop()
  // right after Start() would otherwise leave the loop running forever.
  for (int i = 0; i < 5000 && !d.http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->http.stop();
  impl_->thread.join();
}

int HttpServer::port() const { return impl_->port; }

std::string HttpServer::address() const {
  const std::string& h = impl_->host;
  std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return host + ":" + std::to_string(impl_->port);
}

}  // namespace echomon::server
