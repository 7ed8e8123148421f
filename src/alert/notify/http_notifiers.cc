#include "alert/notify/http_notifiers.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace echomon::alert {
namespace {

struct ParsedUrl {
  std::string scheme_host_port;  // http://host:port
  std::string path;              // "/..." (at least "/")
};

Status ParseUrl(const std::string& url, ParsedUrl* out) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return Status::InvalidArgument(fmt::format("{}: not an http(s) URL", url));
  }
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument(fmt::format("{}: scheme must be http or https", url));
  }
  size_t path_start = url.find('/', scheme_end + 3);
  out->scheme_host_port = url.substr(0, path_start);
  out->path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (out->scheme_host_port.size() <= scheme_end + 3) {
    return Status::InvalidArgument(fmt::format("{}: no host", url));
  }
  return Status::Ok();
}

// POSTs body as JSON; ok on 2xx.
Status PostJson(const std::string& what, const std::string& url, const std::string& path_suffix,
                const std::map<std::string, std::string>& headers, int64_t timeout_ms,
                const std::string& body) {
  ParsedUrl parsed;
  Status st = ParseUrl(url, &parsed);
  if (!st.ok()) return st;
  std::string path = parsed.path;
  if (!path_suffix.empty()) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += path_suffix;
  }
  httplib::Client client(parsed.scheme_host_port);
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  h.emplace("User-Agent", "echomon");
  auto result = client.Post(path, h, body, "application/json");
  if (!result) {
    auto err = result.error();
    std::string text = httplib::to_string(err);
    if (err == httplib::Error::ConnectionTimeout || err == httplib::Error::Read ||
        err == httplib::Error::Write) {
      return Status::Timeout(fmt::format("{} {}{}: {} (timeout {} ms)", what,
                                         parsed.scheme_host_port, path, text, timeout_ms));
    }
    return Status::Unavailable(
        fmt::format("{} {}{}: {}", what, parsed.scheme_host_port, path, text));
  }
  if (result->status < 200 || result->status > 299) {
    std::string excerpt = result->body.substr(0, 200);
    return Status::Unavailable(fmt::format("{} {}{}: HTTP {}: {}", what, parsed.scheme_host_port,
                                           path, result->status, excerpt));
  }
  return Status::Ok();
}

nlohmann::json AlertLabels(const AlertRecord& a) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& l : a.labels.items()) labels[l.name] = l.value;
  labels["alertname"] = a.rule;
  labels["severity"] = SeverityName(a.severity);
  return labels;
}

int64_t StartsAtMs(const AlertRecord& a) {
  return a.firing_since_ms != 0 ? a.firing_since_ms : a.active_since_ms;
}

constexpr auto kReplaceInvalidUtf8 = nlohmann::json::error_handler_t::replace;

}  // namespace

std::string WebhookPayload(const Notification& n, const std::string& receiver) {
  const AlertRecord& a = n.alert;
  const bool resolved = n.kind == EventKind::kResolved;
  nlohmann::json labels = AlertLabels(a);
  nlohmann::json group_labels = labels;
  group_labels.erase("severity");
  core::Labels group_key_labels;
  for (const auto& [k, v] : group_labels.items()) group_key_labels.Set(k, v.get<std::string>());
  nlohmann::json alert = {
      {"status", NotificationStatus(n)},
      {"labels", labels},
      {"annotations", n.annotations},
      {"startsAt", FormatRfc3339(StartsAtMs(a))},
      {"endsAt", FormatRfc3339(resolved ? a.resolved_at_ms : 0)},
      {"generatorURL", GeneratorUrl(n)},
      {"fingerprint", a.fingerprint},
  };
  nlohmann::json doc = {
      {"version", "4"},
      {"groupKey", "{}:" + group_key_labels.ToString()},
      {"truncatedAlerts", 0},
      {"status", NotificationStatus(n)},
      {"receiver", receiver},
      {"groupLabels", group_labels},
      {"commonLabels", labels},
      {"commonAnnotations", n.annotations},
      {"externalURL", n.external_url},
      {"alerts", nlohmann::json::array({alert})},
  };
  return doc.dump(-1, ' ', false, kReplaceInvalidUtf8);
}

std::string AlertmanagerPayload(const std::vector<Notification>& notifications, int64_t now_ms,
                                int64_t firing_ends_after_ms) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const Notification& n : notifications) {
    const AlertRecord& a = n.alert;
    nlohmann::json alert = {
        {"labels", AlertLabels(a)},
        {"annotations", n.annotations},
        {"startsAt", FormatRfc3339(StartsAtMs(a))},
    };
    if (n.kind == EventKind::kResolved) {
      alert["endsAt"] = FormatRfc3339(a.resolved_at_ms != 0 ? a.resolved_at_ms : now_ms);
    } else if (firing_ends_after_ms > 0) {
      alert["endsAt"] = FormatRfc3339(now_ms + firing_ends_after_ms);
    }
    std::string generator = GeneratorUrl(n);
    if (!generator.empty()) alert["generatorURL"] = generator;
    alerts.push_back(std::move(alert));
  }
  return alerts.dump(-1, ' ', false, kReplaceInvalidUtf8);
}

WebhookNotifier::WebhookNotifier(WebhookOptions options) : options_(std::move(options)) {}

Status WebhookNotifier::Deliver(const Notification& n) {
  return PostJson("webhook", options_.url, "", options_.headers, options_.timeout_ms,
                  WebhookPayload(n, options_.receiver));
}

AlertmanagerNotifier::AlertmanagerNotifier(AlertmanagerOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

Status AlertmanagerNotifier::Post(const std::vector<Notification>& notifications) {
  const std::string body =
      AlertmanagerPayload(notifications, clock_->NowMillis(), 4 * options_.resend_interval_ms);
  return PostJson("alertmanager", options_.url, "/api/v2/alerts", options_.headers,
                  options_.timeout_ms, body);
}

Status AlertmanagerNotifier::Deliver(const Notification& n) { return Post({n}); }

Status AlertmanagerNotifier::Resend(const std::vector<Notification>& firing) {
  if (firing.empty()) return Status::Ok();
  return Post(firing);
}

}  // namespace echomon::alert
