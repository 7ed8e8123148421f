// RunProgram: runs one exec-collector program to completion — argv without a shell, a fixed
// environment, stdin from /dev/null, stdout captured up to a size cap, stderr's first bytes
// kept for the error message — and kills its whole process group when it exceeds its timeout,
// its output cap, or the caller cancels.
//
// Thread-safety: RunProgram may be called from several threads at once (each call owns its
// child). It does not install signal handlers or reap children it did not start.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "echomon/status.h"

namespace echomon::collect::push {

struct ProgramSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in the agent's PATH
  std::map<std::string, std::string> env;  // the whole environment, plus PATH when not given
  int64_t timeout_ms = 10'000;
  size_t max_output_bytes = 1 << 20;
};

// Runs spec and returns its stdout when it exits with status 0 within the timeout. Errors
// (never thrown): kNotFound "cannot run <argv0>: No such file or directory" when it cannot be
// started; kTimeout "timed out after 2000 ms (killed)"; kResourceExhausted "output larger than
// max_output (N bytes) (killed)"; kIoError "exited with status 3: <first stderr line>" or
// "killed by signal 9"; kUnavailable "cancelled (killed)" when *cancel became true.
// Blocks at most timeout_ms plus the time to reap a killed child.
Result<std::string> RunProgram(const ProgramSpec& spec, const std::atomic<bool>* cancel = nullptr);

}  // namespace echomon::collect::push
