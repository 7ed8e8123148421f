// Helpers shared by tests: temporary directories, child processes, free loopback ports.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace echomon::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes text to path (truncating). Aborts the test on failure.
void WriteFile(const std::string& path, const std::string& text);
std::string ReadFile(const std::string& path);

// A child process started without a shell; stdout and stderr go to files in a TempDir.
class Subprocess {
 public:
  // argv[0] is looked up in PATH when it has no slash. stdin reads from stdin_path.
  explicit Subprocess(std::vector<std::string> argv, const std::string& stdin_path = "/dev/null");
  ~Subprocess();  // kills (SIGKILL) and reaps the child if still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits up to timeout_ms for exit; returns the exit code, 128+signal when killed by a signal,
  // or -1 on timeout (the child keeps running).
  int Wait(int timeout_ms);
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  bool reaped_ = false;
};

// Runs argv to completion (up to timeout_ms); returns the exit code and fills out/err.
int RunCommand(const std::vector<std::string>& argv, std::string* out, std::string* err,
               int timeout_ms = 30'000, const std::string& stdin_file = {});

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// Polls http://127.0.0.1:port/healthz until it answers 200 (an agent is starting). Returns
// false when it has not within timeout_ms.
bool WaitForAgent(int port, int timeout_ms = 10'000);

// Path of a built binary, relative to the build directory (e.g. "src/cli/echomon").
std::string BuiltBinary(const std::string& relative);

}  // namespace echomon::testing
