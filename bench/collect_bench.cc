// Cost of one host-collection tick on this machine's live /proc, against a baseline that only
// reads the same files without parsing. Allocations are counted by replacing the global
// operator new/delete in this binary.
//
//   BM_ReadProcFiles_Baseline   open + pread + close of every file the host collectors read
//   BM_HostCollectors_Direct    every host collector's Collect() in turn on one thread
//   BM_HostCollectors_Tick      CollectorRunner::RunOnce over MakeHostCollectors({}) (worker
//                               threads, timeout, self-metrics), as the agent runs it
// Counters: allocs_per_tick, samples_per_tick, process_cpu_us_per_tick (CPU of all threads,
// getrusage) and x_baseline (wall time per tick / the baseline's wall time per iteration).
// Build by hand until bench/CMakeLists can link it (see the report / docs):
//   g++ -O2 -std=c++20 -Iinclude -Isrc bench/collect_bench.cc
//   build/src/collect/libechomon_collect.a
//     build/src/core/libechomon_core.a -lbenchmark -lspdlog -lfmt -lpthread -o collect_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "collect/host_collectors.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// The replacements below pair malloc with free; GCC flags free() on memory from operator new
// once it inlines them into each other, which is exactly the pairing intended here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace echomon::collect {
namespace {

double g_baseline_ns = 0;  // per iteration, set by BM_ReadProcFiles_Baseline

// CPU time of the whole process (all threads, user + system), microseconds.
double ProcessCpuMicros() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

const std::vector<std::string>& FilesReadPerTick() {
  static const std::vector<std::string> files = {
      "/proc/stat",        "/proc/loadavg",    "/proc/pressure/cpu", "/proc/pressure/memory",
      "/proc/pressure/io", "/proc/meminfo",    "/proc/vmstat",       "/proc/self/mounts",
      "/proc/diskstats",   "/proc/net/dev",    "/proc/stat",         "/proc/loadavg",
      "/proc/self/stat",   "/proc/self/statm",
  };
  return files;
}

void BM_ReadProcFiles_Baseline(benchmark::State& state) {
  static char buffer[1 << 16];
  size_t bytes = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (const std::string& path : FilesReadPerTick()) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n;
      off_t off = 0;
      while ((n = ::pread(fd, buffer, sizeof(buffer), off)) > 0) off += n;
      bytes += static_cast<size_t>(off);
      ::close(fd);
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  g_baseline_ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
      static_cast<double>(state.iterations());
  state.counters["bytes_per_tick"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ReadProcFiles_Baseline)->Unit(benchmark::kMicrosecond);

void Report(benchmark::State& state, std::chrono::steady_clock::duration elapsed,
            uint64_t allocations, size_t samples, double cpu_micros) {
  double iterations = static_cast<double>(state.iterations());
  double ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
      iterations;
  state.counters["allocs_per_tick"] = static_cast<double>(allocations) / iterations;
  state.counters["samples_per_tick"] = static_cast<double>(samples);
  state.counters["process_cpu_us_per_tick"] = cpu_micros / iterations;
  if (g_baseline_ns > 0) state.counters["x_baseline"] = ns / g_baseline_ns;
}

void BM_HostCollectors_Direct(benchmark::State& state) {
  auto collectors = MakeHostCollectors(HostOptions{});
  core::SampleBatch out;
  for (auto& c : collectors) (void)c->Collect(out);  // warm: first CPU delta, buffers
  uint64_t allocations_before = g_allocations.load();
  double cpu_before = ProcessCpuMicros();
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    out.clear();
    for (auto& c : collectors) (void)c->Collect(out);
    benchmark::DoNotOptimize(out.data());
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  Report(state, elapsed, g_allocations.load() - allocations_before, out.size(),
         ProcessCpuMicros() - cpu_before);
}
BENCHMARK(BM_HostCollectors_Direct)->Unit(benchmark::kMicrosecond);

void BM_HostCollectors_Tick(benchmark::State& state) {
  CollectorRunner runner(SystemClock::Get(), RunnerOptions{});
  for (auto& c : MakeHostCollectors(HostOptions{})) runner.Add(std::move(c));
  core::SampleBatch out;
  runner.RunOnce(out);  // warm
  uint64_t allocations_before = g_allocations.load();
  double cpu_before = ProcessCpuMicros();
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    out.clear();
    runner.RunOnce(out);
    benchmark::DoNotOptimize(out.data());
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  Report(state, elapsed, g_allocations.load() - allocations_before, out.size(),
         ProcessCpuMicros() - cpu_before);
}
BENCHMARK(BM_HostCollectors_Tick)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace echomon::collect

BENCHMARK_MAIN();
