// CollectorRunner: one persistent worker thread per collector.
//
// All runner and worker state is guarded by Impl::mu. A worker thread waits on its own
// condition variable for a request, runs Collect() without the lock into its private batch,
// then records the outcome under the lock and wakes the runner. The runner reads a worker's
// batch only after the worker has recorded completion for the current tick, so the batch is
// never touched by two threads at once. A worker that misses the deadline keeps running; its
// result is discarded, and while it is busy later ticks skip it (each one counted as a timeout).
//
// Shutdown: the destructor asks every worker to stop and joins it, which waits for a collector
// stuck in Collect() to return. Collectors are expected to finish (bounded reads of local
// files); a worker is never detached, because it owns the collector it is running. Replaced
// and removed collectors are retired: their threads are joined once they have finished, in a
// later Add/Remove/RunOnce or in the destructor, never while a caller waits on them.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "collect/metric_defs.h"
#include "core/log.h"

namespace echomon::collect {

namespace {

struct Worker {
  std::unique_ptr<Collector> collector;
  std::string name;
  core::Labels labels;  // {collector="<name>"}
  std::thread thread;
  std::condition_variable wake;
  // Guarded by Impl::mu.
  bool requested = false;
  bool busy = false;  // requested or running
  bool stop = false;
  bool exited = false;     // the thread has left its loop
  uint64_t tick = 0;       // tick of the latest request
  uint64_t done_tick = 0;  // tick of the latest completed run
  Status result;
  int64_t duration_ns = 0;
  CollectorHealth health;
  // Written by the worker thread only while busy; read by the runner only when done.
  core::SampleBatch batch;
};

}  // namespace

struct CollectorRunner::Impl {
  Clock* clock;
  std::mutex run_mu;  // serialises RunOnce
  mutable std::mutex mu;
  std::condition_variable done;
  int64_t timeout_ms;
  uint64_t tick = 0;
  size_t pending = 0;  // workers requested in the current tick that have not finished
  std::map<std::string, std::shared_ptr<Worker>, std::less<>> workers;
  std::vector<std::shared_ptr<Worker>> retired;

  void Loop(Worker* w) {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      w->wake.wait(lock, [w] { return w->requested || w->stop; });
      if (w->stop) {
        // Retired with a request pending: release the runner waiting for it.
        if (w->requested) {
          w->requested = false;
          w->busy = false;
          FinishedRequest(w);
        }
        break;
      }
      w->requested = false;
      lock.unlock();
      w->batch.clear();
      int64_t start = clock->MonotonicNanos();
      Status status;
      try {
        status = w->collector->Collect(w->batch);
      } catch (const std::exception& e) {
        status = Status::Internal(std::string("collector threw: ") + e.what());
      } catch (...) {
        status = Status::Internal("collector threw a non-standard exception");
      }
      int64_t elapsed = clock->MonotonicNanos() - start;
      lock.lock();
      w->result = std::move(status);
      w->duration_ns = elapsed;
      w->done_tick = w->tick;
      w->busy = false;
      FinishedRequest(w);
    }
    w->exited = true;
  }

  // Requires mu held. Wakes the runner once the last worker of the current tick is done (a
  // late finish from an earlier tick does not count).
  void FinishedRequest(Worker* w) {
    if (w->tick == tick && pending > 0 && --pending == 0) done.notify_one();
  }

  std::shared_ptr<Worker> Start(std::unique_ptr<Collector> collector) {
    auto w = std::make_shared<Worker>();
    w->name = std::string(collector->name());
    w->labels = core::Labels{{"collector", w->name}};
    w->health.name = w->name;
    w->collector = std::move(collector);
    Worker* raw = w.get();
    w->thread = std::thread([this, raw] { Loop(raw); });
    return w;
  }

  // Requires mu held. A later collector of the same name starts with a fresh "log once" state.
  void Retire(std::shared_ptr<Worker> w) {
    if (!w->health.healthy) core::ResetOnce("collector:" + w->name);
    w->stop = true;
    w->wake.notify_one();
    retired.push_back(std::move(w));
  }

  // Joins retired workers whose threads have exited. Requires mu not held.
  void ReapRetired() {
    std::vector<std::shared_ptr<Worker>> finished;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = std::partition(retired.begin(), retired.end(),
                               [](const std::shared_ptr<Worker>& w) { return !w->exited; });
      finished.assign(std::make_move_iterator(it), std::make_move_iterator(retired.end()));
      retired.erase(it, retired.end());
    }
    for (auto& w : finished) w->thread.join();
  }
};

CollectorRunner::CollectorRunner(Clock* clock, RunnerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->clock = clock;
  impl_->timeout_ms = options.timeout_ms;
}

CollectorRunner::~CollectorRunner() {
  std::vector<std::shared_ptr<Worker>> all;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [name, w] : impl_->workers) impl_->Retire(w);
    impl_->workers.clear();
    all.swap(impl_->retired);
  }
  for (auto& w : all) w->thread.join();
}

void CollectorRunner::Add(std::unique_ptr<Collector> collector) {
  impl_->ReapRetired();
  std::shared_ptr<Worker> w = impl_->Start(std::move(collector));
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->workers.find(w->name);
  if (it != impl_->workers.end()) {
    impl_->Retire(std::move(it->second));
    it->second = std::move(w);
  } else {
    std::string name = w->name;
    impl_->workers.emplace(std::move(name), std::move(w));
  }
}

bool CollectorRunner::Remove(std::string_view name) {
  impl_->ReapRetired();
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->workers.find(name);
  if (it == impl_->workers.end()) return false;
  impl_->Retire(std::move(it->second));
  impl_->workers.erase(it);
  return true;
}

void CollectorRunner::SetTimeout(int64_t timeout_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->timeout_ms = timeout_ms;
}

void CollectorRunner::RunOnce(core::SampleBatch& out) {
  std::lock_guard<std::mutex> run_lock(impl_->run_mu);
  impl_->ReapRetired();
  Impl& s = *impl_;
  const int64_t tick_start = s.clock->MonotonicNanos();
  const auto start_steady = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(s.mu);
  const uint64_t tick = ++s.tick;
  const int64_t now_ms = s.clock->NowMillis();
  const auto deadline = start_steady + std::chrono::milliseconds(s.timeout_ms);
  // Workers in name order; the snapshot keeps them alive even if removed meanwhile.
  std::vector<std::shared_ptr<Worker>> ticked;
  ticked.reserve(s.workers.size());
  s.pending = 0;
  for (auto& [name, w] : s.workers) {
    ticked.push_back(w);
    if (w->busy) continue;  // still running from an earlier tick: skipped below
    w->requested = true;
    w->busy = true;
    w->tick = tick;
    ++s.pending;
    w->wake.notify_one();
  }
  s.done.wait_until(lock, deadline, [&s] { return s.pending == 0; });

  // A collector removed or replaced during the tick (stop set) is left out entirely.
  for (const std::shared_ptr<Worker>& w : ticked) {
    if (w->stop) continue;
    CollectorHealth& h = w->health;
    h.last_run_ms = now_ms;
    if (w->tick == tick && w->done_tick == tick) {
      ++h.runs;
      h.last_duration_us = w->duration_ns / 1000;
      h.last_samples = w->batch.size();
      // Samples appended before a failure are kept (Collector contract).
      out.insert(out.end(), std::make_move_iterator(w->batch.begin()),
                 std::make_move_iterator(w->batch.end()));
      w->batch.clear();
      if (w->result.ok()) {
        if (!h.healthy) core::ResetOnce("collector:" + w->name);
        h.healthy = true;
        h.last_error.clear();
      } else {
        ++h.errors;
        h.healthy = false;
        h.last_error = w->result.ToString();
        core::WarnOnce("collector:" + w->name, "collector " + w->name + " failed: " + h.last_error);
      }
    } else {
      ++h.timeouts;
      h.healthy = false;
      h.last_error = w->tick == tick ? "timed out after " + std::to_string(s.timeout_ms) + " ms"
                                     : "skipped: still busy with an earlier tick";
      core::WarnOnce("collector:" + w->name, "collector " + w->name + ": " + h.last_error);
    }
  }
  for (const std::shared_ptr<Worker>& w : ticked) {
    if (w->stop) continue;
    const CollectorHealth& h = w->health;
    const bool up = h.healthy && w->done_tick == tick;
    Emit(out, metrics::kCollectorDuration, w->labels,
         static_cast<double>(h.last_duration_us) / 1e6);
    Emit(out, metrics::kCollectorUp, w->labels, up ? 1 : 0);
    Emit(out, metrics::kCollectorErrors, w->labels, static_cast<double>(h.errors));
    Emit(out, metrics::kCollectorTimeouts, w->labels, static_cast<double>(h.timeouts));
    Emit(out, metrics::kCollectorSamples, w->labels, static_cast<double>(h.last_samples));
  }
  Emit(out, metrics::kCollectionDuration, {},
       static_cast<double>(s.clock->MonotonicNanos() - tick_start) / 1e9);
}

std::vector<CollectorHealth> CollectorRunner::Health() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<CollectorHealth> health;
  health.reserve(impl_->workers.size());
  for (const auto& [name, w] : impl_->workers) {
    health.push_back(w->health);
    health.back().busy = w->busy;
  }
  return health;
}

}  // namespace echomon::collect
