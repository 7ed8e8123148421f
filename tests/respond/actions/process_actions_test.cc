// signal, renice and cpu_limit against real child processes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "respond/actions/action_test_util.h"

namespace echomon::respond {
namespace {

using echomon::testing::Subprocess;
using echomon::testing::TempDir;
using echomon::testing::WriteFile;
using testing::Act;
using testing::Alive;
using testing::json;

int NiceOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 19; ++i) rest >> field;
  return std::atoi(field.c_str());
}

// A copy of sleep under a name no other process on the host has.
std::string UniqueSleep(const TempDir& dir) {
  std::string path = dir.File("echomon-sleep-" + std::to_string(::getpid()));
  std::filesystem::copy_file("/bin/sleep", path);
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(SignalAction, SignalsTheProcessInAPidFile) {
  TempDir dir;
  Subprocess child({"sleep", "60"});
  WriteFile(dir.File("app.pid"), std::to_string(child.pid()) + "\n");
  ActionLimits limits;
  ActionResult r = Act("signal", {{"pid_file", dir.File("app.pid")}, {"signal", "TERM"}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.pids, std::vector<int>{child.pid()});
  EXPECT_EQ(child.Wait(5000), 128 + SIGTERM);
}

TEST(SignalAction, SignalsProcessesByExecutableName) {
  TempDir dir;
  std::string sleep = UniqueSleep(dir);
  Subprocess a({sleep, "60"});
  Subprocess b({sleep, "60"});
  Subprocess other({"sleep", "60"});
  std::string name = std::filesystem::path(sleep).filename();
  ActionLimits limits;
  ASSERT_TRUE(testing::WaitFor([&] {
    return Act("signal", {{"process", name}}, limits, true).pids.size() == 2;
  }));
  ActionResult r = Act("signal", {{"process", name}, {"signal", "KILL"}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.pids.size(), 2u);
  EXPECT_EQ(a.Wait(5000), 128 + SIGKILL);
  EXPECT_EQ(b.Wait(5000), 128 + SIGKILL);
  EXPECT_TRUE(Alive(other.pid()));
}

TEST(SignalAction, NeverSignalsInitOrTheAgent) {
  TempDir dir;
  ActionLimits limits;
  WriteFile(dir.File("self.pid"), std::to_string(::getpid()));
  ActionResult self =
      Act("signal", {{"pid_file", dir.File("self.pid")}, {"signal", "KILL"}}, limits);
  EXPECT_FALSE(self.ok);
  EXPECT_NE(self.error.find("no process matched"), std::string::npos) << self.error;
  WriteFile(dir.File("init.pid"), "1");
  ActionResult init =
      Act("signal", {{"pid_file", dir.File("init.pid")}, {"signal", "KILL"}}, limits);
  EXPECT_FALSE(init.ok);
  // pid: 1 is refused by validation.
  ActionResult one = Act("signal", {{"pid", 1}}, limits);
  EXPECT_FALSE(one.ok);
  EXPECT_NE(one.error.find("params.pid"), std::string::npos) << one.error;
}

TEST(SignalAction, DryRunSignalsNothing) {
  Subprocess child({"sleep", "60"});
  ActionLimits limits;
  ActionResult r = Act("signal", {{"pid", child.pid()}, {"signal", "KILL"}}, limits, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.summary.find("would send SIGKILL"), std::string::npos) << r.summary;
  EXPECT_EQ(child.Wait(200), -1);
  EXPECT_TRUE(Alive(child.pid()));
}

TEST(SignalAction, BadPidFileIsAnHonestError) {
  TempDir dir;
  WriteFile(dir.File("bad.pid"), "not a pid");
  ActionLimits limits;
  ActionResult r = Act("signal", {{"pid_file", dir.File("bad.pid")}}, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("does not hold a process id"), std::string::npos) << r.error;
  ActionResult missing = Act("signal", {{"pid_file", dir.File("missing.pid")}}, limits);
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.error.find("No such file"), std::string::npos) << missing.error;
}

TEST(SignalAction, SignalsTheProcessesOfACgroup) {
  // A cgroup is read through its cgroup.procs file; a directory with such a file stands in for
  // one, with real processes listed in it.
  TempDir root;
  Subprocess a({"sleep", "60"});
  Subprocess b({"sleep", "60"});
  ::mkdir(root.File("job").c_str(), 0755);
  WriteFile(root.File("job/cgroup.procs"),
            std::to_string(a.pid()) + "\n" + std::to_string(::getpid()) + "\n1\n");
  ActionLimits limits;
  limits.cgroup_root = root.path();
  ActionResult r = Act("signal", {{"cgroup", "job"}, {"signal", "TERM"}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.pids, std::vector<int>{a.pid()});  // never the agent, never init
  EXPECT_EQ(a.Wait(5000), 128 + SIGTERM);
  EXPECT_TRUE(Alive(b.pid()));
  ActionResult escape = Act("signal", {{"cgroup", "../x"}}, limits);
  EXPECT_FALSE(escape.ok);
}

TEST(ReniceAction, ChangesTheNiceValueOfTheProcess) {
  Subprocess child({"sleep", "60"});
  ASSERT_EQ(NiceOf(child.pid()), NiceOf(::getpid()));
  ActionLimits limits;
  ActionResult r = Act("renice", {{"pid", child.pid()}, {"nice", 15}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.pids, std::vector<int>{child.pid()});
  EXPECT_EQ(NiceOf(child.pid()), 15);
  EXPECT_NE(r.summary.find("reniced 1 process"), std::string::npos) << r.summary;
}

TEST(ReniceAction, RenicesEveryMatchingProcessByName) {
  TempDir dir;
  std::string sleep = UniqueSleep(dir);
  Subprocess a({sleep, "60"});
  ActionLimits limits;
  std::string name = std::filesystem::path(sleep).filename();
  ASSERT_TRUE(testing::WaitFor([&] {
    return Act("renice", {{"process", name}}, limits, true).pids.size() == 1;
  }));
  ActionResult dry = Act("renice", {{"process", name}, {"nice", 12}}, limits, true);
  EXPECT_EQ(NiceOf(a.pid()), NiceOf(::getpid()));  // the dry run changed nothing
  ActionResult r = Act("renice", {{"process", name}, {"nice", 12}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(NiceOf(a.pid()), 12);
}

// A writable cgroup v2 directory with the cpu controller, or "" and the reason.
std::string WritableCpuCgroupRoot(std::string* why) {
  std::ifstream mounts("/proc/mounts");
  std::string dev, mnt, type, rest;
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    if (type != "cgroup2") continue;
    std::ifstream subtree(mnt + "/cgroup.subtree_control");
    std::string controllers((std::istreambuf_iterator<char>(subtree)), {});
    if (controllers.find("cpu") == std::string::npos) {
      *why = "cgroup v2 at " + mnt + " has no cpu controller in cgroup.subtree_control";
      continue;
    }
    if (::access(mnt.c_str(), W_OK) != 0) {
      *why = "cgroup v2 at " + mnt + " is not writable";
      continue;
    }
    return mnt;
  }
  if (why->empty()) *why = "no cgroup v2 mount";
  return {};
}

TEST(CpuLimitAction, SetsCpuMaxAndMovesTheProcess) {
  std::string why;
  std::string root = WritableCpuCgroupRoot(&why);
  if (root.empty()) GTEST_SKIP() << why;
  Subprocess child({"sleep", "60"});
  ActionLimits limits;
  limits.cgroup_root = root;
  std::string name = "echomon-test-" + std::to_string(::getpid());
  ActionResult r =
      Act("cpu_limit", {{"cgroup", name}, {"create", true}, {"cpus", 0.25}, {"pid", child.pid()}},
          limits);
  ASSERT_TRUE(r.ok) << r.error;
  std::ifstream max(root + "/" + name + "/cpu.max");
  std::string quota, period;
  max >> quota >> period;
  EXPECT_EQ(quota, "25000");
  EXPECT_EQ(period, "100000");
  std::ifstream procs(root + "/" + name + "/cgroup.procs");
  std::string pid;
  procs >> pid;
  EXPECT_EQ(pid, std::to_string(child.pid()));
  child.Signal(SIGKILL);
  child.Wait(5000);
  ::rmdir((root + "/" + name).c_str());
}

TEST(CpuLimitAction, FailsHonestlyWithoutACpuController) {
  TempDir dir;  // a plain directory is no cgroup: no cpu.max
  ::mkdir(dir.File("grp").c_str(), 0755);
  ActionLimits limits;
  limits.cgroup_root = dir.path();
  ActionResult r = Act("cpu_limit", {{"cgroup", "grp"}, {"cpus", 0.5}}, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("no cpu.max"), std::string::npos) << r.error;
  ActionResult escape = Act("cpu_limit", {{"cgroup", "../x"}, {"cpus", 0.5}}, limits);
  EXPECT_FALSE(escape.ok);
  EXPECT_NE(escape.error.find("params.cgroup"), std::string::npos) << escape.error;
  ActionResult outside = Act("cpu_limit", {{"cgroup", "/etc"}, {"cpus", 0.5}}, limits);
  EXPECT_FALSE(outside.ok);
  EXPECT_NE(outside.error.find("outside the cgroup root"), std::string::npos) << outside.error;
}

}  // namespace
}  // namespace echomon::respond
