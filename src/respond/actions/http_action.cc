// http: calls an allow-listed URL (cpp-httplib), and the HTTP helper restart uses.
#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "respond/actions/internal.h"

namespace echomon::respond::internal {
namespace {

const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

struct SplitUrl {
  std::string base;  // scheme://host[:port]
  std::string path;  // /path?query
};

bool Split(const std::string& url, SplitUrl* out) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  std::string s = url.substr(0, scheme);
  if (s != "http" && s != "https") return false;
  size_t slash = url.find('/', scheme + 3);
  out->base = url.substr(0, slash);
  out->path = slash == std::string::npos ? "/" : url.substr(slash);
  return out->base.size() > scheme + 3;
}

}  // namespace

bool UrlAllowed(const std::string& url, const std::vector<std::string>& allow, std::string* why) {
  SplitUrl parts;
  if (!Split(url, &parts)) {
    *why = "\"" + url + "\" is not an http:// or https:// URL";
    return false;
  }
  for (char ch : url) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f) {
      *why = "the URL contains spaces or control characters";
      return false;
    }
  }
  if (parts.base.find('@') != std::string::npos) {
    *why = "URLs with user information (@) are not allowed";
    return false;
  }
  // Dot segments would let a request climb out of the allowed path prefix.
  std::string path = parts.path.substr(0, parts.path.find('?'));
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("%2e") != std::string::npos || lower.find("%2f") != std::string::npos ||
      path.find("/../") != std::string::npos || path.find("/./") != std::string::npos ||
      (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0)) {
    *why = "the URL path must not contain dot segments or encoded '.'/'/'";
    return false;
  }
  for (const auto& prefix : allow) {
    if (prefix.empty() || url.compare(0, prefix.size(), prefix) != 0) continue;
    // The prefix must end at a boundary: http://h:80 must not allow http://h:8000.
    if (url.size() == prefix.size() || prefix.back() == '/' || url[prefix.size()] == '/' ||
        url[prefix.size()] == '?') {
      return true;
    }
  }
  std::string list;
  for (const auto& a : allow) list += (list.empty() ? "" : ", ") + a;
  *why = "\"" + url + "\" is not under an allowed prefix (limits.http_allow: " +
         (list.empty() ? std::string("none configured") : list) + ")";
  return false;
}

HttpOutcome HttpCall(const std::string& url, const std::string& method, const std::string& body,
                     const std::map<std::string, std::string>& headers, int64_t timeout_ms) {
  HttpOutcome out;
  SplitUrl parts;
  if (!Split(url, &parts)) {
    out.error = "not an http(s) URL: " + url;
    return out;
  }
  try {
    httplib::Client client(parts.base);
    time_t sec = static_cast<time_t>(timeout_ms / 1000);
    time_t usec = static_cast<time_t>((timeout_ms % 1000) * 1000);
    client.set_connection_timeout(sec, usec);
    client.set_read_timeout(sec, usec);
    client.set_write_timeout(sec, usec);
    client.set_follow_location(false);
    httplib::Headers h;
    std::string content_type = "application/json";
    for (const auto& [k, v] : headers) {
      std::string lk = k;
      std::transform(lk.begin(), lk.end(), lk.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lk == "content-type") {
        content_type = v;
      } else {
        h.emplace(k, v);
      }
    }
    auto send = [&]() -> httplib::Result {
      if (method == "HEAD") return client.Head(parts.path.c_str(), h);
      if (method == "POST") return client.Post(parts.path.c_str(), h, body, content_type.c_str());
      if (method == "PUT") return client.Put(parts.path.c_str(), h, body, content_type.c_str());
      if (method == "PATCH") return client.Patch(parts.path.c_str(), h, body, content_type.c_str());
      if (method == "DELETE") {
        return client.Delete(parts.path.c_str(), h, body, content_type.c_str());
      }
      return client.Get(parts.path.c_str(), h);
    };
    httplib::Result res = send();
    if (!res) {
      out.error = "request failed: " + httplib::to_string(res.error());
      return out;
    }
    out.ok = true;
    out.status = res->status;
    out.body = res->body;
  } catch (const std::exception& e) {
    out.error = std::string("request failed: ") + e.what();
  }
  return out;
}

bool ValidateHttp(const json& p, const ActionLimits& l, std::string* error) {
  if (!OnlyKeys(p, {"url", "method", "body", "headers", "expect_status"}, error)) return false;
  std::string url, method = "GET", body;
  if (!ParamString(p, "url", &url, error) || !ParamString(p, "method", &method, error) ||
      !ParamString(p, "body", &body, error)) {
    return false;
  }
  if (url.empty()) {
    *error = "params.url: needs the URL to call";
    return false;
  }
  std::string why;
  if (!UrlAllowed(url, l.http_allow, &why)) {
    *error = "params.url: " + why;
    return false;
  }
  if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
    *error = "params.method: unknown method \"" + method +
             "\" (expected GET, POST, PUT, PATCH, DELETE or HEAD)";
    return false;
  }
  std::map<std::string, std::string> headers;
  if (!ParamStringMap(p, "headers", &headers, error)) return false;
  for (const auto& [k, v] : headers) {
    if (v.find_first_of("\r\n") != std::string::npos ||
        k.find_first_of(": \r\n") != std::string::npos) {
      *error = "params.headers." + k + ": must not contain line breaks or ':'";
      return false;
    }
  }
  if (p.contains("expect_status")) {
    const json& e = p["expect_status"];
    auto ok_code = [](const json& v) {
      return v.is_number_integer() && v.get<int>() >= 100 && v.get<int>() <= 599;
    };
    bool ok = ok_code(e);
    if (e.is_array()) {
      ok = !e.empty();
      for (const auto& v : e) ok = ok && ok_code(v);
    }
    if (!ok) {
      *error = "params.expect_status: expected a status code or a list of them (100..599), got " +
               e.dump();
      return false;
    }
  }
  return true;
}

void RunHttp(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  const json& p = s.params;
  std::string url, method = "GET", body;
  std::map<std::string, std::string> headers;
  std::string error;
  ParamString(p, "url", &url, &error);
  ParamString(p, "method", &method, &error);
  ParamString(p, "body", &body, &error);
  ParamStringMap(p, "headers", &headers, &error);
  std::vector<int> expected;
  if (p.contains("expect_status")) {
    if (p["expect_status"].is_array()) {
      for (const auto& v : p["expect_status"]) expected.push_back(v.get<int>());
    } else {
      expected.push_back(p["expect_status"].get<int>());
    }
  }
  r->command = {method, url};
  if (c.dry_run) {
    r->ok = true;
    r->summary = "would call " + method + " " + url;
    return;
  }
  HttpOutcome out = HttpCall(url, method, body, headers, EffectiveTimeoutMs(s, *c.limits));
  if (!out.ok) {
    r->error = out.error;
    return;
  }
  r->exit_status = out.status;
  AppendCapped(&r->output, ValidUtf8(out.body), c.limits->max_output_bytes, &r->output_truncated);
  r->details = {{"status", out.status}};
  bool ok = expected.empty()
                ? (out.status >= 200 && out.status < 300)
                : std::find(expected.begin(), expected.end(), out.status) != expected.end();
  r->summary = method + " " + url + " answered " + std::to_string(out.status);
  r->ok = ok;
  if (!ok) {
    std::string want = expected.empty() ? "2xx" : "";
    for (int e : expected) want += (want.empty() ? "" : " or ") + std::to_string(e);
    r->error = r->summary + " (expected " + want + ")";
  }
}

}  // namespace echomon::respond::internal
