// Helpers shared by the echomon subcommands that talk to a running agent, and the registry
// through which each group of subcommands (one cmd_*.cc file each) plugs into main().
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace echomon::cli {

using nlohmann::json;

// Exit codes scripts can rely on.
constexpr int kExitOk = 0;
constexpr int kExitProblem = 1;      // invalid config, unhealthy agent
constexpr int kExitUnreachable = 2;  // no agent answered / could not start
constexpr int kExitUsage = 64;

// The agent's address: --url wins, then the configuration's listen address, then the default.
std::string AgentAddress(const std::string& url, const std::string& config);
// The API token: --token, else $ECHOMON_TOKEN, else <data_dir>/token of the configuration
// (./var/token for the built-in one).
std::string ApiToken(const std::string& flag, const std::string& config);
// GET/POST/DELETE against the agent's API; prints the problem to stderr and returns nullopt on
// failure (no answer, non-2xx status, or a body that is not JSON).
std::optional<json> CallApi(const std::string& base, const std::string& method,
                            const std::string& path, const std::string& token,
                            const std::string& body = {});
// "42s", "7m", "3h".
std::string Ago(double seconds);
// {"a":"x","b":"y"} as a=x,b=y.
std::string LabelText(const json& labels);

// Subcommands register here with the function that runs them; main() runs the one parsed.
//   void RegisterIncidentCommands(CLI::App& app, CommandRegistry& registry);
class CommandRegistry {
 public:
  void Add(CLI::App* command, std::function<int()> run);
  // The exit code of the parsed command's run function; nullopt when none was parsed.
  std::optional<int> RunParsed() const;

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

}  // namespace echomon::cli
