#include "collect/push/exec_program.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace echomon::collect::push {
namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
constexpr size_t kMaxStderrBytes = 4096;

// argv0 itself when it holds a '/', else the first executable PATH entry holding it.
std::string Resolve(const std::string& argv0) {
  if (argv0.find('/') != std::string::npos) return argv0;
  const char* env_path = std::getenv("PATH");
  std::string path = env_path != nullptr && *env_path != '\0' ? env_path : kDefaultPath;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + argv0;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return argv0;
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

std::string FirstLine(const std::string& text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return {};
  size_t end = text.find('\n', start);
  std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

}  // namespace

Result<std::string> RunProgram(const ProgramSpec& spec, const std::atomic<bool>* cancel) {
  if (spec.argv.empty() || spec.argv[0].empty()) return Status::InvalidArgument("empty argv");
  const std::string path = Resolve(spec.argv[0]);

  std::vector<std::string> env_strings;
  if (spec.env.count("PATH") == 0) {
    const char* env_path = std::getenv("PATH");
    env_strings.push_back(std::string("PATH=") +
                          (env_path != nullptr && *env_path != '\0' ? env_path : kDefaultPath));
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    return Status::IoError(std::string("pipe: ") + strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    CloseFd(&out_pipe[0]);
    CloseFd(&out_pipe[1]);
    return Status::IoError(std::string("pipe: ") + strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigemptyset(&default_signals);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&default_signals, sig);
  }
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawn_error =
      posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CloseFd(&out_pipe[1]);
  CloseFd(&err_pipe[1]);
  if (spawn_error != 0) {
    CloseFd(&out_pipe[0]);
    CloseFd(&err_pipe[0]);
    return Status::NotFound("cannot run " + spec.argv[0] + ": " + strerror(spawn_error));
  }

  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(std::max<int64_t>(spec.timeout_ms, 1));
  std::string out, err;
  Status failure;
  char buf[16384];
  while (out_pipe[0] >= 0 || err_pipe[0] >= 0) {
    if (cancel != nullptr && cancel->load()) {
      failure = Status::Unavailable("cancelled (killed)");
      break;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      failure =
          Status::Timeout("timed out after " + std::to_string(spec.timeout_ms) + " ms (killed)");
      break;
    }
    pollfd fds[2];
    int n = 0;
    for (int fd : {out_pipe[0], err_pipe[0]}) {
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    }
    const int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 100));
    int ready = poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      failure = Status::IoError(std::string("poll: ") + strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      const bool is_out = fds[i].fd == out_pipe[0];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        CloseFd(is_out ? &out_pipe[0] : &err_pipe[0]);
        continue;
      }
      if (is_out) {
        if (out.size() + static_cast<size_t>(got) > spec.max_output_bytes) {
          failure =
              Status::ResourceExhausted("output larger than max_output (" +
                                        std::to_string(spec.max_output_bytes) + " bytes) (killed)");
          break;
        }
        out.append(buf, static_cast<size_t>(got));
      } else if (err.size() < kMaxStderrBytes) {
        err.append(buf, std::min(static_cast<size_t>(got), kMaxStderrBytes - err.size()));
      }
    }
    if (!failure.ok()) break;
  }
  CloseFd(&out_pipe[0]);
  CloseFd(&err_pipe[0]);

  int wstatus = 0;
  if (failure.ok()) {
    // Both pipes closed: the program (normally) exited; give it until the deadline to be reaped.
    while (true) {
      pid_t r = waitpid(pid, &wstatus, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) {
        return Status::IoError(std::string("waitpid: ") + strerror(errno));
      }
      if ((cancel != nullptr && cancel->load()) || Clock::now() >= deadline) {
        failure = cancel != nullptr && cancel->load()
                      ? Status::Unavailable("cancelled (killed)")
                      : Status::Timeout("timed out after " + std::to_string(spec.timeout_ms) +
                                        " ms (killed)");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (!failure.ok()) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    return failure;
  }
  if (WIFSIGNALED(wstatus)) {
    return Status::IoError("killed by signal " + std::to_string(WTERMSIG(wstatus)));
  }
  const int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (code != 0) {
    std::string line = FirstLine(err);
    return Status::IoError("exited with status " + std::to_string(code) +
                           (line.empty() ? std::string() : ": " + line));
  }
  return out;
}

}  // namespace echomon::collect::push
