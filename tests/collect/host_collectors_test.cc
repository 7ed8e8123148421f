// The host collectors against captured /proc trees (tests/data/proc): exact values, computed by
// hand from the checked-in files.
#include "collect/host_collectors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "collect/collector.h"
#include "core/labels.h"
#include "core/log.h"
#include "test_util.h"

namespace echomon::collect {
namespace {

namespace fs = std::filesystem;
using core::Labels;
using core::SampleBatch;
using testing::CountSamples;
using testing::FindSample;
using testing::ProcTree;

const double kTick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
const double kPage = static_cast<double>(::sysconf(_SC_PAGESIZE));
constexpr double kEps = 1e-9;

HostOptions Options(const std::string& root) {
  HostOptions o;
  o.proc_root = root;
  return o;
}

// A writable copy of a captured tree, for ticks that change or remove files.
class TempProcTree {
 public:
  explicit TempProcTree(std::string_view captured) {
    std::string templ = ::testing::TempDir() + "/echomon_proc_XXXXXX";
    root_ = ::mkdtemp(templ.data()) ? templ : "";
    EXPECT_FALSE(root_.empty());
    fs::copy(ProcTree(captured), root_, fs::copy_options::recursive);
  }
  ~TempProcTree() { fs::remove_all(root_); }
  const std::string& root() const { return root_; }
  void CopyFrom(std::string_view captured, const std::string& file) {
    fs::copy_file(ProcTree(captured) + "/" + file, root_ + "/" + file,
                  fs::copy_options::overwrite_existing);
  }
  void Remove(const std::string& file) { fs::remove(root_ + "/" + file); }

 private:
  std::string root_;
};

TEST(CpuCollector, FirstTickHasCountersButNoUtilisation) {
  auto cpu = MakeCpuCollector(Options(ProcTree("debian12-a")));
  SampleBatch out;
  ASSERT_TRUE(cpu->Collect(out).ok());
  EXPECT_EQ(CountSamples(out, "echomon_cpu_utilization_percent"), 0u);
  EXPECT_EQ(CountSamples(out, "echomon_cpu_usage_percent"), 0u);
  EXPECT_EQ(CountSamples(out, "echomon_cpu_seconds_total"), 3u * 8);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_cpu_seconds_total", {"cpu", "total"}, {"mode", "user"}),
              2125 * kTick, kEps);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_cpu_seconds_total", {"cpu", "1"}, {"mode", "iowait"}),
              305 * kTick, kEps);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_cpus_online"), 2);
  const core::Sample* s =
      FindSample(out, "echomon_cpu_seconds_total", Labels{{"cpu", "0"}, {"mode", "steal"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, core::MetricType::kCounter);
  EXPECT_FALSE(s->help.empty());
}

TEST(CpuCollector, UtilisationFromDeltaBetweenCapturedTicks) {
  TempProcTree tree("debian12-a");
  auto cpu = MakeCpuCollector(Options(tree.root()));
  SampleBatch out;
  ASSERT_TRUE(cpu->Collect(out).ok());
  tree.CopyFrom("debian12-b", "stat");
  out.clear();
  ASSERT_TRUE(cpu->Collect(out).ok());
  // total: user 2125->2176 (+51), system 1369->1370 (+1), idle 426128->426281 (+153), rest +0.
  auto util = [&](const char* cpu_name, const char* mode) {
    return ECHOMON_VALUE(out, "echomon_cpu_utilization_percent", {"cpu", cpu_name}, {"mode", mode});
  };
  EXPECT_NEAR(util("total", "user"), 51 * 100.0 / 205, kEps);
  EXPECT_NEAR(util("total", "system"), 1 * 100.0 / 205, kEps);
  EXPECT_NEAR(util("total", "idle"), 153 * 100.0 / 205, kEps);
  EXPECT_NEAR(util("total", "iowait"), 0, kEps);
  EXPECT_NEAR(util("total", "steal"), 0, kEps);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_cpu_usage_percent", {"cpu", "total"}), 52 * 100.0 / 205,
              kEps);
  // cpu0: user +50, idle +52; cpu1: system +1, idle +100.
  EXPECT_NEAR(util("0", "user"), 50 * 100.0 / 102, kEps);
  EXPECT_NEAR(util("0", "idle"), 52 * 100.0 / 102, kEps);
  EXPECT_NEAR(util("1", "system"), 1 * 100.0 / 101, kEps);
  EXPECT_NEAR(util("1", "user"), 0, kEps);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_cpu_usage_percent", {"cpu", "1"}), 1 * 100.0 / 101, kEps);
}

TEST(CpuCollector, OldKernelOfflineCpuAndBackwardsIowait) {
  TempProcTree tree("synthetic-old-kernel");
  auto cpu = MakeCpuCollector(Options(tree.root()));
  SampleBatch out;
  ASSERT_TRUE(cpu->Collect(out).ok());
  tree.CopyFrom("synthetic-old-kernel-b", "stat");
  out.clear();
  ASSERT_TRUE(cpu->Collect(out).ok());
  // total: user +150, system +50, idle +250, iowait 100->90 clamped to 0: 450 ticks.
  EXPECT_NEAR(
      ECHOMON_VALUE(out, "echomon_cpu_utilization_percent", {"cpu", "total"}, {"mode", "user"}),
      150 * 100.0 / 450, kEps);
  EXPECT_NEAR(
      ECHOMON_VALUE(out, "echomon_cpu_utilization_percent", {"cpu", "total"}, {"mode", "iowait"}),
      0, kEps);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_cpu_usage_percent", {"cpu", "total"}), 200 * 100.0 / 450,
              kEps);
  // cpu2: user +50, system +20, idle +200 = 270.
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_cpu_utilization_percent", {"cpu", "2"}, {"mode", "idle"}),
              200 * 100.0 / 270, kEps);
  for (const core::Sample& s : out) {
    EXPECT_EQ(s.labels.Get("cpu") && *s.labels.Get("cpu") == "1", false) << "offline cpu1";
  }
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_cpus_online"), 2);
}

TEST(CpuCollector, PerCoreCanBeDisabled) {
  HostOptions o = Options(ProcTree("debian12-a"));
  o.per_core = false;
  auto cpu = MakeCpuCollector(o);
  SampleBatch out;
  ASSERT_TRUE(cpu->Collect(out).ok());
  EXPECT_EQ(CountSamples(out, "echomon_cpu_seconds_total"), 8u);
}

TEST(LoadCollector, ReadsLoadAverages) {
  auto load = MakeLoadCollector(Options(ProcTree("synthetic-old-kernel")));
  SampleBatch out;
  ASSERT_TRUE(load->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_load1"), 2.5);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_load5"), 1.25);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_load15"), 0.75);
}

TEST(PressureCollector, ReadsEveryResourceThatExists) {
  auto pressure = MakePressureCollector(Options(ProcTree("debian12-a")));
  SampleBatch out;
  ASSERT_TRUE(pressure->Collect(out).ok());
  // cpu, memory, io captured (no irq file): 2 kinds x (3 windows + total) each.
  EXPECT_EQ(out.size(), 3u * 2 * 4);
  EXPECT_DOUBLE_EQ(ECHOMON_VALUE(out, "echomon_pressure_stall_percent", {"resource", "cpu"},
                                 {"kind", "some"}, {"window", "300s"}),
                   0.03);
  EXPECT_DOUBLE_EQ(ECHOMON_VALUE(out, "echomon_pressure_stall_percent", {"resource", "io"},
                                 {"kind", "full"}, {"window", "60s"}),
                   0.01);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_pressure_stall_seconds_total", {"resource", "io"},
                            {"kind", "some"}),
              2.878271, 1e-12);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_pressure_stall_seconds_total", {"resource", "memory"},
                          {"kind", "full"}),
            0);
  EXPECT_EQ(CountSamples(out, "echomon_pressure_stall_seconds_total"), 6u);
}

TEST(PressureCollector, KernelWithoutPsiEmitsNothingAndIsNotAnError) {
  auto pressure = MakePressureCollector(Options(ProcTree("synthetic-old-kernel")));
  SampleBatch out;
  EXPECT_TRUE(pressure->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(MemoryCollector, CapturedMeminfo) {
  auto memory = MakeMemoryCollector(Options(ProcTree("debian12-a")));
  SampleBatch out;
  ASSERT_TRUE(memory->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_total_bytes"), 24684084.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_available_bytes"), 24436680.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_free_bytes"), 24519940.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_buffers_bytes"), 2268.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_cached_bytes"), 32100.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_shared_bytes"), 8872.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_used_bytes"), (24684084.0 - 24436680) * 1024);
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_memory_used_percent"),
              (24684084.0 - 24436680) * 100 / 24684084, kEps);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_swap_total_bytes"), 0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_swap_used_percent"), 0);
}

TEST(MemoryCollector, EstimatesAvailableOnOldKernels) {
  auto memory = MakeMemoryCollector(Options(ProcTree("synthetic-old-kernel")));
  SampleBatch out;
  ASSERT_TRUE(memory->Collect(out).ok());
  // No MemAvailable: free 512000 + buffers 128000 + cached 256000 = 896000 kB.
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_available_bytes"), 896000.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_memory_used_percent"), 56.25);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_swap_used_bytes"), 256000.0 * 1024);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_swap_used_percent"), 25);
  EXPECT_EQ(FindSample(out, "echomon_memory_shared_bytes"), nullptr);
}

TEST(VmstatCollector, CountersPresentInTheKernel) {
  auto vmstat = MakeVmstatCollector(Options(ProcTree("debian12-a")));
  SampleBatch out;
  ASSERT_TRUE(vmstat->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_vmstat_page_faults_total"), 1374604);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_vmstat_major_page_faults_total"), 1170);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_vmstat_swap_in_pages_total"), 0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_vmstat_oom_kills_total"), 0);

  auto old = MakeVmstatCollector(Options(ProcTree("synthetic-old-kernel")));
  out.clear();
  ASSERT_TRUE(old->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_vmstat_swap_out_pages_total"), 22);
  EXPECT_EQ(FindSample(out, "echomon_vmstat_oom_kills_total"), nullptr);
}

TEST(ProcessesCollector, CapturedCounts) {
  auto processes = MakeProcessesCollector(Options(ProcTree("debian12-a")));
  SampleBatch out;
  ASSERT_TRUE(processes->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_processes_running"), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_processes_blocked"), 0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_forks_total"), 4074);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_context_switches_total"), 296768);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_interrupts_total"), 144325);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_threads"), 83);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_processes"), 3);  // dirs 1, 2, 731

  auto old = MakeProcessesCollector(Options(ProcTree("synthetic-old-kernel")));
  out.clear();
  ASSERT_TRUE(old->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_processes"), 2);  // 1, 17; not "sys", "self", "net"
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_threads"), 120);
  EXPECT_EQ(FindSample(out, "echomon_processes_blocked"), nullptr);
}

TEST(DiskstatsCollector, SkipsLoopRamAndPartitions) {
  auto disks = MakeDiskstatsCollector(Options(ProcTree("synthetic-old-kernel")));
  SampleBatch out;
  ASSERT_TRUE(disks->Collect(out).ok());
  std::set<std::string> devices;
  for (const core::Sample& s : out) devices.insert(*s.labels.Get("device"));
  EXPECT_EQ(devices, (std::set<std::string>{"sda", "nvme0n1", "dm-0", "md0", "mmcblk0"}));
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_read_bytes_total", {"device", "nvme0n1"}),
            64000.0 * 512);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_written_bytes_total", {"device", "nvme0n1"}),
            128000.0 * 512);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_io_time_seconds_total", {"device", "nvme0n1"}), 3.0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_io_now", {"device", "nvme0n1"}), 2);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_reads_completed_total", {"device", "sda"}), 100);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_read_time_seconds_total", {"device", "sda"}), 0.3);

  auto debian = MakeDiskstatsCollector(Options(ProcTree("debian12-a")));
  out.clear();
  ASSERT_TRUE(debian->Collect(out).ok());
  EXPECT_EQ(out.size(), 8u);  // only vda: loop0-7 and zram0 are skipped
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_read_bytes_total", {"device", "vda"}),
            2691538.0 * 512);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_disk_writes_completed_total", {"device", "vda"}), 5122);
}

TEST(DiskstatsCollector, IgnoredDeviceNames) {
  for (const char* name : {"loop0", "loop12", "ram3", "zram0", "fd0", "sda1", "hdb2", "vda15",
                           "xvdf3", "sdaa12", "nvme0n1p1", "nvme12n3p45", "mmcblk0p2"}) {
    EXPECT_TRUE(IsIgnoredBlockDevice(name)) << name;
  }
  for (const char* name : {"sda", "vda", "xvdf", "nvme0n1", "nvme1c1n1", "mmcblk0", "dm-0", "md127",
                           "sr0", "loop", "rbd0", "nbd0"}) {
    EXPECT_FALSE(IsIgnoredBlockDevice(name)) << name;
  }
}

TEST(NetworkCollector, CountersAndExclusion) {
  HostOptions o = Options(ProcTree("synthetic-old-kernel"));
  o.exclude_interfaces = {"lo"};
  auto net = MakeNetworkCollector(o);
  SampleBatch out;
  ASSERT_TRUE(net->Collect(out).ok());
  EXPECT_EQ(out.size(), 3u * 8);  // eth0, veth1a2b3c, br-0a1b.10
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_network_receive_bytes_total", {"interface", "eth0"}),
            1234567);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_network_receive_drops_total", {"interface", "eth0"}), 2);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_network_transmit_bytes_total", {"interface", "eth0"}),
            7654321);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_network_transmit_drops_total", {"interface", "br-0a1b.10"}),
            12);
  EXPECT_EQ(
      ECHOMON_VALUE(out, "echomon_network_receive_packets_total", {"interface", "veth1a2b3c"}), 20);
  EXPECT_EQ(FindSample(out, "echomon_network_receive_bytes_total", {{"interface", "lo"}}), nullptr);
}

// A fake statvfs: fixed figures per path, ENOENT for the rest.
class FakeFs {
 public:
  void Set(const std::string& path, FsUsage usage) { fs_[path] = usage; }
  FsStatFn Fn() {
    return [this](const std::string& path, FsUsage* out) {
      calls_.push_back(path);
      auto it = fs_.find(path);
      if (it == fs_.end()) return Status::NotFound(path);
      *out = it->second;
      return Status::Ok();
    };
  }
  std::vector<std::string> calls_;

 private:
  std::map<std::string, FsUsage> fs_;
};

TEST(FilesystemCollector, SkipsPseudoAndDuplicateMountsAndCountsUnavailable) {
  FakeFs fake;
  for (const char* m : {"/", "/dev/shm", "/run", "/data", "/var/lib/docker/overlay2/abc/merged",
                        "/mnt/my disk", "/mnt/nfs", "/mnt/over"}) {
    fake.Set(std::string("/host") + m, FsUsage{1000, 400, 300, 50, 20, false});
  }
  HostOptions o = Options(ProcTree("synthetic-old-kernel"));
  o.rootfs = "/host";
  o.fs_stat = fake.Fn();
  auto fs = MakeFilesystemCollector(o);
  SampleBatch out;
  ASSERT_TRUE(fs->Collect(out).ok());
  std::vector<std::string> measured;
  for (const core::Sample& s : out) {
    if (s.name == "echomon_filesystem_size_bytes") {
      measured.push_back(*s.labels.Get("mount") + " " + *s.labels.Get("device") + " " +
                         *s.labels.Get("fstype"));
    }
  }
  EXPECT_EQ(measured, (std::vector<std::string>{
                          "/ /dev/sda1 ext4",
                          "/dev/shm tmpfs tmpfs",
                          "/run tmpfs tmpfs",
                          "/data /dev/nvme0n1 xfs",
                          "/var/lib/docker/overlay2/abc/merged overlay overlay",
                          "/mnt/my disk /dev/sdb1 ext4",
                          "/mnt/nfs nfs.example:/export nfs4",
                          "/mnt/over /dev/sdd1 ext4",
                      }));
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_unavailable_mounts"), 1);  // /mnt/gone
  Labels root{{"mount", "/"}, {"device", "/dev/sda1"}, {"fstype", "ext4"}};
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_size_bytes", {"mount", "/"},
                          {"device", "/dev/sda1"}, {"fstype", "ext4"}),
            1000);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_avail_bytes", {"mount", "/"},
                          {"device", "/dev/sda1"}, {"fstype", "ext4"}),
            300);
  // used = 1000 - 400 = 600; df's percentage: 600 / (600 + 300).
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_filesystem_usage_percent", {"mount", "/"},
                            {"device", "/dev/sda1"}, {"fstype", "ext4"}),
              600 * 100.0 / 900, kEps);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_files_free", {"mount", "/"},
                          {"device", "/dev/sda1"}, {"fstype", "ext4"}),
            20);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_readonly", {"mount", "/mnt/my disk"},
                          {"device", "/dev/sdb1"}, {"fstype", "ext4"}),
            1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_readonly", {"mount", "/"},
                          {"device", "/dev/sda1"}, {"fstype", "ext4"}),
            0);
  // The mount list is parsed once and reused while unchanged.
  out.clear();
  fake.calls_.clear();
  ASSERT_TRUE(fs->Collect(out).ok());
  EXPECT_EQ(fake.calls_.size(), 9u);
  EXPECT_EQ(CountSamples(out, "echomon_filesystem_usage_percent"), 8u);
}

TEST(FilesystemCollector, CustomExcludeListReplacesTheDefault) {
  FakeFs fake;
  HostOptions o = Options(ProcTree("synthetic-old-kernel"));
  o.exclude_fs_types = {"tmpfs", "overlay"};
  o.fs_stat = fake.Fn();
  auto fs = MakeFilesystemCollector(o);
  SampleBatch out;
  ASSERT_TRUE(fs->Collect(out).ok());
  std::set<std::string> measured(fake.calls_.begin(), fake.calls_.end());
  EXPECT_EQ(measured.count("/dev/shm"), 0u);
  EXPECT_EQ(measured.count("/var/lib/docker/overlay2/abc/merged"), 0u);
  EXPECT_EQ(measured.count("/dev/pts"), 1u);      // devpts is only in the default list
  EXPECT_EQ(measured.count("/snap/core/1"), 1u);  // so is squashfs
  EXPECT_EQ(measured.count("/proc"), 0u);         // under /proc: always skipped
}

TEST(PressureCollector, MalformedFileIsAnErrorButOtherResourcesAreEmitted) {
  TempProcTree tree("debian12-a");
  { std::ofstream(tree.root() + "/pressure/memory") << "garbage\n"; }
  auto pressure = MakePressureCollector(Options(tree.root()));
  SampleBatch out;
  Status status = pressure->Collect(out);
  EXPECT_EQ(status.code(), StatusCode::kParseError);
  EXPECT_NE(status.message().find("pressure/memory"), std::string::npos);
  EXPECT_EQ(out.size(), 2u * 2 * 4);  // cpu and io
}

TEST(FilesystemCollector, CapturedDebianMounts) {
  FakeFs fake;
  HostOptions o = Options(ProcTree("debian12-a"));
  o.fs_stat = fake.Fn();
  auto fs = MakeFilesystemCollector(o);
  SampleBatch out;
  ASSERT_TRUE(fs->Collect(out).ok());
  // Nothing exists in the fake: every real mount is counted unavailable, none emitted.
  // /dev/shm is listed twice: the later entry is kept, so it comes after /run.
  EXPECT_EQ(fake.calls_, (std::vector<std::string>{"/", "/run", "/dev/shm"}));
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_filesystem_unavailable_mounts"), 3);
  EXPECT_EQ(out.size(), 1u);
}

TEST(FilesystemCollector, FallsBackToProcMounts) {
  TempProcTree tree("synthetic-old-kernel");
  fs::rename(tree.root() + "/self/mounts", tree.root() + "/mounts");
  FakeFs fake;
  fake.Set("/", FsUsage{10, 5, 5, 1, 1, false});
  HostOptions o = Options(tree.root());
  o.fs_stat = fake.Fn();
  auto collector = MakeFilesystemCollector(o);
  SampleBatch out;
  ASSERT_TRUE(collector->Collect(out).ok());
  EXPECT_EQ(CountSamples(out, "echomon_filesystem_size_bytes"), 1u);
}

TEST(SelfCollector, CapturedSelf) {
  auto self = MakeSelfCollector(Options(ProcTree("synthetic-old-kernel")));
  SampleBatch out;
  ASSERT_TRUE(self->Collect(out).ok());
  EXPECT_NEAR(ECHOMON_VALUE(out, "echomon_self_cpu_seconds_total"), (250 + 125) * kTick, kEps);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_threads"), 7);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_resident_memory_bytes"), 2560 * kPage);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_virtual_memory_bytes"), 25600 * kPage);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_open_fds"), 3);

  auto debian = MakeSelfCollector(Options(ProcTree("debian12-a")));
  out.clear();
  ASSERT_TRUE(debian->Collect(out).ok());
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_resident_memory_bytes"), 440 * kPage);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_threads"), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_self_open_fds"), 4);
}

TEST(HostCollectors, VanishingFileFailsOnlyThatPartAndRecovers) {
  TempProcTree tree("debian12-a");
  auto self = MakeSelfCollector(Options(tree.root()));
  tree.Remove("self/statm");
  SampleBatch out;
  Status status = self->Collect(out);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("statm"), std::string::npos);
  EXPECT_EQ(FindSample(out, "echomon_self_resident_memory_bytes"), nullptr);
  EXPECT_NE(FindSample(out, "echomon_self_cpu_seconds_total"), nullptr);  // the rest is emitted
  EXPECT_NE(FindSample(out, "echomon_self_open_fds"), nullptr);
  // Logged once, keyed by collector and file: a second failing tick does not log again.
  const std::string key = "self:" + tree.root() + "/self/statm";
  out.clear();
  EXPECT_FALSE(self->Collect(out).ok());
  EXPECT_FALSE(core::WarnOnce(key, "probe"));  // already logged
  tree.CopyFrom("debian12-a", "self/statm");
  out.clear();
  EXPECT_TRUE(self->Collect(out).ok());
  EXPECT_NE(FindSample(out, "echomon_self_resident_memory_bytes"), nullptr);
  // Recovery reset the key, so the next failure would be logged again.
  EXPECT_TRUE(core::WarnOnce(key, "probe"));
  core::ResetOnce(key);
}

TEST(HostCollectors, VanishingFileThroughTheRunner) {
  TempProcTree tree("debian12-a");
  HostOptions o = Options(tree.root());
  FakeFs fake;
  fake.Set("/", FsUsage{10, 5, 5, 1, 1, false});
  o.fs_stat = fake.Fn();
  CollectorRunner runner(SystemClock::Get(), RunnerOptions{5000});
  for (auto& c : MakeHostCollectors(o)) runner.Add(std::move(c));
  SampleBatch out;
  runner.RunOnce(out);
  for (const CollectorHealth& h : runner.Health()) {
    EXPECT_TRUE(h.healthy) << h.name << ": " << h.last_error;
  }
  tree.Remove("net/dev");
  out.clear();
  runner.RunOnce(out);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "network"}), 0);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_errors_total", {"collector", "network"}), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "memory"}), 1);
  EXPECT_NE(FindSample(out, "echomon_memory_total_bytes"), nullptr);
  EXPECT_EQ(CountSamples(out, "echomon_network_receive_bytes_total"), 0u);
  // The second tick has CPU deltas (identical files: zero elapsed ticks, so none emitted).
  tree.CopyFrom("debian12-a", "net/dev");
  out.clear();
  runner.RunOnce(out);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_collector_up", {"collector", "network"}), 1);
  EXPECT_EQ(ECHOMON_VALUE(out, "echomon_network_receive_bytes_total", {"interface", "eth0"}),
            41405165);
  for (const CollectorHealth& h : runner.Health()) {
    EXPECT_TRUE(h.healthy) << h.name;
  }
}

TEST(HostCollectors, DefaultSetAndWellFormedSamples) {
  FakeFs fake;
  fake.Set("/", FsUsage{10, 5, 5, 1, 1, false});
  HostOptions o = Options(ProcTree("debian12-a"));
  o.fs_stat = fake.Fn();
  std::set<std::string> names;
  SampleBatch out;
  for (auto& c : MakeHostCollectors(o)) {
    names.insert(std::string(c->name()));
    EXPECT_TRUE(c->Collect(out).ok()) << c->name();
  }
  EXPECT_EQ(names, (std::set<std::string>{"cpu", "diskstats", "filesystem", "load", "memory",
                                          "network", "pressure", "processes", "self", "vmstat"}));
  for (const core::Sample& s : out) {
    EXPECT_TRUE(core::IsValidMetricName(s.name)) << s.name;
    EXPECT_FALSE(s.help.empty()) << s.name;
    bool total = s.name.size() > 6 && s.name.substr(s.name.size() - 6) == "_total";
    EXPECT_EQ(total, s.type == core::MetricType::kCounter) << s.name;
    for (const core::Label& l : s.labels.items()) {
      EXPECT_TRUE(core::IsValidLabelName(l.name)) << s.name << " " << l.name;
    }
  }
}

}  // namespace
}  // namespace echomon::collect
