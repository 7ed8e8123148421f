// Helpers shared by the echomon subcommands that talk to a running agent, and the registry
// through which each group of subcommands (one cmd_*.cc file each) plugs into main().
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace echomon::cli {

using nlohmann::json;

// Exit codes scripts can rely on.
constexpr int kExitOk = 0;
constexpr int kExitProblem = 1;      // something critical, invalid config, request refused
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

// Raw GET for non-JSON bodies (e.g. the HTML report). Fills *content_type when given; prints
// the problem to stderr and returns nullopt on failure (no answer or non-2xx status).
std::optional<std::string> GetText(const std::string& base, const std::string& path,
                                   const std::string& token, std::string* content_type = nullptr,
                                   int read_timeout_s = 120);
// Percent-encodes a query-string value.
std::string UrlEncode(const std::string& text);

// Terminal presentation: colour only when the stream is a terminal, $NO_COLOR is unset or
// empty and $TERM is not "dumb".
bool UseColor(int fd);
enum class Color { kNone, kRed, kGreen, kYellow, kBlue, kGray, kBold };
// text wrapped in the colour's ANSI escape when enabled, else text.
std::string Paint(const std::string& text, Color color, bool enabled);
// Colour of a severity name: critical red, warning yellow, info blue.
Color SeverityColor(const std::string& severity);

// A left-aligned text table with a header row; columns marked numeric are right-aligned.
// Widths count UTF-8 code points, so sparklines and colours line up.
//   Table t({"RULE", "VALUE"}, {false, true});
//   t.Add({{"disk_usage_high", Color::kNone}, {"86.2", Color::kNone}});
//   t.Print(stdout, UseColor(STDOUT_FILENO));
class Table {
 public:
  struct Cell {
    std::string text;
    Color color = Color::kNone;
  };
  explicit Table(std::vector<std::string> headers, std::vector<bool> numeric = {});
  void Add(std::vector<Cell> row);
  // Prints with two spaces between columns, indented by indent spaces.
  void Print(std::FILE* out, bool color, int indent = 0) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> numeric_;
  std::vector<std::vector<Cell>> rows_;
};

// Shows a spinner on stderr while a long request runs, only when stderr is a terminal.
// Thread-safe to destroy from the thread that created it; Stop() clears the line.
class Spinner {
 public:
  explicit Spinner(std::string message);
  ~Spinner();
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

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
