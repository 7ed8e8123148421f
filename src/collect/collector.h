// Collector: the one-method seam every metric source implements, and the runner that calls all
// of them once per tick with a per-collector timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metric.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace echomon::collect {

// A source of samples. Implementations are called from one runner thread at a time, never
// concurrently with themselves.
class Collector {
 public:
  virtual ~Collector() = default;
  // Stable, unique name, e.g. "cpu", "memory", "self".
  virtual std::string_view name() const = 0;
  // Appends this tick's samples to out. On failure returns a non-ok Status; samples appended
  // before the failure are kept. A missing optional source (e.g. no /proc/pressure) is not a
  // failure: the collector simply emits nothing for it.
  virtual Status Collect(core::SampleBatch& out) = 0;
};

// Health of one collector as seen by the runner.
struct CollectorHealth {
  std::string name;
  bool healthy = true;             // last run succeeded within its timeout
  int64_t last_run_ms = 0;         // wall time of the last tick it ran in
  int64_t last_duration_us = 0;    // how long its last Collect() took
  uint64_t runs = 0;
  uint64_t errors = 0;             // Collect() returned non-ok
  uint64_t timeouts = 0;           // ticks where it did not finish in time (or was still busy)
  uint64_t last_samples = 0;       // samples it produced in its last completed run
  std::string last_error;          // empty when healthy
};

struct RunnerOptions {
  int64_t timeout_ms = 500;  // a collector slower than this is abandoned for the tick
};

// Runs collectors once per tick. Each collector runs on its own worker thread so a slow one
// cannot delay the others past the timeout; its late result is discarded and counted, and
// while it is still busy later ticks skip it. Failures are logged once (until the collector
// recovers) and counted.
//
// Thread-safety: Add/Remove/RunOnce/Health may be called from any thread; RunOnce calls are
// serialised internally.
class CollectorRunner {
 public:
  CollectorRunner(Clock* clock, RunnerOptions options);
  ~CollectorRunner();
  CollectorRunner(const CollectorRunner&) = delete;
  CollectorRunner& operator=(const CollectorRunner&) = delete;

  // Adds a collector; one with the same name is replaced.
  void Add(std::unique_ptr<Collector> collector);
  // Removes the named collector. Returns false when there was none.
  bool Remove(std::string_view name);
  void SetTimeout(int64_t timeout_ms);

  // Runs every collector once and appends their samples to out, followed by the runner's own
  // self-metrics (echomon_collector_duration_seconds, echomon_collector_errors_total,
  // echomon_collector_timeouts_total, echomon_collector_up per collector and
  // echomon_collection_duration_seconds for the whole tick). Returns when all collectors
  // finished or the timeout passed, whichever is first.
  void RunOnce(core::SampleBatch& out);

  std::vector<CollectorHealth> Health() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Options for the built-in host collectors.
struct HostOptions {
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  bool per_core = true;
  std::vector<std::string> exclude_fs_types;    // empty: the built-in pseudo-filesystem list
  std::vector<std::string> exclude_interfaces;  // exact interface names
};

// The default host collectors: cpu, load, pressure, memory, vmstat, filesystem, diskstats,
// network, processes, self. All read through options.proc_root (and statvfs for filesystems).
std::vector<std::unique_ptr<Collector>> MakeHostCollectors(const HostOptions& options);

// A collector backed by a callback returning name -> value pairs (the C++ API's registered
// collectors). Each pair becomes a gauge "<prefix><name>" with label component=<collector name>
// ... see callback_collector.cc for the exact naming. Exceptions from the callback are caught
// and reported as a failure.
using CallbackFn = std::function<std::map<std::string, double>()>;
std::unique_ptr<Collector> MakeCallbackCollector(std::string name, CallbackFn fn);

}  // namespace echomon::collect
