// ComponentsCollector: the collector ("components") that feeds custom components into the
// store. Each Collect() emits the registry's live series and self-metrics (see
// ComponentRegistry::Emit) and starts every exec program that is due on a worker thread of its
// own, so a slow or hanging program never delays the tick: its result reaches the registry when
// it finishes and is emitted from the next tick on.
//
// Ownership: shares the registry; owns the exec workers. The destructor cancels running
// programs (killing them) and joins the workers.
// Thread-safety: Collect() from one thread at a time (the runner's contract); WaitIdle from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collect/collector.h"
#include "collect/expfmt/parser.h"
#include "collect/push/component_registry.h"
#include "collect/push/exec_program.h"
#include "core/labels.h"
#include "echomon/clock.h"

namespace echomon::collect::push {

// One exec component: run program every interval_ms and parse its stdout as exposition text
// (OpenMetrics when it ends with "# EOF", else Prometheus text 0.0.4).
struct ExecSpec {
  std::string name;  // the component="<name>" label
  ProgramSpec program;
  int64_t interval_ms = 1000;
  core::Labels labels;  // added to every sample
};

// Parses a program's output into component series (limits from the registry: series per
// component, labels per series). Errors name the line and column.
Result<std::vector<ComponentSeries>> ParseProgramOutput(std::string_view output,
                                                        const PushLimits& limits,
                                                        const core::Labels& extra_labels);

class ComponentsCollector final : public Collector {
 public:
  // clock (exec scheduling) must outlive the collector; nullptr means SystemClock::Get().
  ComponentsCollector(std::shared_ptr<ComponentRegistry> registry, std::vector<ExecSpec> exec,
                      Clock* clock = nullptr);
  ~ComponentsCollector() override;
  ComponentsCollector(const ComponentsCollector&) = delete;
  ComponentsCollector& operator=(const ComponentsCollector&) = delete;

  std::string_view name() const override { return "components"; }
  Status Collect(core::SampleBatch& out) override;

  // Waits (real time, up to timeout_ms) until no exec program is running. For tests and
  // shutdown. Returns false on timeout.
  bool WaitIdle(int64_t timeout_ms);
  // Runs started since construction, per spec order.
  std::vector<uint64_t> runs() const;

 private:
  struct Job {
    ExecSpec spec;
    bool started = false;
    int64_t last_start_ns = 0;
    uint64_t runs = 0;
    bool running = false;  // guarded by mu_
    std::thread worker;
  };
  void Run(Job* job);

  std::shared_ptr<ComponentRegistry> registry_;
  Clock* clock_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
};

}  // namespace echomon::collect::push
