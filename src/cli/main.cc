// echomon command line: run the agent, check a configuration, ask a running agent.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "analyze/replay.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "collect/expfmt/parser.h"
#include "core/config.h"
#include "core/log.h"
#include "echomon/monitor.h"
#include "echomon/version.h"
#include "monitor/alerting.h"
#include "server/http_server.h"

namespace {

using nlohmann::json;
using namespace echomon::cli;  // NOLINT: the shared CLI helpers

int RunAgent(const std::string& config, const std::string& listen, const std::string& data_dir,
             const std::string& log_level) {
  // Block the signals we handle before any thread starts, so every thread inherits the mask and
  // they are delivered only to sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  echomon::MonitorOptions options;
  options.config_file = config;
  if (!listen.empty()) options.listen = listen;
  if (!data_dir.empty()) options.data_dir = data_dir;
  auto monitor = echomon::Monitor::Create(options);
  if (!monitor.ok()) {
    std::cerr << "echomon: " << monitor.status().message() << "\n";
    return kExitProblem;
  }
  if (!log_level.empty() && !echomon::core::SetLogLevel(log_level)) {
    std::cerr << "echomon: unknown log level '" << log_level << "'\n";
    return kExitUsage;
  }
  echomon::Status started = (*monitor)->Start();
  if (!started.ok()) {
    std::cerr << "echomon: cannot start: " << started.ToString() << "\n";
    return kExitUnreachable;
  }
  spdlog::info("echomon {} collecting; API at http://{}/ (metrics at /metrics)", echomon::kVersion,
               (*monitor)->http_address());
  std::cout << "echomon listening on http://" << (*monitor)->http_address() << "/" << std::endl;
  std::cout << "dashboard: http://" << (*monitor)->http_address()
            << "/#token=" << (*monitor)->token() << std::endl;
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      echomon::Status s = (*monitor)->Reload();
      if (!s.ok())
        spdlog::error("reload failed, keeping the running configuration: {}", s.message());
      continue;
    }
    spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  (*monitor)->Stop();
  spdlog::info("history flushed; bye");
  return kExitOk;
}

int CheckConfig(const std::string& path) {
  auto result = echomon::core::LoadConfigFile(path);
  for (const auto& w : result.warnings) std::cerr << path << ": warning: " << w << "\n";
  for (const auto& e : result.errors) std::cerr << e.ToString() << "\n";
  std::vector<std::string> semantic;
  if (result.ok()) semantic = echomon::monitor::AlertingConfigProblems(result.config);
  for (const auto& p : semantic) std::cerr << p << "\n";
  if (!semantic.empty()) {
    std::cerr << path << ": " << semantic.size() << " problem" << (semantic.size() == 1 ? "" : "s")
              << "\n";
    return kExitProblem;
  }
  if (!result.ok()) {
    std::cerr << path << ": " << result.errors.size() << " problem"
              << (result.errors.size() == 1 ? "" : "s") << "\n";
    return kExitProblem;
  }
  std::cout << path << ": ok\n";
  return kExitOk;
}

// The reasons the agent is in a critical state: critical alerts firing (not silenced) and
// failing collectors.
std::vector<std::string> CriticalReasons(const json& status, const json& alerts) {
  std::vector<std::string> reasons;
  for (const auto& a : alerts) {
    if (a.value("severity", "") == "critical" && a.value("state", "") == "firing" &&
        !a.value("silenced", false)) {
      std::string labels = LabelText(a.value("labels", json::object()));
      reasons.push_back("critical alert " + a.value("rule", std::string("?")) +
                        (labels.empty() ? "" : "{" + labels + "}") + " firing");
    }
  }
  for (const auto& c : status.value("collectors", json::array())) {
    if (!c.value("healthy", true)) {
      reasons.push_back("collector " + c.value("name", std::string("?")) +
                        " failing: " + c.value("last_error", std::string()));
    }
  }
  return reasons;
}

// echomon status: exit 1 when something is critical (a critical alert firing, a collector
// failing), 2 when no agent answered.
int Status(const std::string& url, const std::string& config, const std::string& token,
           bool as_json) {
  const std::string base = AgentAddress(url, config);
  httplib::Client client(base);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = client.Get("/api/v1/status", headers);
  if (!res) {
    std::cerr << "echomon: no agent answered at " << base << " (" << httplib::to_string(res.error())
              << ")\n";
    return kExitUnreachable;
  }
  if (res->status != 200) {
    std::cerr << "echomon: " << base << "/api/v1/status answered " << res->status << ": "
              << res->body << "\n";
    return kExitUnreachable;
  }
  json status = json::parse(res->body, nullptr, false);
  if (status.is_discarded() || !status.is_object()) {
    std::cerr << "echomon: " << base << " answered something that is not JSON\n";
    return kExitUnreachable;
  }
  json alerts = json::array();
  if (auto body = CallApi(base, "GET", "/api/v1/alerts", token)) {
    json data = (*body)["data"];
    if (data.is_array()) alerts = std::move(data);
  }
  const std::vector<std::string> reasons = CriticalReasons(status, alerts);
  const int rc = reasons.empty() ? kExitOk : kExitProblem;
  if (as_json) {
    status["assessment"] = {{"critical", !reasons.empty()}, {"reasons", reasons}};
    std::cout << status.dump(2) << "\n";
    return rc;
  }
  const bool color = UseColor(STDOUT_FILENO);
  const json store = status.value("store", json::object());
  std::printf("echomon %s at %s  %s\n", status.value("version", "?").c_str(), base.c_str(),
              reasons.empty() ? Paint("OK", Color::kGreen, color).c_str()
                              : Paint("CRITICAL", Color::kRed, color).c_str());
  std::printf("  uptime      %s, interval %lld ms, config %s\n",
              Ago(status.value("uptime_seconds", 0.0)).c_str(),
              static_cast<long long>(status.value("interval_ms", 0)),
              status.value("config", "?").c_str());
  std::printf("  store       %llu series, %llu samples in memory, %.1f MiB of %.0f MiB\n",
              static_cast<unsigned long long>(store.value("series", 0ULL)),
              static_cast<unsigned long long>(store.value("samples", 0ULL)),
              store.value("memory_bytes", 0.0) / 1048576.0,
              store.value("memory_budget_bytes", 0.0) / 1048576.0);
  int firing = 0, pending = 0, silenced = 0, critical = 0, warning = 0;
  for (const auto& a : alerts) {
    const std::string state = a.value("state", "");
    if (a.value("silenced", false)) ++silenced;
    if (state == "pending") ++pending;
    if (state != "firing") continue;
    ++firing;
    if (a.value("severity", "") == "critical") ++critical;
    if (a.value("severity", "") == "warning") ++warning;
  }
  std::string alert_line = std::to_string(firing) + " firing";
  if (critical)
    alert_line += ", " + Paint(std::to_string(critical) + " critical", Color::kRed, color);
  if (warning)
    alert_line += ", " + Paint(std::to_string(warning) + " warning", Color::kYellow, color);
  alert_line +=
      "; " + std::to_string(pending) + " pending; " + std::to_string(silenced) + " silenced";
  std::printf("  alerts      %s\n\n", alert_line.c_str());
  Table table({"COLLECTOR", "HEALTH", "LAST(ms)", "SAMPLES", "ERRORS", "TIMEOUTS", "LAST ERROR"},
              {false, false, true, true, true, true, false});
  char ms[32];
  for (const auto& c : status.value("collectors", json::array())) {
    const bool ok = c.value("healthy", true);
    std::snprintf(ms, sizeof(ms), "%.2f", c.value("last_duration_ms", 0.0));
    table.Add({{c.value("name", "?")},
               {ok ? "ok" : "FAILING", ok ? Color::kGreen : Color::kRed},
               {ms},
               {std::to_string(c.value("samples", 0ULL))},
               {std::to_string(c.value("errors", 0ULL)),
                c.value("errors", 0ULL) ? Color::kYellow : Color::kNone},
               {std::to_string(c.value("timeouts", 0ULL))},
               {c.value("last_error", "")}});
  }
  table.Print(stdout, color, 2);
  if (!reasons.empty()) {
    std::printf("\n%s\n", Paint("critical:", Color::kRed, color).c_str());
    for (const auto& r : reasons) std::printf("  - %s\n", r.c_str());
  }
  return rc;
}

// echomon alerts: the active alerts; exit 1 when one is critical and not silenced.
int Alerts(const std::string& base, const std::string& token, bool as_json) {
  auto body = CallApi(base, "GET", "/api/v1/alerts", token);
  if (!body) return kExitUnreachable;
  const json alerts = (*body)["data"];
  bool critical = false;
  for (const auto& a : alerts) {
    if (a["severity"] == "critical" && a["state"] == "firing" && !a["silenced"].get<bool>()) {
      critical = true;
    }
  }
  if (as_json) {
    std::cout << alerts.dump(2) << "\n";
    return critical ? kExitProblem : kExitOk;
  }
  if (alerts.empty()) {
    std::cout << "no active alerts\n";
    return kExitOk;
  }
  const bool color = UseColor(STDOUT_FILENO);
  Table table({"RULE", "STATE", "SEVERITY", "VALUE", "FOR", "LABELS", "SUMMARY"},
              {false, false, false, true, true, false, false});
  bool any_silenced = false;
  char value[32];
  for (const auto& a : alerts) {
    const std::string sev = a.value("severity", "");
    std::string state = a.value("state", "");
    if (a.value("silenced", false)) {
      state += "*";
      any_silenced = true;
    }
    std::snprintf(value, sizeof(value), "%.4g",
                  a["value"].is_number() ? a["value"].get<double>() : NAN);
    table.Add({{a.value("rule", "?")},
               {state, state == "firing" ? Color::kBold : Color::kGray},
               {sev, SeverityColor(sev)},
               {value},
               {Ago(a.value("duration_seconds", 0.0))},
               {LabelText(a.value("labels", json::object()))},
               {a.value("summary", "")}});
  }
  table.Print(stdout, color);
  if (any_silenced) std::printf("(* silenced)\n");
  return critical ? kExitProblem : kExitOk;
}

int SilenceAdd(const std::string& base, const std::string& token, const std::string& matchers,
               const std::string& duration, const std::string& author, const std::string& comment) {
  json body = {
      {"matchers", matchers}, {"duration", duration}, {"author", author}, {"comment", comment}};
  auto res = CallApi(base, "POST", "/api/v1/silences", token, body.dump());
  if (!res) return kExitProblem;
  std::cout << (*res)["data"]["id"].get<std::string>() << "\n";
  return kExitOk;
}

int SilenceList(const std::string& base, const std::string& token, bool all, bool as_json) {
  auto res = CallApi(base, "GET", all ? "/api/v1/silences?all=1" : "/api/v1/silences", token);
  if (!res) return kExitUnreachable;
  const json silences = (*res)["data"];
  if (as_json) {
    std::cout << silences.dump(2) << "\n";
    return kExitOk;
  }
  if (silences.empty()) {
    std::cout << "no silences\n";
    return kExitOk;
  }
  const bool color = UseColor(STDOUT_FILENO);
  const double now = static_cast<double>(std::time(nullptr));
  Table table({"ID", "STATE", "ENDS IN", "AUTHOR", "MATCHERS", "COMMENT"});
  for (const auto& s : silences) {
    const std::string state = s.value("state", "");
    const double ends = s.value("ends_at", 0.0);
    table.Add({{s.value("id", "?")},
               {state, state == "active" ? Color::kGreen : Color::kGray},
               {ends > now ? Ago(ends - now) : "-"},
               {s.value("author", "")},
               {s.value("matchers", "")},
               {s.value("comment", "")}});
  }
  table.Print(stdout, color);
  return kExitOk;
}

int SilenceExpire(const std::string& base, const std::string& token, const std::string& id) {
  if (!CallApi(base, "DELETE", "/api/v1/silences/" + id, token)) return kExitProblem;
  std::cout << "expired " << id << "\n";
  return kExitOk;
}

// Validates an exposition (Prometheus text or OpenMetrics) from a file or stdin.
int ExpfmtCheck(const std::string& format, const std::string& path) {
  namespace expfmt = echomon::collect::expfmt;
  std::string text;
  if (path.empty() || path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      std::cerr << path << ": cannot open: " << std::strerror(errno) << "\n";
      return kExitProblem;
    }
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  const expfmt::Format f =
      format == "openmetrics" ? expfmt::Format::kOpenMetrics : expfmt::Format::kPrometheusText;
  expfmt::ParseError error;
  auto parsed = expfmt::Parse(text, f, {}, &error);
  const std::string name = path.empty() ? "<stdin>" : path;
  if (!parsed.ok()) {
    std::cerr << name << ":" << error.line << ":" << error.column << ": " << error.message << "\n";
    return kExitProblem;
  }
  size_t samples = 0;
  for (const auto& family : *parsed) samples += family.samples.size();
  std::cout << name << ": valid " << expfmt::FormatName(f) << ", " << parsed->size()
            << " families, " << samples << " samples\n";
  return kExitOk;
}

// Replays a timestamp,value CSV through the anomaly detector the agent runs live.
int Detect(const std::string& input, const std::string& output, const std::string& config_path,
           bool quiet) {
  echomon::analyze::AnomalyConfig config;
  if (!config_path.empty()) {
    auto loaded = echomon::analyze::LoadAnomalyConfig(config_path);
    if (!loaded.ok()) {
      std::cerr << "echomon detect: " << loaded.status().message() << "\n";
      return kExitProblem;
    }
    config = *loaded;
  }
  const bool tty = isatty(STDERR_FILENO);
  int last_percent = -1;
  auto progress = [&](size_t rows, size_t done, size_t total) {
    if (quiet || total == 0) return;
    const int percent =
        static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total));
    if (percent == last_percent) return;
    if (!tty && percent % 10 != 0) return;  // logs get a line every 10 %
    last_percent = percent;
    if (tty) {
      std::fprintf(stderr, "\rdetect: %3d%% (%zu rows)", percent, rows);
    } else {
      std::fprintf(stderr, "detect: %d%% (%zu rows)\n", percent, rows);
    }
  };
  echomon::Status s = echomon::analyze::ReplayCsv(input, output, config, progress);
  if (tty && !quiet) std::fprintf(stderr, "\n");
  if (!s.ok()) {
    std::cerr << "echomon detect: " << s.message() << "\n";
    return kExitProblem;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"echomon: performance monitor for LLM inference hosts"};
  app.require_subcommand(1);

  std::string config, listen, data_dir, log_level;
  auto* run = app.add_subcommand("run", "Run the agent in the foreground");
  run->add_option("-c,--config", config, "Configuration file (YAML or JSON)");
  run->add_option("-l,--listen", listen, "HTTP listen address host:port (default 127.0.0.1:9470)");
  run->add_option("-d,--data-dir", data_dir, "Data directory (default ./var next to the config)");
  run->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a configuration file");
  check->add_option("FILE", check_path, "Configuration file")->required();

  std::string url, token;
  bool as_json = false;
  const std::string token_help = "API token (default: $ECHOMON_TOKEN or <data_dir>/token)";
  auto* status = app.add_subcommand("status", "Show the status of a running agent");
  status->add_option("--url", url, "Agent URL (default from --config, else http://127.0.0.1:9470)");
  status->add_option("-c,--config", config, "Configuration file naming the listen address");
  status->add_option("--token", token, token_help);
  status->add_flag("--json", as_json, "Print the JSON status (with an \"assessment\")");

  auto* version = app.add_subcommand("version", "Print the version");
  version->add_flag("--json", as_json, "Print JSON");

  auto* alerts = app.add_subcommand("alerts", "List the active alerts of a running agent");
  alerts->add_option("--url", url, "Agent URL");
  alerts->add_option("-c,--config", config, "Configuration file naming the listen address");
  alerts->add_option("--token", token, token_help);
  alerts->add_flag("--json", as_json, "Print JSON");

  auto* silence = app.add_subcommand("silence", "Create, list and expire silences");
  silence->require_subcommand(1);
  silence->add_option("--url", url, "Agent URL");
  silence->add_option("-c,--config", config, "Configuration file (listen address, data_dir)");
  silence->add_option("--token", token, token_help);
  std::string matchers, duration = "2h", author, comment, silence_id;
  bool all = false;
  auto* silence_add = silence->add_subcommand("add", "Silence alerts matching label matchers");
  silence_add->add_option("MATCHERS", matchers, "e.g. 'alertname=\"disk_usage_high\",mount=\"/\"'")
      ->required();
  silence_add->add_option("-d,--duration", duration, "How long (default 2h)");
  silence_add->add_option("-a,--author", author, "Who (default $USER)");
  silence_add->add_option("-m,--comment", comment, "Why");
  auto* silence_list = silence->add_subcommand("list", "List silences");
  silence_list->add_flag("--all", all, "Include expired silences");
  silence_list->add_flag("--json", as_json, "Print JSON");
  auto* silence_expire = silence->add_subcommand("expire", "End a silence now");
  silence_expire->add_option("ID", silence_id, "Silence id")->required();

  std::string expfmt_format = "prometheus", expfmt_file;
  auto* expfmt_check = app.add_subcommand(
      "expfmt-check", "Validate a Prometheus text or OpenMetrics exposition (file or stdin)");
  expfmt_check->add_option("--format", expfmt_format, "prometheus (default) or openmetrics")
      ->check(CLI::IsMember({"prometheus", "openmetrics"}));
  expfmt_check->add_option("FILE", expfmt_file, "File to check (default: stdin)");

  std::string detect_input, detect_output, detect_config;
  bool detect_quiet = false;
  auto* detect = app.add_subcommand(
      "detect", "Score a timestamp,value CSV with the live anomaly detector (NAB format)");
  detect->add_option("-i,--input", detect_input, "Input CSV (timestamp,value with a header)")
      ->required();
  detect->add_option("-o,--output", detect_output, "Output CSV (timestamp,value,anomaly_score)")
      ->required();
  detect->add_option("-c,--config", detect_config, "Detector parameters (YAML/JSON)");
  detect->add_flag("-q,--quiet", detect_quiet, "No progress output");

  CommandRegistry registry;
  RegisterExtraCommands(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (auto rc = registry.RunParsed()) return *rc;
  if (*run) return RunAgent(config, listen, data_dir, log_level);
  if (*check) return CheckConfig(check_path);
  if (*status) return Status(url, config, ApiToken(token, config), as_json);
  if (*alerts) return Alerts(AgentAddress(url, config), ApiToken(token, config), as_json);
  if (*silence) {
    const std::string base = AgentAddress(url, config);
    if (*silence_add) {
      if (author.empty()) author = std::getenv("USER") ? std::getenv("USER") : "echomon";
      return SilenceAdd(base, ApiToken(token, config), matchers, duration, author, comment);
    }
    if (*silence_list) return SilenceList(base, ApiToken(token, config), all, as_json);
    if (*silence_expire) return SilenceExpire(base, ApiToken(token, config), silence_id);
  }
  if (*expfmt_check) return ExpfmtCheck(expfmt_format, expfmt_file);
  if (*detect) return Detect(detect_input, detect_output, detect_config, detect_quiet);
  if (*version) {
    if (as_json) {
      std::cout << json{{"version", echomon::kVersion}}.dump() << "\n";
      return kExitOk;
    }
    std::cout << "echomon " << echomon::kVersion << "\n";
    return kExitOk;
  }
  return kExitUsage;
}
