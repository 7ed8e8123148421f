// ProgramNotifier: runs a configured program for each alert event, without a shell.
//
// The program (argv[0] an absolute path, or a name looked up in PATH) gets NotificationJson()
// on stdin and a minimal environment: PATH, the configured extra variables, and
//   ECHOMON_ALERT_ID, ECHOMON_ALERT_RULE, ECHOMON_ALERT_SEVERITY, ECHOMON_ALERT_STATUS
//   (firing|resolved), ECHOMON_ALERT_EVENT (firing|severity_changed|resolved),
//   ECHOMON_ALERT_FINGERPRINT, ECHOMON_ALERT_VALUE, ECHOMON_ALERT_THRESHOLD.
// Its stdout is discarded; the first bytes of its stderr are kept for the error message. It
// runs in its own process group; when it has not exited after timeout_ms the group receives
// SIGTERM, and SIGKILL kill_grace_ms later.
//
// Thread-safety: Deliver() may be called from any thread. SIGPIPE is blocked on the calling
// thread while writing stdin, so a program that exits without reading cannot kill the agent.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "alert/notify/notifier.h"

namespace echomon::alert {

struct ProgramOptions {
  std::string name = "program";
  std::vector<std::string> argv;           // argv[0] is the program
  std::map<std::string, std::string> env;  // extra environment variables
  int64_t timeout_ms = 10'000;
  int64_t kill_grace_ms = 500;  // SIGTERM → SIGKILL
};

class ProgramNotifier final : public Notifier {
 public:
  explicit ProgramNotifier(ProgramOptions options);
  std::string_view name() const override { return options_.name; }
  // Fails when the program cannot be started (NotFound/IoError naming it), exits non-zero
  // (Internal "... exited with code N: <stderr start>"), dies from a signal, or runs past the
  // timeout (Timeout; it is killed). Returns within timeout_ms + kill_grace_ms (+ reaping).
  Status Deliver(const Notification& n) override;

  // The environment given to the program for n, as NAME=value strings.
  std::vector<std::string> Environment(const Notification& n) const;

 private:
  ProgramOptions options_;
};

}  // namespace echomon::alert
