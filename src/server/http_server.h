// HttpServer: the agent's HTTP endpoints (cpp-httplib), serving from the store.
//
//   GET  /healthz            liveness, "ok"
//   GET  /metrics            Prometheus text format 0.0.4 of every current series
//   GET  /api/v1/status      agent status (body supplied by ServerHooks::status)
//   GET  /api/v1/series      series names and labels (?metric=NAME&labels=MATCHERS)
//   GET  /api/v1/query       latest value or range (see docs/api.md)
//   POST /api/v1/reload      reload the configuration (token required)
//   GET  /api/v1/alerts      active alerts; /api/v1/alerts/history?since=&limit= transitions
//   GET  /api/v1/rules       rules with their last evaluation
//   GET  /api/v1/silences    silences (?all=1 includes expired); POST creates, DELETE
//                            /api/v1/silences/<id> expires (token required)
//   GET  /api/v1/notifiers   delivery statistics per notifier
//
// Mutating endpoints always require the token (Authorization: Bearer <token>). When
// ServerOptions::require_token_for_reads is set (listening beyond loopback), every endpoint
// except /healthz requires it too.
//
// Thread-safety: Start/Stop from one thread; handlers run on the server's worker threads and
// only read the store (which is thread-safe) and call the hooks (which must be thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "echomon/clock.h"
#include "echomon/status.h"
#include "store/series_store.h"

namespace echomon::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:9470";  // host:port; port 0 picks a free one
  std::string token;                      // required for mutations; never empty when started
  bool require_token_for_reads = false;
  int threads = 4;
  int64_t staleness_ms = 5000;  // /metrics omits series with no sample this recent
  size_t max_points_per_query = 1'000'000;
  // Largest request body accepted; above it httplib answers 413 before any handler runs.
  size_t max_body_bytes = 1 << 20;
};

// A request to an extension route (see Route), already parsed.
struct ApiRequest {
  std::string method;                          // GET, POST, PUT, DELETE
  std::string path;                            // without the query string
  std::vector<std::string> captures;           // the route pattern's regex groups, in order
  std::map<std::string, std::string> params;   // query string (ParseQueryString)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool authorized = false;  // carried a valid bearer token
};

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  // {"status": "success", "data": data}
  static ApiResponse Json(const nlohmann::json& data, int status = 200);
  // {"status": "error", "error": message}
  static ApiResponse Error(int status, const std::string& message);
};

// An endpoint added by a component of the agent (incidents, maintenance, push, dashboard...).
// Routes are matched before the built-in endpoints, in the order given, so a route for GET "/"
// replaces the built-in index page. A mutating route answers 401 without the token; a read
// route needs it only when ServerOptions::require_token_for_reads is set. Handlers run on the
// server's worker threads and must be thread-safe; an exception becomes a 500 answer.
struct Route {
  std::string method;   // GET, POST, PUT, DELETE
  std::string pattern;  // ECMAScript regex matched against the whole path
  bool mutating = false;
  std::function<ApiResponse(const ApiRequest&)> handle;
};

// What the server asks the agent for. Every hook may be empty (the endpoint then answers 501)
// and must be thread-safe.
struct ServerHooks {
  std::function<nlohmann::json()> status;  // body of /api/v1/status
  std::function<Status()> reload;          // POST /api/v1/reload
  std::function<nlohmann::json()> alerts;  // GET /api/v1/alerts
  std::function<nlohmann::json(int64_t since_ms, size_t limit)> alert_history;
  std::function<nlohmann::json()> rules;                         // GET /api/v1/rules
  std::function<nlohmann::json(bool include_expired)> silences;  // GET /api/v1/silences
  std::function<Result<nlohmann::json>(const nlohmann::json&)> create_silence;
  std::function<Status(const std::string& id)> expire_silence;
  std::function<nlohmann::json()> notifiers;  // GET /api/v1/notifiers
  std::vector<Route> routes;                  // extension endpoints, matched first
};

// Splits "host:port" (IPv6 as "[::1]:port"). Returns false when malformed.
bool SplitHostPort(const std::string& listen, std::string* host, int* port);
// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);
// Parses the query string of a request target ("/path?a=1&b=x=y"): percent-decoded, split at
// the first '=' of each parameter; the first occurrence of a name wins.
std::map<std::string, std::string> ParseQueryString(std::string_view target);
// Parses a query time: "now", a relative duration "-5m", or Unix seconds (fractional allowed).
bool ParseQueryTime(const std::string& text, int64_t now_ms, int64_t* out_ms);

class HttpServer {
 public:
  HttpServer(store::SeriesStore* store, Clock* clock, ServerOptions options, ServerHooks hooks);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listen address and serves on a background thread. Fails, naming the address,
  // when it cannot bind or the address is malformed.
  Status Start();
  // Stops serving and joins the server thread. Safe to call twice.
  void Stop();
  // The bound port (useful with port 0); 0 before Start.
  int port() const;
  // "host:port" actually bound.
  std::string address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::server
