// echomon report: fetches the report (docs/reports.md) from a running agent and writes it to a
// file or stdout, as JSON or self-contained HTML.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_common.h"
#include "cli/commands.h"

namespace echomon::cli {
namespace {

struct ReportOptions {
  std::string url, config, token, format = "html", since, output;
  bool as_json = false;
};

// Writes text to path through a temporary file renamed into place.
bool WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      std::cerr << "echomon report: cannot write " << tmp << ": " << std::strerror(errno) << "\n";
      return false;
    }
    f << text;
    f.flush();
    if (!f) {
      std::cerr << "echomon report: cannot write " << tmp << ": " << std::strerror(errno) << "\n";
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::cerr << "echomon report: cannot rename " << tmp << " to " << path << ": "
              << std::strerror(errno) << "\n";
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

int Report(const ReportOptions& o) {
  const std::string format = o.as_json ? "json" : o.format;
  std::string path = "/api/v1/report?format=" + format;
  if (!o.since.empty()) path += "&since=" + UrlEncode(o.since);
  const std::string base = AgentAddress(o.url, o.config);
  std::optional<std::string> body;
  {
    Spinner spinner("fetching the " + (o.since.empty() ? std::string() : o.since + " ") +
                    "report from " + base);
    body = GetText(base, path, ApiToken(o.token, o.config));
  }
  if (!body) return kExitUnreachable;
  std::string text = *body;
  if (format == "json") {
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("data")) {
      std::cerr << "echomon report: " << base << " answered something that is not a report\n";
      return kExitProblem;
    }
    text = parsed["data"].dump(2) + "\n";
  }
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
    return std::cout ? kExitOk : kExitProblem;
  }
  if (!WriteAtomically(o.output, text)) return kExitProblem;
  std::fprintf(stderr, "echomon: wrote %s report to %s (%zu bytes)\n", format.c_str(),
               o.output.c_str(), text.size());
  return kExitOk;
}

}  // namespace

void RegisterReportCommands(CLI::App& app, CommandRegistry& registry) {
  auto o = std::make_shared<ReportOptions>();
  auto* report = app.add_subcommand(
      "report", "Write a report (status, alerts, incidents, engine SLOs, charts) as HTML or JSON");
  report->add_option("-f,--format", o->format, "html (default) or json")
      ->check(CLI::IsMember({"html", "json"}));
  report->add_flag("--json", o->as_json, "Same as --format json");
  report->add_option("--since", o->since, "Window, e.g. 24h (default: the agent's report.window)");
  report->add_option("-o,--output", o->output, "File to write (default: stdout)");
  report->add_option("--url", o->url, "Agent URL");
  report->add_option("-c,--config", o->config, "Configuration file naming the listen address");
  report->add_option("--token", o->token,
                     "API token (default: $ECHOMON_TOKEN or <data_dir>/token)");
  registry.Add(report, [o] { return Report(*o); });
}

}  // namespace echomon::cli
