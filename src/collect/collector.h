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
  bool healthy = true;           // last run succeeded within its timeout
  int64_t last_run_ms = 0;       // wall time of the last tick it ran in
  int64_t last_duration_us = 0;  // how long its last Collect() took
  uint64_t runs = 0;
  uint64_t errors = 0;        // Collect() returned non-ok
  uint64_t timeouts = 0;      // ticks where it did not finish in time (or was still busy)
  uint64_t last_samples = 0;  // samples it produced in its last completed run
  bool busy = false;          // still inside a Collect() that missed its tick's deadline
  std::string last_error;     // empty when healthy
};

struct RunnerOptions {
  int64_t timeout_ms = 500;  // a collector slower than this is abandoned for the tick
};

// Runs collectors once per tick. Each collector runs on its own worker thread so a slow one
// cannot delay the others past the timeout; its late result is discarded and counted, and
// while it is still busy later ticks skip it. Failures are logged once (until the collector
// recovers) and counted.
//
// Samples are merged in collector-name order, whatever order the collectors finish in; the
// runner's self-metrics follow all collectors' samples. A collector that returns an error keeps
// the samples it appended (it is reported down, its error counted and logged once until it
// recovers); an exception escaping Collect() is caught and treated as an error.
//
// Lifetime: clock must outlive the runner. Removing or replacing a collector never waits for
// it; a busy one's thread is joined once its Collect() returns. The destructor waits for every
// in-flight Collect() to return (no thread is killed or detached, since it owns its
// collector), so collectors must bound their own I/O.
//
// Thread-safety: Add/Remove/SetTimeout/RunOnce/Health may be called from any thread; RunOnce
// calls are serialised internally. A collector added while a tick is in progress first runs in
// the next tick; one removed or replaced during a tick is left out of that tick.
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
  // Takes effect from the next RunOnce.
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

// Space and inode figures of one mounted filesystem, as statvfs(2) reports them.
struct FsUsage {
  uint64_t size_bytes = 0;   // f_blocks * f_frsize
  uint64_t free_bytes = 0;   // f_bfree * f_frsize (includes the root reserve)
  uint64_t avail_bytes = 0;  // f_bavail * f_frsize (what unprivileged users may use)
  uint64_t files = 0;
  uint64_t files_free = 0;
  bool readonly = false;  // ST_RDONLY
};
// Measures the filesystem mounted at path. Returns non-ok (and leaves *out unspecified) when the
// path cannot be measured (absent, permission denied, stale NFS handle).
using FsStatFn = std::function<Status(const std::string& path, FsUsage* out)>;

// Options for the built-in host collectors.
struct HostOptions {
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  bool per_core = true;
  std::vector<std::string> exclude_fs_types;    // empty: the built-in pseudo-filesystem list
  std::vector<std::string> exclude_interfaces;  // exact interface names
  // Prefix joined to each mount point before measuring it: "" on the host; "/host" when the
  // agent runs in a container with the host's / bind-mounted at /host (and proc_root
  // "/host/proc").
  std::string rootfs;
  // How filesystems are measured; empty means statvfs(2). Tests inject a fake.
  FsStatFn fs_stat;
};

// The default host collectors: cpu, load, pressure, memory, vmstat, filesystem, diskstats,
// network, processes, self. All read through options.proc_root (and statvfs for filesystems).
// The metrics, their labels and the filtering rules are listed in docs/metrics.md.
std::vector<std::unique_ptr<Collector>> MakeHostCollectors(const HostOptions& options);

// A collector backed by a callback returning name -> value pairs (the C++ API's registered
// collectors). Each pair becomes one gauge sample whose metric name is the key with every
// character outside [a-zA-Z0-9_:] replaced by '_' (and a leading '_' added when the key is
// empty or starts with a digit), labelled collector="<name>"; values are passed through as
// they are (NaN and infinities included). E.g. name "dtesn" returning {"membrane_depth": 3}
// yields membrane_depth{collector="dtesn"} 3. An exception thrown by fn is caught and reported
// as an Internal status with its what() text; nothing is emitted for that tick.
using CallbackFn = std::function<std::map<std::string, double>()>;
std::unique_ptr<Collector> MakeCallbackCollector(std::string name, CallbackFn fn);

}  // namespace echomon::collect
