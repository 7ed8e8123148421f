// The host collectors on this machine's real /proc, compared with independent system calls
// within tolerances.
#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "collect/host_collectors.h"
#include "test_util.h"

namespace echomon::collect {
namespace {

using core::SampleBatch;
using testing::FindSample;
using testing::ReadFileOrDie;

TEST(LiveHost, EveryCollectorSucceeds) {
  SampleBatch out;
  for (auto& c : MakeHostCollectors(HostOptions{})) {
    Status status = c->Collect(out);
    EXPECT_TRUE(status.ok()) << c->name() << ": " << status.ToString();
  }
  EXPECT_GT(out.size(), 50u);
}

TEST(LiveHost, MemoryTotalMatchesSysinfo) {
  struct sysinfo info;
  ASSERT_EQ(::sysinfo(&info), 0);
  double expected = static_cast<double>(info.totalram) * info.mem_unit;
  SampleBatch out;
  ASSERT_TRUE(MakeMemoryCollector(HostOptions{})->Collect(out).ok());
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_memory_total_bytes"), expected, expected * 0.01);
  double used = ECHOMON_VALUE(out, "echomon_memory_used_percent");
  EXPECT_GT(used, 0);
  EXPECT_LT(used, 100);
}

TEST(LiveHost, RootFilesystemMatchesStatvfs) {
  SampleBatch out;
  ASSERT_TRUE(MakeFilesystemCollector(HostOptions{})->Collect(out).ok());
  const core::Sample* usage = nullptr;
  const core::Sample* size = nullptr;
  for (const core::Sample& s : out) {
    const std::string* mount = s.labels.Get("mount");
    if (mount == nullptr || *mount != "/") continue;
    if (s.name == "echomon_filesystem_usage_percent") usage = &s;
    if (s.name == "echomon_filesystem_size_bytes") size = &s;
  }
  ASSERT_NE(usage, nullptr) << "no sample for / (is / a pseudo filesystem here?)";
  ASSERT_NE(size, nullptr);
  struct statvfs st;
  ASSERT_EQ(::statvfs("/", &st), 0);
  double used = static_cast<double>(st.f_blocks - st.f_bfree);
  double expected = used * 100.0 / (used + static_cast<double>(st.f_bavail));
  EXPECT_NEAR(usage->value, expected, 0.5);
  EXPECT_EQ(size->value, static_cast<double>(st.f_blocks) * static_cast<double>(st.f_frsize));
}

TEST(LiveHost, CpuSplitSumsToHundredOverARealInterval) {
  auto cpu = MakeCpuCollector(HostOptions{});
  SampleBatch out;
  ASSERT_TRUE(cpu->Collect(out).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  out.clear();
  ASSERT_TRUE(cpu->Collect(out).ok());
  double sum = 0;
  int modes = 0;
  for (const core::Sample& s : out) {
    if (s.name != "echomon_cpu_utilization_percent" || *s.labels.Get("cpu") != "total") continue;
    EXPECT_GE(s.value, 0);
    EXPECT_LE(s.value, 100);
    sum += s.value;
    ++modes;
  }
  EXPECT_EQ(modes, 8);
  EXPECT_NEAR(sum, 100, 1e-6);
  double usage = ECHOMON_VALUE(out, "echomon_cpu_usage_percent", {"cpu", "total"});
  EXPECT_GE(usage, 0);
  EXPECT_LE(usage, 100);
}

TEST(LiveHost, SelfMetricsDescribeThisProcess) {
  SampleBatch out;
  ASSERT_TRUE(MakeSelfCollector(HostOptions{})->Collect(out).ok());
  std::string statm = ReadFileOrDie("/proc/self/statm");
  double resident_pages = std::stod(statm.substr(statm.find(' ') + 1));
  double rss = ECHOMON_VALUE(out, "echomon_self_resident_memory_bytes");
  EXPECT_GT(rss, 0);
  EXPECT_NEAR(rss, resident_pages * static_cast<double>(::sysconf(_SC_PAGESIZE)), rss * 0.1);
  EXPECT_GE(ECHOMON_VALUE(out, "echomon_self_open_fds"), 3);  // stdin, stdout, stderr
  EXPECT_GE(ECHOMON_VALUE(out, "echomon_self_threads"), 1);
  EXPECT_GT(ECHOMON_VALUE(out, "echomon_self_cpu_seconds_total"), 0 - 1e-12);
}

}  // namespace
}  // namespace echomon::collect
