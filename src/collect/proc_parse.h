// Parsers for the /proc files the host collectors read. Each takes the file's text and fills
// a caller-owned struct whose containers are reused between calls (no allocation once warm).
// They never crash on malformed input (fuzzed by fuzz/procfs_parse_fuzz.cc): unknown lines are
// skipped, and a missing mandatory field yields a ParseError.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "echomon/status.h"

namespace echomon::collect {

// /proc/stat CPU columns, in kernel order. Older kernels have fewer (missing ones are 0).
enum CpuMode : int {
  kCpuUser,
  kCpuNice,
  kCpuSystem,
  kCpuIdle,
  kCpuIowait,
  kCpuIrq,
  kCpuSoftirq,
  kCpuSteal,
  kCpuGuest,
  kCpuGuestNice,
  kCpuModeCount
};
// The modes that add up to the CPU's total time (guest time is already inside user/nice).
inline constexpr int kCpuAccountedModes = kCpuSteal + 1;
inline constexpr std::array<std::string_view, kCpuAccountedModes> kCpuModeNames = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};

struct CpuTimes {
  bool present = false;
  std::array<uint64_t, kCpuModeCount> ticks{};
};

struct ProcStat {
  CpuTimes total;
  std::vector<CpuTimes> cpus;  // indexed by CPU number; offline CPUs are !present
  int online_cpus = 0;
  bool has_intr = false, has_ctxt = false, has_processes = false;
  bool has_procs_running = false, has_procs_blocked = false;
  uint64_t intr = 0, ctxt = 0, processes = 0, procs_running = 0, procs_blocked = 0;
};
// Fails when the aggregate "cpu" line is missing.
Status ParseProcStat(std::string_view text, ProcStat* out);

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  uint64_t runnable = 0, threads = 0;  // the "1/85" field
};
Status ParseLoadAvg(std::string_view text, LoadAvg* out);

struct PressureLine {
  bool present = false;
  double avg10 = 0, avg60 = 0, avg300 = 0;
  uint64_t total_us = 0;
};
struct Pressure {
  PressureLine some, full;
};
// Fails when neither a "some" nor a "full" line is present.
Status ParsePressure(std::string_view text, Pressure* out);

struct MemInfo {
  uint64_t total = 0, free = 0, available = 0, buffers = 0, cached = 0, shmem = 0;
  uint64_t swap_total = 0, swap_free = 0;
  bool has_total = false, has_free = false, has_available = false, has_shmem = false;
};
// Values in bytes ("kB" means KiB). Fails without MemTotal.
Status ParseMemInfo(std::string_view text, MemInfo* out);

struct VmStat {
  uint64_t pgfault = 0, pgmajfault = 0, pswpin = 0, pswpout = 0, oom_kill = 0;
  bool has_pgfault = false, has_pgmajfault = false, has_pswpin = false, has_pswpout = false,
       has_oom_kill = false;
};
Status ParseVmStat(std::string_view text, VmStat* out);

struct MountEntry {
  std::string device, mount_point, fstype;  // octal escapes (\040 etc.) decoded
  bool readonly = false;                    // "ro" in the options
};
// Parses /proc/self/mounts (fstab format). Lines with fewer than four fields are skipped.
Status ParseMounts(std::string_view text, std::vector<MountEntry>* out);

struct DiskStats {
  std::string name;
  uint64_t reads = 0, sectors_read = 0, read_ms = 0;
  uint64_t writes = 0, sectors_written = 0, write_ms = 0;
  uint64_t in_flight = 0, io_ms = 0;
};
// Parses /proc/diskstats (14, 18 or 20 columns); lines with fewer than 14 are skipped. The
// vector is resized to the number of devices (element capacity is reused).
Status ParseDiskStats(std::string_view text, std::vector<DiskStats>* out);

struct NetDevStats {
  std::string name;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_drops = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_drops = 0;
};
// Parses /proc/net/dev: two header lines, then "name: 16 counters". Also accepts the old
// "eth0:123" form without a space after the colon.
Status ParseNetDev(std::string_view text, std::vector<NetDevStats>* out);

struct SelfStat {
  uint64_t utime_ticks = 0, stime_ticks = 0, threads = 0;
};
// Parses /proc/<pid>/stat; the command name may contain spaces and parentheses.
Status ParseSelfStat(std::string_view text, SelfStat* out);

struct SelfStatm {
  uint64_t size_pages = 0, resident_pages = 0;
};
Status ParseSelfStatm(std::string_view text, SelfStatm* out);

}  // namespace echomon::collect
