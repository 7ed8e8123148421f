// drop_caches, compact_memory, trim_memory and diagnose.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "respond/actions/action_test_util.h"
#include "store/series_store.h"

namespace echomon::respond {
namespace {

using echomon::testing::ReadFile;
using echomon::testing::Subprocess;
using echomon::testing::TempDir;
using echomon::testing::WriteFile;
using testing::Act;
using testing::json;

TEST(DropCachesAction, DryRunWritesNothing) {
  TempDir dir;
  WriteFile(dir.File("drop_caches"), "");
  ActionLimits limits;
  limits.vm_sysctl_dir = dir.path();
  ActionResult r = Act("drop_caches", {{"value", 3}}, limits, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.summary.find("would write 3"), std::string::npos) << r.summary;
  EXPECT_EQ(ReadFile(dir.File("drop_caches")), "");
}

TEST(DropCachesAction, WritesTheValue) {
  TempDir dir;
  WriteFile(dir.File("drop_caches"), "");
  ActionLimits limits;
  limits.vm_sysctl_dir = dir.path();
  ActionResult r = Act("drop_caches", {{"value", 2}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(ReadFile(dir.File("drop_caches")), "2");
}

TEST(DropCachesAction, RealRunSucceedsOrFailsHonestly) {
  ActionLimits limits;  // the real /proc/sys/vm
  ActionResult r = Act("drop_caches", {{"value", 1}}, limits);
  if (r.ok) {
    EXPECT_NE(r.summary.find("dropped page cache"), std::string::npos);
  } else {
    EXPECT_NE(r.error.find("/proc/sys/vm/drop_caches"), std::string::npos) << r.error;
    // The reason is strerror's text.
    EXPECT_TRUE(r.error.find("denied") != std::string::npos ||
                r.error.find("Read-only") != std::string::npos ||
                r.error.find("not permitted") != std::string::npos)
        << r.error;
  }
  ActionResult bad = Act("drop_caches", {{"value", 4}}, limits);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("params.value"), std::string::npos) << bad.error;
}

TEST(CompactMemoryAction, FailsHonestlyWhenTheFileIsMissing) {
  TempDir dir;
  ActionLimits limits;
  limits.vm_sysctl_dir = dir.path();
  ActionResult r = Act("compact_memory", json::object(), limits);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("No such file or directory"), std::string::npos) << r.error;
  WriteFile(dir.File("compact_memory"), "");
  ActionResult ok = Act("compact_memory", json::object(), limits);
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ReadFile(dir.File("compact_memory")), "1");
}

TEST(TrimMemoryAction, ReportsRssBeforeAndAfter) {
  // Leave some freed heap behind.
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(std::malloc(4096));
  for (void* b : blocks) std::free(b);
  ActionLimits limits;
  ActionResult r = Act("trim_memory", json::object(), limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_GT(r.details["rss_before_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(r.details["rss_after_bytes"].get<uint64_t>(), 0u);
  EXPECT_LE(r.details["rss_after_bytes"].get<uint64_t>(),
            r.details["rss_before_bytes"].get<uint64_t>() + (1 << 20));
  EXPECT_NE(r.summary.find("RSS"), std::string::npos);
}

TEST(DiagnoseAction, FindsACpuHogAndTheAlertSeries) {
  Subprocess hog({"/bin/sh", "-c", "while :; do :; done"});
  store::SeriesStore store(store::StoreOptions{});
  ManualClock clock(1'700'000'000'000);
  auto disk = store.Resolve("echomon_disk_used_percent", {{"mount", "/data"}});
  auto other = store.Resolve("echomon_disk_used_percent", {{"mount", "/"}});
  auto queue = store.Resolve("echomon_engine_requests_waiting", {{"engine", "vllm"}});
  for (int i = 0; i < 5; ++i) {
    int64_t t = clock.NowMillis() - (5 - i) * 1000;
    ASSERT_TRUE(store.Append(disk, t, 90 + i).ok());
    ASSERT_TRUE(store.Append(other, t, 10).ok());
    ASSERT_TRUE(store.Append(queue, t, 7).ok());
  }
  ActionLimits limits;
  ActionContext ctx;
  ctx.store = &store;
  ctx.clock = &clock;
  ctx.alertname = "DiskFull";
  ctx.labels = {{"mount", "/data"}, {"metric", "echomon_disk_used_percent"}};
  ActionResult r =
      testing::Act("diagnose", {{"sample", "300ms"}, {"top", 5}}, limits, false, 10'000, ctx);
  ASSERT_TRUE(r.ok) << r.error;
  bool found = false;
  for (const auto& p : r.details["top_cpu"]) found = found || p["pid"].get<int>() == hog.pid();
  EXPECT_TRUE(found) << r.details["top_cpu"].dump();
  EXPECT_EQ(r.details["top_memory"].size(), 5u);
  ASSERT_EQ(r.details["series"].size(), 1u) << r.details["series"].dump();
  EXPECT_EQ(r.details["series"][0]["labels"]["mount"], "/data");
  EXPECT_EQ(r.details["series"][0]["points"].size(), 5u);
  EXPECT_EQ(r.details["series"][0]["points"][4][1].get<double>(), 94.0);
  ASSERT_EQ(r.details["engine"].size(), 1u);
  EXPECT_EQ(r.details["engine"][0]["metric"], "echomon_engine_requests_waiting");
  EXPECT_EQ(r.details["engine"][0]["value"].get<double>(), 7.0);
  EXPECT_TRUE(r.details.contains("gpu_processes"));
}

TEST(DiagnoseAction, ExplicitMetricsAndSinceStartShares) {
  store::SeriesStore store(store::StoreOptions{});
  ManualClock clock(1'700'000'000'000);
  auto a = store.Resolve("echomon_cpu_usage_percent", {});
  ASSERT_TRUE(store.Append(a, clock.NowMillis() - 1000, 55).ok());
  ActionLimits limits;
  ActionContext ctx;
  ctx.store = &store;
  ctx.clock = &clock;
  ActionResult r = testing::Act(
      "diagnose", {{"sample", 0}, {"metrics", {"echomon_cpu_usage_percent"}}, {"gpu", false}},
      limits, false, 10'000, ctx);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.details["cpu_basis"], "average since each process started");
  ASSERT_EQ(r.details["series"].size(), 1u);
  EXPECT_FALSE(r.details.contains("gpu_processes"));
  EXPECT_FALSE(r.details["top_cpu"].empty());
}

// On a host with an NVIDIA GPU: a process holding a CUDA context shows up in gpu_processes.
TEST(DiagnoseAction, ListsGpuProcessesWhenNvidiaSmiExists) {
  std::string out, err;
  if (echomon::testing::RunCommand({"/bin/sh", "-c", "command -v nvidia-smi"}, &out, &err) != 0) {
    GTEST_SKIP() << "nvidia-smi is not installed";
  }
  if (echomon::testing::RunCommand({"/bin/sh", "-c", "command -v python3"}, &out, &err) != 0) {
    GTEST_SKIP() << "python3 is needed to hold a CUDA context";
  }
  Subprocess gpu({"python3", "-c",
                  "import ctypes,sys,time\n"
                  "c=ctypes.CDLL('libcuda.so.1')\n"
                  "assert c.cuInit(0)==0\n"
                  "ctx=ctypes.c_void_p()\n"
                  "assert c.cuCtxCreate_v2(ctypes.byref(ctx),0,0)==0\n"
                  "print('ready',flush=True)\n"
                  "time.sleep(30)\n"});
  ASSERT_TRUE(
      testing::WaitFor([&] { return gpu.Stdout().find("ready") != std::string::npos; }, 15'000))
      << gpu.Stderr();
  ActionLimits limits;
  json procs;
  bool found = testing::WaitFor(
      [&] {
        ActionResult r = testing::Act("diagnose", {{"sample", 0}}, limits);
        procs = r.details["gpu_processes"];
        if (!procs.is_array()) return false;
        for (const auto& p : procs) {
          if (p["pid"].get<int>() == gpu.pid()) return true;
        }
        return false;
      },
      10'000);
  EXPECT_TRUE(found) << procs.dump();
  if (found) {
    for (const auto& p : procs) {
      if (p["pid"].get<int>() == gpu.pid()) {
        EXPECT_GT(p["used_memory_mib"].get<double>(), 0.0) << p.dump();
        EXPECT_FALSE(p["gpu_uuid"].get<std::string>().empty());
      }
    }
  }
}

}  // namespace
}  // namespace echomon::respond
