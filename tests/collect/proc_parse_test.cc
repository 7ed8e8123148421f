#include "collect/proc_parse.h"

#include <gtest/gtest.h>

#include "collect/proc_reader.h"
#include "test_util.h"

namespace echomon::collect {
namespace {

using testing::ProcTree;
using testing::ReadFileOrDie;

TEST(ProcStatParser, ParsesCapturedDebianStat) {
  ProcStat stat;
  ASSERT_TRUE(ParseProcStat(ReadFileOrDie(ProcTree("debian12-a") + "/stat"), &stat).ok());
  EXPECT_TRUE(stat.total.present);
  EXPECT_EQ(stat.total.ticks[kCpuUser], 2125u);
  EXPECT_EQ(stat.total.ticks[kCpuSystem], 1369u);
  EXPECT_EQ(stat.total.ticks[kCpuIdle], 426128u);
  EXPECT_EQ(stat.total.ticks[kCpuIowait], 319u);
  EXPECT_EQ(stat.total.ticks[kCpuSoftirq], 35u);
  EXPECT_EQ(stat.total.ticks[kCpuSteal], 9u);
  ASSERT_EQ(stat.cpus.size(), 2u);
  EXPECT_EQ(stat.online_cpus, 2);
  EXPECT_EQ(stat.cpus[1].ticks[kCpuUser], 1508u);
  EXPECT_EQ(stat.cpus[1].ticks[kCpuIowait], 305u);
  EXPECT_EQ(stat.intr, 144325u);
  EXPECT_EQ(stat.ctxt, 296768u);
  EXPECT_EQ(stat.processes, 4074u);
  EXPECT_EQ(stat.procs_running, 1u);
  EXPECT_TRUE(stat.has_procs_blocked);
  EXPECT_EQ(stat.procs_blocked, 0u);
}

TEST(ProcStatParser, OldKernelWithSevenColumnsAndOfflineCpu) {
  ProcStat stat;
  ASSERT_TRUE(ParseProcStat(ReadFileOrDie(ProcTree("synthetic-old-kernel") + "/stat"), &stat).ok());
  EXPECT_EQ(stat.total.ticks[kCpuSoftirq], 30u);
  EXPECT_EQ(stat.total.ticks[kCpuSteal], 0u);  // column absent
  ASSERT_EQ(stat.cpus.size(), 3u);
  EXPECT_TRUE(stat.cpus[0].present);
  EXPECT_FALSE(stat.cpus[1].present);  // offline
  EXPECT_TRUE(stat.cpus[2].present);
  EXPECT_EQ(stat.online_cpus, 2);
  EXPECT_FALSE(stat.has_procs_blocked);
}

TEST(ProcStatParser, RejectsTextWithoutCpuLine) {
  ProcStat stat;
  EXPECT_EQ(ParseProcStat("ctxt 5\n", &stat).code(), StatusCode::kParseError);
  EXPECT_EQ(ParseProcStat("", &stat).code(), StatusCode::kParseError);
  EXPECT_EQ(ParseProcStat("cpu99999999999 1 2 3 4\ncpu 1 2\n", &stat).code(),
            StatusCode::kParseError);
}

TEST(LoadAvgParser, ParsesFields) {
  LoadAvg load;
  ASSERT_TRUE(ParseLoadAvg("2.50 1.25 0.75 3/120 4249\n", &load).ok());
  EXPECT_DOUBLE_EQ(load.load1, 2.5);
  EXPECT_DOUBLE_EQ(load.load5, 1.25);
  EXPECT_DOUBLE_EQ(load.load15, 0.75);
  EXPECT_EQ(load.runnable, 3u);
  EXPECT_EQ(load.threads, 120u);
  EXPECT_FALSE(ParseLoadAvg("2.50 1.25\n", &load).ok());
  EXPECT_FALSE(ParseLoadAvg("2.50 1.25 0.75 3-120 1\n", &load).ok());
}

TEST(PressureParser, ParsesSomeAndFull) {
  Pressure p;
  ASSERT_TRUE(ParsePressure(ReadFileOrDie(ProcTree("debian12-a") + "/pressure/io"), &p).ok());
  ASSERT_TRUE(p.some.present);
  ASSERT_TRUE(p.full.present);
  EXPECT_DOUBLE_EQ(p.some.avg60, 0.01);
  EXPECT_DOUBLE_EQ(p.some.avg300, 0.08);
  EXPECT_EQ(p.some.total_us, 2878271u);
  EXPECT_EQ(p.full.total_us, 2779763u);
  // Kernels before 5.13 have only a "some" line for cpu.
  ASSERT_TRUE(ParsePressure("some avg10=1.50 avg60=2.00 avg300=0.25 total=99\n", &p).ok());
  EXPECT_TRUE(p.some.present);
  EXPECT_FALSE(p.full.present);
  EXPECT_FALSE(ParsePressure("garbage\n", &p).ok());
}

TEST(MemInfoParser, ConvertsKibibytesToBytes) {
  MemInfo m;
  ASSERT_TRUE(ParseMemInfo(ReadFileOrDie(ProcTree("debian12-a") + "/meminfo"), &m).ok());
  EXPECT_EQ(m.total, 24684084ull * 1024);
  EXPECT_EQ(m.free, 24519940ull * 1024);
  EXPECT_TRUE(m.has_available);
  EXPECT_EQ(m.available, 24436680ull * 1024);
  EXPECT_EQ(m.buffers, 2268ull * 1024);
  EXPECT_EQ(m.cached, 32100ull * 1024);
  EXPECT_EQ(m.shmem, 8872ull * 1024);
  EXPECT_EQ(m.swap_total, 0u);
  EXPECT_FALSE(ParseMemInfo("MemFree: 1 kB\n", &m).ok());
}

TEST(MountsParser, DecodesOctalEscapesAndReadsRo) {
  std::vector<MountEntry> mounts;
  ASSERT_TRUE(ParseMounts("/dev/sdb1 /mnt/my\\040disk\\134x ext4 ro,relatime 0 0\n"
                          "short line\n"
                          "tmpfs /tmp tmpfs rw 0 0",
                          &mounts)
                  .ok());
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].mount_point, "/mnt/my disk\\x");
  EXPECT_TRUE(mounts[0].readonly);
  EXPECT_EQ(mounts[1].device, "tmpfs");
  EXPECT_FALSE(mounts[1].readonly);
  // Reuse shrinks the list.
  ASSERT_TRUE(ParseMounts("a /b c rw\n", &mounts).ok());
  EXPECT_EQ(mounts.size(), 1u);
}

TEST(DiskStatsParser, ParsesModernAndOldFormats) {
  std::vector<DiskStats> disks;
  ASSERT_TRUE(ParseDiskStats(ReadFileOrDie(ProcTree("debian12-a") + "/diskstats"), &disks).ok());
  const DiskStats* vda = nullptr;
  for (const DiskStats& d : disks) vda = d.name == "vda" ? &d : vda;
  ASSERT_NE(vda, nullptr);
  EXPECT_EQ(vda->reads, 29269u);
  EXPECT_EQ(vda->sectors_read, 2691538u);
  EXPECT_EQ(vda->read_ms, 6803u);
  EXPECT_EQ(vda->writes, 5122u);
  EXPECT_EQ(vda->sectors_written, 1183504u);
  EXPECT_EQ(vda->write_ms, 3464u);
  EXPECT_EQ(vda->in_flight, 0u);
  EXPECT_EQ(vda->io_ms, 4244u);
  ASSERT_TRUE(
      ParseDiskStats(ReadFileOrDie(ProcTree("synthetic-old-kernel") + "/diskstats"), &disks).ok());
  EXPECT_EQ(disks.size(), 10u);  // the malformed last line is skipped
}

TEST(NetDevParser, HandlesOldFormatAndOddNames) {
  std::vector<NetDevStats> devs;
  ASSERT_TRUE(
      ParseNetDev(ReadFileOrDie(ProcTree("synthetic-old-kernel") + "/net/dev"), &devs).ok());
  ASSERT_EQ(devs.size(), 4u);  // "bad0" has too few columns
  EXPECT_EQ(devs[1].name, "eth0");
  EXPECT_EQ(devs[1].rx_bytes, 1234567u);
  EXPECT_EQ(devs[1].rx_packets, 8910u);
  EXPECT_EQ(devs[1].tx_bytes, 7654321u);
  EXPECT_EQ(devs[1].tx_drops, 4u);
  EXPECT_EQ(devs[2].name, "veth1a2b3c");
  EXPECT_EQ(devs[3].name, "br-0a1b.10");
  EXPECT_EQ(devs[3].rx_errors, 7u);
  EXPECT_EQ(devs[3].tx_errors, 11u);
}

TEST(SelfStatParser, CommWithSpacesAndParentheses) {
  SelfStat s;
  ASSERT_TRUE(
      ParseSelfStat(ReadFileOrDie(ProcTree("synthetic-old-kernel") + "/self/stat"), &s).ok());
  EXPECT_EQ(s.utime_ticks, 250u);
  EXPECT_EQ(s.stime_ticks, 125u);
  EXPECT_EQ(s.threads, 7u);
  EXPECT_FALSE(ParseSelfStat("12 (x) S 1 2", &s).ok());
  EXPECT_FALSE(ParseSelfStat("no paren", &s).ok());
}

TEST(ProcReader, FieldHelpers) {
  std::string_view text = "  a\tbb  \n";
  EXPECT_EQ(NextField(&text), "a");
  EXPECT_EQ(NextField(&text), "bb");
  uint64_t v;
  EXPECT_TRUE(ParseU64("18446744073709551615", &v));
  EXPECT_FALSE(ParseU64("18446744073709551616", &v));
  EXPECT_FALSE(ParseU64("12x", &v));
  EXPECT_FALSE(ParseU64("", &v));
  EXPECT_EQ(Trim(" \tx y \r"), "x y");
}

TEST(ProcReader, ReadsFilesLargerThanItsInitialBufferAndReportsMissingOnes) {
  std::string path = ::testing::TempDir() + "/proc_reader_big.txt";
  std::string content;
  for (int i = 0; i < 3000; ++i) content += "line " + std::to_string(i) + "\n";
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  ProcFile file("test", path);
  std::string_view text;
  ASSERT_TRUE(file.Read(&text).ok());
  EXPECT_EQ(text, content);
  ASSERT_TRUE(file.Read(&text).ok());  // buffer reuse
  EXPECT_EQ(text, content);
  ProcFile missing("test", ProcTree("debian12-a") + "/no-such-file");
  EXPECT_EQ(missing.Read(&text).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace echomon::collect
