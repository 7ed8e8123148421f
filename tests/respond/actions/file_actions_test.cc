// cleanup and rotate_logs on real files: what is freed, and that nothing outside the writable
// directories can be deleted (symlinks, "..", directories swapped for symlinks).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "respond/actions/action_test_util.h"

namespace echomon::respond {
namespace {

using echomon::testing::ReadFile;
using echomon::testing::TempDir;
using echomon::testing::WriteFile;
using testing::Act;
using testing::Age;
using testing::Exists;
using testing::json;
using testing::WriteBytes;

constexpr int64_t kDay = 24 * 3600;

class CleanupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logs_ = root_.File("logs");
    outside_ = root_.File("outside");
    std::filesystem::create_directories(logs_ + "/sub");
    std::filesystem::create_directories(outside_);
    limits_.writable_dirs = {logs_};
    // Precious files outside the writable directory, old enough to match.
    WriteFile(outside_ + "/precious.log", "keep me");
    Age(outside_ + "/precious.log", 10 * kDay);
  }
  TempDir root_;
  std::string logs_, outside_;
  ActionLimits limits_;
};

TEST_F(CleanupTest, DeletesOldMatchingFilesAndReportsBytes) {
  WriteBytes(logs_ + "/old.log", 1000);
  Age(logs_ + "/old.log", 3 * kDay);
  WriteBytes(logs_ + "/sub/older.log", 500);
  Age(logs_ + "/sub/older.log", 5 * kDay);
  WriteBytes(logs_ + "/new.log", 100);  // too young
  WriteBytes(logs_ + "/old.txt", 100);  // not matching
  Age(logs_ + "/old.txt", 3 * kDay);
  ActionResult r = Act("cleanup", {{"patterns", {"*.log"}}, {"min_age", "1d"}}, limits_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files_touched, 2u);
  EXPECT_EQ(r.bytes_freed, 1500u);
  EXPECT_FALSE(Exists(logs_ + "/old.log"));
  EXPECT_FALSE(Exists(logs_ + "/sub/older.log"));
  EXPECT_TRUE(Exists(logs_ + "/new.log"));
  EXPECT_TRUE(Exists(logs_ + "/old.txt"));
  EXPECT_NE(r.summary.find("deleted 2 file(s), 1.5 KiB"), std::string::npos) << r.summary;
}

TEST_F(CleanupTest, DryRunDeletesNothingAndSaysWhatItWould) {
  for (int i = 0; i < 3; ++i) {
    WriteBytes(logs_ + "/f" + std::to_string(i) + ".log", 2048);
    Age(logs_ + "/f" + std::to_string(i) + ".log", 2 * kDay);
  }
  ActionResult r = Act("cleanup", {{"patterns", {"*.log"}}}, limits_, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files_touched, 3u);
  EXPECT_EQ(r.bytes_freed, 3u * 2048);
  EXPECT_NE(r.summary.find("would delete 3 file(s), 6.0 KiB"), std::string::npos) << r.summary;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Exists(logs_ + "/f" + std::to_string(i) + ".log"));
}

TEST_F(CleanupTest, NeverFollowsASymlinkToAnOutsideDirectory) {
  std::filesystem::create_directory_symlink(outside_, logs_ + "/link");
  ActionResult r = Act("cleanup", {{"patterns", {"*.log", "*"}}, {"min_age", 0}}, limits_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(Exists(outside_ + "/precious.log"));
  EXPECT_TRUE(Exists(logs_ + "/link"));  // the link itself is not a regular file either
  // A dirs parameter through the link is refused too.
  ActionResult via =
      Act("cleanup", {{"dirs", {logs_ + "/link"}}, {"patterns", {"*"}}, {"min_age", 0}}, limits_);
  EXPECT_TRUE(Exists(outside_ + "/precious.log"));
  EXPECT_EQ(via.files_touched, 0u);
}

TEST_F(CleanupTest, NeverDeletesTheTargetOfASymlinkedFile) {
  ::symlink((outside_ + "/precious.log").c_str(), (logs_ + "/precious.log").c_str());
  ActionResult r = Act("cleanup", {{"patterns", {"*.log"}}, {"min_age", 0}}, limits_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files_touched, 0u);
  EXPECT_EQ(ReadFile(outside_ + "/precious.log"), "keep me");
}

TEST_F(CleanupTest, RefusesDotDotInPatternsAndDirs) {
  ActionResult r = Act("cleanup", {{"patterns", {"../outside/*.log"}}, {"min_age", 0}}, limits_);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("params.patterns[0]"), std::string::npos) << r.error;
  ActionResult d = Act(
      "cleanup", {{"dirs", {logs_ + "/../outside"}}, {"patterns", {"*"}}, {"min_age", 0}}, limits_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("params.dirs[0]"), std::string::npos) << d.error;
  ActionResult out =
      Act("cleanup", {{"dirs", {outside_}}, {"patterns", {"*"}}, {"min_age", 0}}, limits_);
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("outside the writable directories"), std::string::npos) << out.error;
  ActionResult abs = Act("cleanup", {{"patterns", {outside_ + "/*.log"}}}, limits_);
  EXPECT_FALSE(abs.ok);
  EXPECT_TRUE(Exists(outside_ + "/precious.log"));
}

TEST_F(CleanupTest, ADirectorySwappedForASymlinkIsNotFollowed) {
  // The operator allowed logs/sub; someone replaces it with a link to the outside directory.
  limits_.writable_dirs = {logs_};
  std::filesystem::remove_all(logs_ + "/sub");
  std::filesystem::create_directory_symlink(outside_, logs_ + "/sub");
  ActionResult r =
      Act("cleanup", {{"dirs", {logs_ + "/sub"}}, {"patterns", {"*"}}, {"min_age", 0}}, limits_);
  EXPECT_EQ(r.files_touched, 0u);
  EXPECT_TRUE(Exists(outside_ + "/precious.log"));
  ASSERT_TRUE(r.details.contains("skipped_dirs")) << r.details.dump();
  EXPECT_NE(r.details["skipped_dirs"].dump().find("symlink"), std::string::npos);
  // And the recursive walk from logs/ does not enter it.
  ActionResult walk = Act("cleanup", {{"patterns", {"*"}}, {"min_age", 0}}, limits_);
  EXPECT_TRUE(Exists(outside_ + "/precious.log"));
  EXPECT_EQ(walk.files_touched, 0u);
}

TEST_F(CleanupTest, DefaultDirectoriesAreTheWritableOnes) {
  WriteBytes(logs_ + "/a.log", 10);
  Age(logs_ + "/a.log", 2 * kDay);
  ActionResult r = Act("cleanup", {{"patterns", {"*.log"}}}, limits_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files_touched, 1u);
  ActionLimits none;
  ActionResult nothing = Act("cleanup", {{"patterns", {"*.log"}}}, none);
  EXPECT_FALSE(nothing.ok);
  EXPECT_NE(nothing.error.find("no writable_dirs"), std::string::npos) << nothing.error;
}

TEST_F(CleanupTest, MissingDirectoryIsSkippedNotAnError) {
  limits_.writable_dirs = {logs_, root_.File("reports")};
  ActionResult r = Act("cleanup", {{"patterns", {"*.json"}}}, limits_);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(Exists(root_.File("reports")));  // nothing is created
}

// target_usage_percent on a small tmpfs the test mounts (root only).
TEST(CleanupTarget, DeletesOldestFirstUntilUsageIsBelowTarget) {
  TempDir dir;
  std::string mnt = dir.File("fs");
  std::filesystem::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
  }
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  // 6 files of 512 KiB = 3 MiB of 4 MiB (75 %); oldest first: f0 .. f5.
  for (int i = 0; i < 6; ++i) {
    std::string f = mnt + "/f" + std::to_string(i) + ".log";
    WriteBytes(f, 512 * 1024);
    Age(f, (10 - i) * kDay);
  }
  ActionLimits limits;
  limits.writable_dirs = {mnt};
  ActionResult below =
      Act("cleanup", {{"patterns", {"*.log"}}, {"target_usage_percent", 90}}, limits);
  ASSERT_TRUE(below.ok) << below.error;
  EXPECT_EQ(below.files_touched, 0u);
  EXPECT_NE(below.summary.find("already below"), std::string::npos) << below.summary;

  ActionResult dry =
      Act("cleanup", {{"patterns", {"*.log"}}, {"target_usage_percent", 50}}, limits, true);
  ASSERT_TRUE(dry.ok) << dry.error;
  EXPECT_EQ(dry.files_touched, 3u) << dry.details.dump();
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(Exists(mnt + "/f" + std::to_string(i) + ".log"));

  ActionResult r = Act("cleanup", {{"patterns", {"*.log"}}, {"target_usage_percent", 50}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  // 3 MiB -> below 2 MiB needs 3 files gone (at exactly 50 % it is not below).
  EXPECT_EQ(r.files_touched, 3u) << r.details.dump();
  EXPECT_FALSE(Exists(mnt + "/f0.log"));
  EXPECT_FALSE(Exists(mnt + "/f1.log"));
  EXPECT_FALSE(Exists(mnt + "/f2.log"));
  EXPECT_TRUE(Exists(mnt + "/f3.log"));
  EXPECT_LT(r.details["usage_after_percent"].get<double>(), 50.0);
}

// ---- rotate_logs ----

std::string Gunzip(const std::string& path) {
  gzFile gz = ::gzopen(path.c_str(), "rb");
  if (gz == nullptr) return "<cannot open>";
  std::string out;
  char buf[8192];
  int n;
  while ((n = ::gzread(gz, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::gzclose(gz);
  return out;
}

TEST(RotateLogsAction, CompressesTruncatesAndKeepsN) {
  TempDir dir;
  ActionLimits limits;
  limits.writable_dirs = {dir.path()};
  std::string log = dir.File("agent.log");
  std::string contents[3];
  for (int round = 0; round < 3; ++round) {
    contents[round] = std::string(3000, static_cast<char>('a' + round)) + "\nround " +
                      std::to_string(round) + "\n";
    WriteFile(log, contents[round]);
    ActionResult r =
        Act("rotate_logs", {{"patterns", {"*.log"}}, {"max_size", 1000}, {"keep", 2}}, limits);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.files_touched, 1u);
    EXPECT_GT(r.bytes_freed, 0u);
    EXPECT_EQ(std::filesystem::file_size(log), 0u);
  }
  EXPECT_EQ(Gunzip(log + ".1.gz"), contents[2]);
  EXPECT_EQ(Gunzip(log + ".2.gz"), contents[1]);
  EXPECT_FALSE(Exists(log + ".3.gz"));
  // Small files are left alone, rotated copies are never rotated again.
  WriteFile(log, "small\n");
  ActionResult again =
      Act("rotate_logs", {{"patterns", {"*"}}, {"max_size", 1000}, {"keep", 2}}, limits);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.files_touched, 0u);
  EXPECT_EQ(ReadFile(log), "small\n");
}

TEST(RotateLogsAction, DryRunChangesNothingAndSymlinksAreSkipped) {
  TempDir dir;
  TempDir outside;
  ActionLimits limits;
  limits.writable_dirs = {dir.path()};
  std::string big(5000, 'z');
  WriteFile(dir.File("a.log"), big);
  WriteFile(outside.File("secret.log"), big);
  ::symlink(outside.File("secret.log").c_str(), dir.File("secret.log").c_str());
  ActionResult dry = Act("rotate_logs", {{"max_size", 1000}}, limits, true);
  ASSERT_TRUE(dry.ok) << dry.error;
  EXPECT_EQ(dry.files_touched, 1u);
  EXPECT_EQ(ReadFile(dir.File("a.log")), big);
  EXPECT_FALSE(Exists(dir.File("a.log.1.gz")));
  ActionResult r = Act("rotate_logs", {{"max_size", 1000}}, limits);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files_touched, 1u);
  EXPECT_EQ(ReadFile(outside.File("secret.log")), big);
  EXPECT_FALSE(Exists(outside.File("secret.log.1.gz")));
  EXPECT_FALSE(Exists(dir.File("secret.log.1.gz")));
}

// A hard link inside a writable directory to a file elsewhere: truncating the link would
// truncate the outside file, so rotate_logs skips it and says so.
TEST(RotateLogsAction, HardLinkedFilesAreNotTruncated) {
  TempDir dir;
  TempDir outside;
  ActionLimits limits;
  limits.writable_dirs = {dir.path()};
  std::string big(5000, 'z');
  WriteFile(outside.File("precious.db"), big);
  ASSERT_EQ(::link(outside.File("precious.db").c_str(), dir.File("linked.log").c_str()), 0)
      << std::strerror(errno);
  WriteFile(dir.File("own.log"), big);
  ActionResult dry = Act("rotate_logs", {{"max_size", 1000}}, limits, true);
  EXPECT_EQ(dry.files_touched, 1u);
  ActionResult r = Act("rotate_logs", {{"max_size", 1000}}, limits);
  EXPECT_EQ(r.files_touched, 1u);
  EXPECT_EQ(ReadFile(outside.File("precious.db")), big);
  EXPECT_FALSE(Exists(dir.File("linked.log.1.gz")));
  EXPECT_EQ(std::filesystem::file_size(dir.File("own.log")), 0u);
  ASSERT_TRUE(r.details.contains("skipped")) << r.details.dump();
  EXPECT_NE(r.details["skipped"].dump().find("linked.log"), std::string::npos);
  EXPECT_NE(r.summary.find("skipped 1 hard-linked"), std::string::npos) << r.summary;
}

}  // namespace
}  // namespace echomon::respond
