// Clock: the single source of time for every time-based behaviour, injectable so tests run
// without sleeping. Times are milliseconds since the Unix epoch.
//
// Thread-safety: SystemClock and ManualClock may be read from any thread; ManualClock's
// setters are safe to call concurrently with readers.
#pragma once

#include <atomic>
#include <cstdint>

namespace echomon {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
  // Monotonic time in nanoseconds, for measuring durations.
  virtual int64_t MonotonicNanos() const = 0;
};

// The real clock (CLOCK_REALTIME / CLOCK_MONOTONIC).
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  int64_t MonotonicNanos() const override;
  // A process-wide instance.
  static SystemClock* Get();
};

// A clock that only moves when told to. Monotonic time follows the wall time.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_.load(std::memory_order_relaxed); }
  int64_t MonotonicNanos() const override { return NowMillis() * 1'000'000; }
  void Set(int64_t now_ms) { now_ms_.store(now_ms, std::memory_order_relaxed); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace echomon
