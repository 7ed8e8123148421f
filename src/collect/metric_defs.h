// The metrics the built-in collectors and the runner emit, declared once. The table yields each
// metric's name, type, labels, source and HELP text; docs/metrics.md lists the same entries and
// collect_test checks that every name here is documented there.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metric.h"

namespace echomon::collect {

struct MetricDef {
  std::string_view name;
  core::MetricType type;
  std::string_view labels;  // comma-separated label names, for documentation
  std::string_view source;  // where the value comes from, for documentation
  std::string_view help;
};

// X(identifier, name, type, labels, source, help)
#define ECHOMON_COLLECT_METRICS(X)                                                                 \
  X(kCpuUtilization, "echomon_cpu_utilization_percent", kGauge, "cpu,mode", "/proc/stat",          \
    "Share of CPU time spent in each mode since the previous tick, 0-100 (user includes guest).")  \
  X(kCpuUsage, "echomon_cpu_usage_percent", kGauge, "cpu", "/proc/stat",                           \
    "CPU busy share since the previous tick: 100 - idle - iowait.")                                \
  X(kCpuSeconds, "echomon_cpu_seconds_total", kCounter, "cpu,mode", "/proc/stat",                  \
    "CPU time spent in each mode, seconds.")                                                       \
  X(kCpuCount, "echomon_cpus_online", kGauge, "", "/proc/stat", "Number of online CPUs.")          \
  X(kLoad1, "echomon_load1", kGauge, "", "/proc/loadavg", "1-minute load average.")                \
  X(kLoad5, "echomon_load5", kGauge, "", "/proc/loadavg", "5-minute load average.")                \
  X(kLoad15, "echomon_load15", kGauge, "", "/proc/loadavg", "15-minute load average.")             \
  X(kPressureStall, "echomon_pressure_stall_percent", kGauge, "resource,kind,window",              \
    "/proc/pressure/*",                                                                            \
    "Share of wall time some/all non-idle tasks were stalled on the resource, averaged over "      \
    "the window, 0-100.")                                                                          \
  X(kPressureStallSeconds, "echomon_pressure_stall_seconds_total", kCounter, "resource,kind",      \
    "/proc/pressure/*", "Total time some/all non-idle tasks were stalled on the resource.")        \
  X(kMemoryTotal, "echomon_memory_total_bytes", kGauge, "", "/proc/meminfo",                       \
    "Usable physical memory (MemTotal).")                                                          \
  X(kMemoryFree, "echomon_memory_free_bytes", kGauge, "", "/proc/meminfo",                         \
    "Unused physical memory (MemFree).")                                                           \
  X(kMemoryAvailable, "echomon_memory_available_bytes", kGauge, "", "/proc/meminfo",               \
    "Memory available for new allocations without swapping (MemAvailable; estimated as "           \
    "MemFree + Buffers + Cached on kernels older than 3.14).")                                     \
  X(kMemoryBuffers, "echomon_memory_buffers_bytes", kGauge, "", "/proc/meminfo",                   \
    "Block device buffers (Buffers).")                                                             \
  X(kMemoryCached, "echomon_memory_cached_bytes", kGauge, "", "/proc/meminfo",                     \
    "Page cache (Cached).")                                                                        \
  X(kMemoryShared, "echomon_memory_shared_bytes", kGauge, "", "/proc/meminfo",                     \
    "Shared memory and tmpfs, including /dev/shm (Shmem).")                                        \
  X(kMemoryUsed, "echomon_memory_used_bytes", kGauge, "", "/proc/meminfo",                         \
    "Memory in use: MemTotal - MemAvailable.")                                                     \
  X(kMemoryUsedPercent, "echomon_memory_used_percent", kGauge, "", "/proc/meminfo",                \
    "Memory in use as a share of MemTotal, 0-100.")                                                \
  X(kSwapTotal, "echomon_swap_total_bytes", kGauge, "", "/proc/meminfo",                           \
    "Swap space configured (SwapTotal).")                                                          \
  X(kSwapFree, "echomon_swap_free_bytes", kGauge, "", "/proc/meminfo",                             \
    "Unused swap space (SwapFree).")                                                               \
  X(kSwapUsed, "echomon_swap_used_bytes", kGauge, "", "/proc/meminfo",                             \
    "Swap space in use: SwapTotal - SwapFree.")                                                    \
  X(kSwapUsedPercent, "echomon_swap_used_percent", kGauge, "", "/proc/meminfo",                    \
    "Swap in use as a share of SwapTotal, 0-100 (0 without swap).")                                \
  X(kPageFaults, "echomon_vmstat_page_faults_total", kCounter, "", "/proc/vmstat",                 \
    "Page faults, minor and major (pgfault).")                                                     \
  X(kMajorPageFaults, "echomon_vmstat_major_page_faults_total", kCounter, "", "/proc/vmstat",      \
    "Major page faults, which needed I/O (pgmajfault).")                                           \
  X(kSwapIn, "echomon_vmstat_swap_in_pages_total", kCounter, "", "/proc/vmstat",                   \
    "Pages swapped in (pswpin).")                                                                  \
  X(kSwapOut, "echomon_vmstat_swap_out_pages_total", kCounter, "", "/proc/vmstat",                 \
    "Pages swapped out (pswpout).")                                                                \
  X(kOomKills, "echomon_vmstat_oom_kills_total", kCounter, "", "/proc/vmstat",                     \
    "Processes killed by the OOM killer (oom_kill; kernels 4.13 and later).")                      \
  X(kFsSize, "echomon_filesystem_size_bytes", kGauge, "mount,device,fstype",                       \
    "/proc/self/mounts + statvfs", "Filesystem size.")                                             \
  X(kFsFree, "echomon_filesystem_free_bytes", kGauge, "mount,device,fstype",                       \
    "/proc/self/mounts + statvfs", "Free space, including blocks reserved for root.")              \
  X(kFsAvail, "echomon_filesystem_avail_bytes", kGauge, "mount,device,fstype",                     \
    "/proc/self/mounts + statvfs", "Space available to unprivileged users.")                       \
  X(kFsUsage, "echomon_filesystem_usage_percent", kGauge, "mount,device,fstype",                   \
    "/proc/self/mounts + statvfs",                                                                 \
    "Used space as df shows it: (size - free) / (size - free + avail), 0-100.")                    \
  X(kFsFiles, "echomon_filesystem_files", kGauge, "mount,device,fstype",                           \
    "/proc/self/mounts + statvfs", "Inodes in the filesystem.")                                    \
  X(kFsFilesFree, "echomon_filesystem_files_free", kGauge, "mount,device,fstype",                  \
    "/proc/self/mounts + statvfs", "Free inodes.")                                                 \
  X(kFsReadonly, "echomon_filesystem_readonly", kGauge, "mount,device,fstype",                     \
    "/proc/self/mounts + statvfs", "1 when the filesystem is mounted read-only.")                  \
  X(kFsUnavailable, "echomon_filesystem_unavailable_mounts", kGauge, "",                           \
    "/proc/self/mounts + statvfs",                                                                 \
    "Mounted filesystems that could not be measured this tick (statvfs failed).")                  \
  X(kDiskReadBytes, "echomon_disk_read_bytes_total", kCounter, "device", "/proc/diskstats",        \
    "Bytes read (sectors read x 512).")                                                            \
  X(kDiskWrittenBytes, "echomon_disk_written_bytes_total", kCounter, "device", "/proc/diskstats",  \
    "Bytes written (sectors written x 512).")                                                      \
  X(kDiskReads, "echomon_disk_reads_completed_total", kCounter, "device", "/proc/diskstats",       \
    "Read operations completed.")                                                                  \
  X(kDiskWrites, "echomon_disk_writes_completed_total", kCounter, "device", "/proc/diskstats",     \
    "Write operations completed.")                                                                 \
  X(kDiskReadTime, "echomon_disk_read_time_seconds_total", kCounter, "device", "/proc/diskstats",  \
    "Time spent on reads.")                                                                        \
  X(kDiskWriteTime, "echomon_disk_write_time_seconds_total", kCounter, "device",                   \
    "/proc/diskstats", "Time spent on writes.")                                                    \
  X(kDiskIoTime, "echomon_disk_io_time_seconds_total", kCounter, "device", "/proc/diskstats",      \
    "Time the device had I/O in flight (its utilisation is the rate of this).")                    \
  X(kDiskIoNow, "echomon_disk_io_now", kGauge, "device", "/proc/diskstats",                        \
    "I/O operations currently in flight.")                                                         \
  X(kNetRxBytes, "echomon_network_receive_bytes_total", kCounter, "interface", "/proc/net/dev",    \
    "Bytes received.")                                                                             \
  X(kNetRxPackets, "echomon_network_receive_packets_total", kCounter, "interface",                 \
    "/proc/net/dev", "Packets received.")                                                          \
  X(kNetRxErrors, "echomon_network_receive_errors_total", kCounter, "interface", "/proc/net/dev",  \
    "Receive errors.")                                                                             \
  X(kNetRxDrops, "echomon_network_receive_drops_total", kCounter, "interface", "/proc/net/dev",    \
    "Received packets dropped.")                                                                   \
  X(kNetTxBytes, "echomon_network_transmit_bytes_total", kCounter, "interface", "/proc/net/dev",   \
    "Bytes transmitted.")                                                                          \
  X(kNetTxPackets, "echomon_network_transmit_packets_total", kCounter, "interface",                \
    "/proc/net/dev", "Packets transmitted.")                                                       \
  X(kNetTxErrors, "echomon_network_transmit_errors_total", kCounter, "interface", "/proc/net/dev", \
    "Transmit errors.")                                                                            \
  X(kNetTxDrops, "echomon_network_transmit_drops_total", kCounter, "interface", "/proc/net/dev",   \
    "Transmitted packets dropped.")                                                                \
  X(kProcesses, "echomon_processes", kGauge, "", "/proc (numeric entries)",                        \
    "Processes that exist (numeric directories under /proc).")                                     \
  X(kThreads, "echomon_threads", kGauge, "", "/proc/loadavg",                                      \
    "Kernel scheduling entities (threads) that exist.")                                            \
  X(kProcsRunning, "echomon_processes_running", kGauge, "", "/proc/stat",                          \
    "Threads runnable or running (procs_running).")                                                \
  X(kProcsBlocked, "echomon_processes_blocked", kGauge, "", "/proc/stat",                          \
    "Threads blocked on I/O (procs_blocked).")                                                     \
  X(kForks, "echomon_forks_total", kCounter, "", "/proc/stat",                                     \
    "Processes and threads created (processes).")                                                  \
  X(kContextSwitches, "echomon_context_switches_total", kCounter, "", "/proc/stat",                \
    "Context switches (ctxt).")                                                                    \
  X(kInterrupts, "echomon_interrupts_total", kCounter, "", "/proc/stat",                           \
    "Interrupts serviced (intr).")                                                                 \
  X(kSelfCpuSeconds, "echomon_self_cpu_seconds_total", kCounter, "", "/proc/self/stat",            \
    "CPU time used by the echomon agent, user + system.")                                          \
  X(kSelfResident, "echomon_self_resident_memory_bytes", kGauge, "", "/proc/self/statm",           \
    "Resident memory of the echomon agent.")                                                       \
  X(kSelfVirtual, "echomon_self_virtual_memory_bytes", kGauge, "", "/proc/self/statm",             \
    "Virtual memory size of the echomon agent.")                                                   \
  X(kSelfOpenFds, "echomon_self_open_fds", kGauge, "", "/proc/self/fd",                            \
    "File descriptors open in the echomon agent.")                                                 \
  X(kSelfThreads, "echomon_self_threads", kGauge, "", "/proc/self/stat",                           \
    "Threads of the echomon agent.")                                                               \
  X(kCollectorDuration, "echomon_collector_duration_seconds", kGauge, "collector", "runner",       \
    "Duration of the collector's last completed run.")                                             \
  X(kCollectorUp, "echomon_collector_up", kGauge, "collector", "runner",                           \
    "1 when the collector succeeded within its timeout this tick, else 0.")                        \
  X(kCollectorErrors, "echomon_collector_errors_total", kCounter, "collector", "runner",           \
    "Runs where the collector returned an error.")                                                 \
  X(kCollectorTimeouts, "echomon_collector_timeouts_total", kCounter, "collector", "runner",       \
    "Ticks where the collector did not finish in time or was still busy from an earlier tick.")    \
  X(kCollectorSamples, "echomon_collector_samples", kGauge, "collector", "runner",                 \
    "Samples the collector produced in its last completed run.")                                   \
  X(kCollectionDuration, "echomon_collection_duration_seconds", kGauge, "", "runner",              \
    "Wall time of the whole collection tick.")

namespace metrics {
#define ECHOMON_DEFINE_METRIC(id, name, type, labels, source, help) \
  inline constexpr MetricDef id{name, core::MetricType::type, labels, source, help};
ECHOMON_COLLECT_METRICS(ECHOMON_DEFINE_METRIC)
#undef ECHOMON_DEFINE_METRIC
}  // namespace metrics

#define ECHOMON_METRIC_REF(id, name, type, labels, source, help) metrics::id,
inline constexpr MetricDef kAllMetrics[] = {ECHOMON_COLLECT_METRICS(ECHOMON_METRIC_REF)};
#undef ECHOMON_METRIC_REF

// Appends one sample of def with the given labels and value.
inline void Emit(core::SampleBatch& out, const MetricDef& def, core::Labels labels, double value) {
  core::Sample& s = out.emplace_back();
  s.name.assign(def.name);
  s.labels = std::move(labels);
  s.value = value;
  s.type = def.type;
  s.help = def.help;
}

// Labels {key=value} cached at (*cache)[i], rebuilt only when the value changed: per-device
// label sets are built once, not every tick.
inline const core::Labels& CachedLabels(std::vector<core::Labels>* cache, size_t i, const char* key,
                                        const std::string& value) {
  if (cache->size() <= i) cache->resize(i + 1);
  core::Labels& labels = (*cache)[i];
  const std::string* current = labels.Get(key);
  if (current == nullptr || *current != value) labels = core::Labels{{key, value}};
  return labels;
}

}  // namespace echomon::collect
