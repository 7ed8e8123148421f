#include "alert/notify/program_notifier.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace echomon::alert {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kStderrKeep = 512;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

int64_t MillisUntil(SteadyClock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now())
      .count();
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// Reaps pid if it has exited; true when it has (and *status is set).
bool TryReap(pid_t pid, int* status) {
  while (true) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno == EINTR) continue;
    return false;
  }
}

// Waits up to ms for pid to exit, polling the pidfd when there is one.
bool WaitExit(pid_t pid, int pidfd, int64_t ms, int* status) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(ms);
  while (true) {
    if (TryReap(pid, status)) return true;
    int64_t left = MillisUntil(deadline);
    if (left <= 0) return false;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    } else {
      ::usleep(static_cast<useconds_t>(std::min<int64_t>(left, 10) * 1000));
    }
  }
}

// Reads what is available on fd into *kept (up to kStderrKeep bytes; the rest is discarded).
// Returns false at EOF or on an error other than EAGAIN.
bool DrainStderr(int fd, std::string* kept) {
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      size_t room = kStderrKeep > kept->size() ? kStderrKeep - kept->size() : 0;
      kept->append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// Blocks SIGPIPE on this thread for its lifetime; on exit discards a SIGPIPE raised meanwhile.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old);
    was_blocked_ = sigismember(&old, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (was_blocked_) return;
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_UNBLOCK, &pipe_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  bool was_blocked_ = false;
};

}  // namespace

ProgramNotifier::ProgramNotifier(ProgramOptions options) : options_(std::move(options)) {}

std::vector<std::string> ProgramNotifier::Environment(const Notification& n) const {
  std::map<std::string, std::string> env;
  const char* path = std::getenv("PATH");
  env["PATH"] = path != nullptr && *path != '\0' ? path : kDefaultPath;
  for (const auto& [k, v] : options_.env) env[k] = v;
  const AlertRecord& a = n.alert;
  env["ECHOMON_ALERT_ID"] = a.id;
  env["ECHOMON_ALERT_RULE"] = a.rule;
  env["ECHOMON_ALERT_SEVERITY"] = SeverityName(a.severity);
  env["ECHOMON_ALERT_STATUS"] = NotificationStatus(n);
  env["ECHOMON_ALERT_EVENT"] = EventKindName(n.kind);
  env["ECHOMON_ALERT_FINGERPRINT"] = a.fingerprint;
  env["ECHOMON_ALERT_VALUE"] = fmt::format("{}", a.value);
  env["ECHOMON_ALERT_THRESHOLD"] = fmt::format("{}", a.threshold);
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

Status ProgramNotifier::Deliver(const Notification& n) {
  if (options_.argv.empty() || options_.argv[0].empty()) {
    return Status::InvalidArgument(fmt::format("program notifier {}: no program", options_.name));
  }
  const std::string& program = options_.argv[0];
  int in_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    CloseFd(&in_pipe[0]);
    CloseFd(&in_pipe[1]);
    return Status::IoError(fmt::format("program {}: pipe: {}", program, std::strerror(err)));
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> args = options_.argv;
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = Environment(n);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CloseFd(&in_pipe[0]);
  CloseFd(&err_pipe[1]);
  if (rc != 0) {
    CloseFd(&in_pipe[1]);
    CloseFd(&err_pipe[0]);
    std::string msg = fmt::format("program {}: cannot start: {}", program, std::strerror(rc));
    return rc == ENOENT ? Status::NotFound(msg) : Status::IoError(msg);
  }

  int stdin_fd = in_pipe[1];
  int stderr_fd = err_pipe[0];
  ::fcntl(stdin_fd, F_SETFL, ::fcntl(stdin_fd, F_GETFL) | O_NONBLOCK);
  ::fcntl(stderr_fd, F_SETFL, ::fcntl(stderr_fd, F_GETFL) | O_NONBLOCK);
  int pidfd = OpenPidfd(pid);

  const std::string input = NotificationJson(n);
  size_t written = 0;
  std::string stderr_text;
  int status = 0;
  bool exited = false;
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options_.timeout_ms);
  {
    ScopedSigpipeBlock no_sigpipe;
    while (true) {
      if (TryReap(pid, &status)) {
        exited = true;
        break;
      }
      int64_t left = MillisUntil(deadline);
      if (left <= 0) break;
      pollfd fds[3];
      int count = 0;
      int stdin_idx = -1, stderr_idx = -1;
      if (stdin_fd >= 0) {
        stdin_idx = count;
        fds[count++] = {stdin_fd, POLLOUT, 0};
      }
      if (stderr_fd >= 0) {
        stderr_idx = count;
        fds[count++] = {stderr_fd, POLLIN, 0};
      }
      if (pidfd >= 0) fds[count++] = {pidfd, POLLIN, 0};
      int wait_ms = static_cast<int>(pidfd >= 0 ? left : std::min<int64_t>(left, 10));
      int ready = ::poll(fds, count, wait_ms);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      if (stdin_idx >= 0 && fds[stdin_idx].revents != 0) {
        ssize_t w = ::write(stdin_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        bool failed = w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
        // A program that exits or closes stdin without reading it is not an error in itself.
        if (written == input.size() || failed) CloseFd(&stdin_fd);
      }
      if (stderr_idx >= 0 && fds[stderr_idx].revents != 0) {
        if (!DrainStderr(stderr_fd, &stderr_text)) CloseFd(&stderr_fd);
      }
    }
  }

  bool timed_out = false;
  if (!exited) {
    timed_out = true;
    ::kill(-pid, SIGTERM);
    if (!WaitExit(pid, pidfd, options_.kill_grace_ms, &status)) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (stderr_fd >= 0) DrainStderr(stderr_fd, &stderr_text);
  CloseFd(&stdin_fd);
  CloseFd(&stderr_fd);
  CloseFd(&pidfd);

  std::string detail = Trimmed(stderr_text);
  std::string suffix = detail.empty() ? "" : ": " + detail;
  if (timed_out) {
    return Status::Timeout(fmt::format("program {} timed out after {} ms; killed{}", program,
                                       options_.timeout_ms, suffix));
  }
  if (WIFEXITED(status)) {
    int code = WEXITSTATUS(status);
    if (code == 0) return Status::Ok();
    if (code == 127 && written == 0 && detail.empty()) {
      // posix_spawnp reports a failed exec this way on some systems.
      return Status::NotFound(fmt::format("program {}: cannot execute (exit code 127)", program));
    }
    return Status::Internal(fmt::format("program {} exited with code {}{}", program, code, suffix));
  }
  if (WIFSIGNALED(status)) {
    return Status::Internal(
        fmt::format("program {} killed by signal {}{}", program, WTERMSIG(status), suffix));
  }
  return Status::Internal(fmt::format("program {}: unexpected wait status {}", program, status));
}

}  // namespace echomon::alert
