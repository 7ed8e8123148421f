// The individual host collectors behind MakeHostCollectors(), exposed for tests and benchmarks.
// Each reads through options.proc_root; see docs/metrics.md for what each emits.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "collect/collector.h"

namespace echomon::collect {

std::unique_ptr<Collector> MakeCpuCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeLoadCollector(const HostOptions& options);
std::unique_ptr<Collector> MakePressureCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeMemoryCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeVmstatCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeFilesystemCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeDiskstatsCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeNetworkCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeProcessesCollector(const HostOptions& options);
std::unique_ptr<Collector> MakeSelfCollector(const HostOptions& options);

// statvfs(2) as an FsStatFn (retries EINTR).
Status StatvfsUsage(const std::string& path, FsUsage* out);

// True for filesystem types skipped by default (proc, sysfs, cgroup, devpts, ...).
bool IsDefaultExcludedFsType(std::string_view fstype);

// True for block devices the diskstats collector skips: loop, ram, zram and floppy devices and
// partitions of sd/hd/vd/xvd, nvme and mmcblk disks (their I/O is already in the whole disk).
bool IsIgnoredBlockDevice(std::string_view name);

// Keeps the first error: sets *first to s when *first is ok and s is not.
inline void KeepFirstError(Status* first, Status s) {
  if (first->ok() && !s.ok()) *first = std::move(s);
}

}  // namespace echomon::collect
