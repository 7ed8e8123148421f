// Runs a program without a shell: fork + execve in a new process group, stdout and stderr into
// one pipe read with a size cap, the group killed on timeout.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "respond/actions/internal.h"

namespace echomon::respond::internal {
namespace {

// Finds program in the colon-separated path list; "" when not found.
std::string LookUp(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos) return program;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

// Writes an errno-tagged message from the child (async-signal-safe) and exits 127.
[[noreturn]] void ChildFail(int fd, const char* what) {
  int e = errno;
  (void)!::write(fd, what, std::strlen(what));
  (void)!::write(fd, &e, sizeof(e));
  ::_exit(127);
}

}  // namespace

std::map<std::string, std::string> BaseEnvironment() {
  std::map<std::string, std::string> env;
  const char* path = std::getenv("PATH");
  env["PATH"] =
      path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const char* home = std::getenv("HOME");
  env["HOME"] = home && *home ? home : "/";
  const char* lang = std::getenv("LANG");
  env["LANG"] = lang && *lang ? lang : "C.UTF-8";
  return env;
}

RunOutcome RunProcess(const RunOptions& o) {
  RunOutcome out;
  int64_t start = MonoMs();
  if (o.argv.empty() || o.argv[0].empty()) {
    out.error = "no program to run (argv is empty)";
    return out;
  }
  auto path_it = o.env.find("PATH");
  std::string program = LookUp(o.argv[0], path_it == o.env.end() ? "" : path_it->second);
  if (program.empty()) {
    out.error = "program \"" + o.argv[0] + "\" not found in PATH";
    return out;
  }
  // Everything the child needs is prepared before fork (the child may only make
  // async-signal-safe calls).
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
  if (!o.user.empty()) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    int rc = ::getpwnam_r(o.user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0 || found == nullptr) {
      out.error = "user \"" + o.user + "\" not found" +
                  (rc != 0 ? std::string(": ") + std::strerror(rc) : std::string());
      return out;
    }
    uid = pw.pw_uid;
    gid = pw.pw_gid;
    home = pw.pw_dir ? pw.pw_dir : "/";
    if (uid != ::geteuid() || gid != ::getegid()) {
      if (::geteuid() != 0) {
        out.error = "running as user \"" + o.user + "\" needs root; the agent runs as uid " +
                    std::to_string(::geteuid());
        return out;
      }
      switch_user = true;
      int n = 64;
      groups.resize(n);
      if (::getgrouplist(o.user.c_str(), gid, groups.data(), &n) < 0) {
        groups.resize(n);
        ::getgrouplist(o.user.c_str(), gid, groups.data(), &n);
      }
      groups.resize(n);
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : o.env) {
    if (switch_user && k == "HOME") continue;
    env_strings.push_back(k + "=" + v);
  }
  if (switch_user) env_strings.push_back("HOME=" + home);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = o.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];  // exec failure report (closed on successful exec)
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return out;
  }
  const char* cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  pid_t pid = ::fork();
  if (pid < 0) {
    out.error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    return out;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(out_pipe[1], 2);
    if (cwd != nullptr && ::chdir(cwd) != 0) ChildFail(err_pipe[1], "chdir");
    if (switch_user) {
      if (::setgroups(groups.size(), groups.data()) != 0) ChildFail(err_pipe[1], "setgroups");
      if (::setgid(gid) != 0) ChildFail(err_pipe[1], "setgid");
      if (::setuid(uid) != 0) ChildFail(err_pipe[1], "setuid");
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    ChildFail(err_pipe[1], "exec");
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out.started = true;

  // The command is judged by its own exit, not by the end of its output: a command may leave a
  // background child holding the pipe (a service started by a restart script). Once the direct
  // child has exited, the pipe is read for at most kGraceMs more. The group is killed only on
  // timeout, and only while the direct child is unreaped (so its pid/pgid cannot be reused).
  constexpr int64_t kGraceMs = 500;
  int64_t deadline = start + o.timeout_ms;
  bool exited = false;
  bool eof = false;
  int wstatus = 0;
  int64_t exit_time = 0;
  char buf[8192];
  while (true) {
    int64_t now = MonoMs();
    if (!exited) {
      pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
      if (w == pid) {
        exited = true;
        exit_time = now;
      }
    }
    if (exited && (eof || now - exit_time >= kGraceMs)) break;
    if (!exited && !out.timed_out && now >= deadline) {
      out.timed_out = true;
      ::kill(-pid, SIGKILL);  // pid is not reaped yet: the group is still ours
    }
    if (eof) {
      // Output closed; wait for the exit.
      ::usleep(2000);
      continue;
    }
    pollfd pfd{out_pipe[0], POLLIN, 0};
    int64_t wait = 50;
    if (exited) {
      wait = std::max<int64_t>(1, kGraceMs - (now - exit_time));
    } else if (!out.timed_out) {
      wait = std::max<int64_t>(1, deadline - now);
    }
    int pr = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(50, wait)));
    if (pr > 0) {
      ssize_t n = ::read(out_pipe[0], buf, sizeof(buf));
      if (n > 0) {
        AppendCapped(&out.output, std::string_view(buf, static_cast<size_t>(n)), o.max_output,
                     &out.truncated);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
    }
  }
  ::close(out_pipe[0]);
  // Did exec fail?
  char report[64] = {};
  ssize_t n = ::read(err_pipe[0], report, sizeof(report));
  ::close(err_pipe[0]);
  if (n > static_cast<ssize_t>(sizeof(int))) {
    int e = 0;
    std::memcpy(&e, report + n - sizeof(int), sizeof(int));
    std::string what(report, static_cast<size_t>(n) - sizeof(int));
    out.started = false;
    out.error = what + " failed: " + std::strerror(e);
    if (what == "exec") out.error = "cannot run " + program + ": " + std::strerror(e);
    if (what == "chdir")
      out.error = "cannot change to directory " + o.cwd + ": " + std::strerror(e);
  }
  if (WIFEXITED(wstatus)) out.exit_status = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) out.term_signal = WTERMSIG(wstatus);
  if (out.timed_out) {
    out.exit_status = -1;
    out.error =
        "timed out after " + std::to_string(o.timeout_ms) + " ms; process group killed (SIGKILL)";
  }
  out.output = ValidUtf8(out.output);
  out.duration_ms = MonoMs() - start;
  return out;
}

}  // namespace echomon::respond::internal
