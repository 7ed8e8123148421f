// Helpers shared by the echomon subcommands that talk to a running agent.
#include "cli/cli_common.h"

#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "core/config.h"
#include "server/http_server.h"

namespace echomon::cli {

// The agent's address: --url wins, then the configuration's listen address, then the default.
std::string AgentAddress(const std::string& url, const std::string& config) {
  if (!url.empty()) return url;
  std::string listen = echomon::core::DefaultConfig().server.listen;
  if (!config.empty()) {
    auto loaded = echomon::core::LoadConfigFile(config);
    if (loaded.ok()) listen = loaded.config.server.listen;
  }
  std::string host;
  int port = 0;
  if (echomon::server::SplitHostPort(listen, &host, &port)) {
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    listen = host + ":" + std::to_string(port);
  }
  return "http://" + listen;
}

// The API token: --token, else $ECHOMON_TOKEN, else <data_dir>/token of the configuration
// (./var/token for the built-in one).
std::string ApiToken(const std::string& flag, const std::string& config) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("ECHOMON_TOKEN"); env && *env) return env;
  auto loaded = config.empty() ? echomon::core::ConfigLoadResult{echomon::core::DefaultConfig()}
                               : echomon::core::LoadConfigFile(config);
  if (!loaded.config.server.token.empty()) return loaded.config.server.token;
  std::ifstream f(loaded.config.storage.data_dir + "/token");
  std::string token;
  std::getline(f, token);
  return token;
}

// GET/POST/DELETE against the agent's API; prints the problem and returns nullopt on failure.
std::optional<json> CallApi(const std::string& base, const std::string& method,
                            const std::string& path, const std::string& token,
                            const std::string& body) {
  httplib::Client client(base);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result res = method == "POST"
                            ? client.Post(path.c_str(), headers, body, "application/json")
                        : method == "DELETE" ? client.Delete(path.c_str(), headers)
                                             : client.Get(path.c_str(), headers);
  if (!res) {
    std::cerr << "echomon: no agent answered at " << base << " (" << httplib::to_string(res.error())
              << ")\n";
    return std::nullopt;
  }
  json parsed = json::parse(res->body, nullptr, false);
  if (res->status < 200 || res->status >= 300) {
    std::string why = parsed.is_object() ? parsed.value("error", res->body) : res->body;
    std::cerr << "echomon: " << method << " " << path << ": " << res->status << ": " << why << "\n";
    return std::nullopt;
  }
  if (parsed.is_discarded()) {
    std::cerr << "echomon: " << base << path << " answered something that is not JSON\n";
    return std::nullopt;
  }
  return parsed;
}

std::string Ago(double seconds) {
  if (seconds < 120) return std::to_string(static_cast<int>(seconds)) + "s";
  if (seconds < 7200) return std::to_string(static_cast<int>(seconds / 60)) + "m";
  return std::to_string(static_cast<int>(seconds / 3600)) + "h";
}

std::string LabelText(const json& labels) {
  std::string out;
  for (const auto& [k, v] : labels.items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

void CommandRegistry::Add(CLI::App* command, std::function<int()> run) {
  commands_.push_back({command, std::move(run)});
}

std::optional<int> CommandRegistry::RunParsed() const {
  for (const auto& [command, run] : commands_) {
    if (command->parsed()) return run();
  }
  return std::nullopt;
}

}  // namespace echomon::cli
