// Helpers shared by the echomon subcommands that talk to a running agent.
#include "cli/cli_common.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

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

std::optional<std::string> GetText(const std::string& base, const std::string& path,
                                   const std::string& token, std::string* content_type,
                                   int read_timeout_s) {
  httplib::Client client(base);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(read_timeout_s, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result res = client.Get(path.c_str(), headers);
  if (!res) {
    std::cerr << "echomon: no agent answered at " << base << " (" << httplib::to_string(res.error())
              << ")\n";
    return std::nullopt;
  }
  if (res->status < 200 || res->status >= 300) {
    json parsed = json::parse(res->body, nullptr, false);
    std::string why = parsed.is_object() ? parsed.value("error", res->body) : res->body;
    std::cerr << "echomon: GET " << path << ": " << res->status << ": " << why << "\n";
    return std::nullopt;
  }
  if (content_type) *content_type = res->get_header_value("Content-Type");
  return res->body;
}

std::string UrlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool UseColor(int fd) {
  if (!isatty(fd)) return false;
  if (const char* no = std::getenv("NO_COLOR"); no && *no) return false;
  if (const char* term = std::getenv("TERM"); term && std::string(term) == "dumb") return false;
  return true;
}

std::string Paint(const std::string& text, Color color, bool enabled) {
  if (!enabled || color == Color::kNone) return text;
  const char* code = color == Color::kRed      ? "\033[31m"
                     : color == Color::kGreen  ? "\033[32m"
                     : color == Color::kYellow ? "\033[33m"
                     : color == Color::kBlue   ? "\033[34m"
                     : color == Color::kGray   ? "\033[90m"
                                               : "\033[1m";
  return code + text + "\033[0m";
}

Color SeverityColor(const std::string& severity) {
  if (severity == "critical") return Color::kRed;
  if (severity == "warning") return Color::kYellow;
  if (severity == "info") return Color::kBlue;
  return Color::kNone;
}

namespace {
// Display width of UTF-8 text: code points (the tables hold no wide characters).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

Table::Table(std::vector<std::string> headers, std::vector<bool> numeric)
    : headers_(std::move(headers)), numeric_(std::move(numeric)) {
  numeric_.resize(headers_.size(), false);
}

void Table::Add(std::vector<Cell> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

void Table::Print(std::FILE* out, bool color, int indent) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = Width(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i].text));
  }
  auto line = [&](const std::vector<Cell>& cells, bool header) {
    std::string text(static_cast<size_t>(std::max(indent, 0)), ' ');
    for (size_t i = 0; i < cells.size(); ++i) {
      const bool last = i + 1 == cells.size();
      const std::string pad(widths[i] - Width(cells[i].text), ' ');
      const std::string painted = header ? Paint(cells[i].text, Color::kBold, color)
                                         : Paint(cells[i].text, cells[i].color, color);
      if (numeric_[i]) {
        text += pad + painted;
      } else {
        text += painted + (last ? "" : pad);
      }
      if (!last) text += "  ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    std::fprintf(out, "%s\n", text.c_str());
  };
  std::vector<Cell> header;
  for (const auto& h : headers_) header.push_back({h, Color::kBold});
  line(header, true);
  for (const auto& row : rows_) line(row, false);
}

struct Spinner::State {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
};

Spinner::Spinner(std::string message) {
  if (!isatty(STDERR_FILENO)) return;
  state_ = std::make_unique<State>();
  State* s = state_.get();
  s->thread = std::thread([s, message = std::move(message)] {
    static const char* kFrames[] = {"|", "/", "-", "\\"};
    const auto began = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(s->mu);
    // Short requests finish before the spinner would show.
    if (s->cv.wait_for(lock, std::chrono::milliseconds(300), [s] { return s->stop; })) return;
    for (int frame = 0; !s->stop; ++frame) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      std::fprintf(stderr, "\r%s %s (%.0f s)", kFrames[frame % 4], message.c_str(), secs);
      std::fflush(stderr);
      s->cv.wait_for(lock, std::chrono::milliseconds(120), [s] { return s->stop; });
    }
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  });
}

Spinner::~Spinner() { Stop(); }

void Spinner::Stop() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
  state_.reset();
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
