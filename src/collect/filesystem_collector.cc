// filesystem: space and inodes of every mounted real filesystem.
//
// Mounts come from <proc_root>/self/mounts (falling back to <proc_root>/mounts). Skipped:
//  - pseudo filesystem types (IsDefaultExcludedFsType, or HostOptions::exclude_fs_types when
//    set). tmpfs and overlay are kept: /dev/shm (tmpfs) filling up breaks NCCL and vLLM's
//    shared-memory transport, and a container's root is overlay;
//  - mount points under /proc and /sys;
//  - a mount point listed twice (the later mount hides the earlier one; the later one is kept);
//  - the same block device mounted twice (bind mounts): the first mount is kept. Devices not
//    named by a path ("tmpfs", "overlay") are never merged, they are distinct filesystems.
// The parsed mount list is reused while the mounts file's text is unchanged.
// A mount point that cannot be measured is skipped, counted in
// echomon_filesystem_unavailable_mounts and logged once; it is not a collector failure.
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"
#include "core/log.h"

namespace echomon::collect {
namespace {

constexpr std::string_view kExcludedFsTypes[] = {
    "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",    "configfs",  "debugfs",
    "devpts",     "devtmpfs",    "efivarfs",  "fusectl",  "fuse.lxcfs", "hugetlbfs", "iso9660",
    "mqueue",     "nfsd",        "nsfs",      "proc",     "pstore",     "ramfs",     "rootfs",
    "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",      "tracefs",
};

bool UnderPseudoTree(const std::string& mount_point) {
  for (std::string_view root : {"/proc", "/sys"}) {
    if (mount_point.compare(0, root.size(), root) == 0 &&
        (mount_point.size() == root.size() || mount_point[root.size()] == '/')) {
      return true;
    }
  }
  return false;
}

class FilesystemCollector final : public Collector {
 public:
  explicit FilesystemCollector(const HostOptions& options)
      : file_("filesystem", options.proc_root + "/self/mounts"),
        fallback_path_(options.proc_root + "/mounts"),
        rootfs_(options.rootfs),
        excluded_types_(options.exclude_fs_types),
        fs_stat_(options.fs_stat ? options.fs_stat : FsStatFn(&StatvfsUsage)) {}

  std::string_view name() const override { return "filesystem"; }

  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text, /*optional=*/!tried_fallback_);
    if (status.code() == StatusCode::kNotFound && !tried_fallback_) {
      tried_fallback_ = true;
      file_.set_path(fallback_path_);
      status = file_.Read(&text);
    }
    if (!status.ok()) return status;
    if (text != mounts_text_) {
      mounts_text_.assign(text);
      Rebuild();
    }
    int64_t unavailable = 0;
    FsUsage usage;
    for (Target& t : targets_) {
      usage = FsUsage{};
      Status s = fs_stat_(t.stat_path, &usage);
      if (!s.ok()) {
        ++unavailable;
        if (!t.warned) {
          t.warned = true;
          core::WarnOnce(WarnKey(t),
                         "filesystem: cannot measure " + t.stat_path + ": " + s.ToString());
        }
        continue;
      }
      if (t.warned) {
        t.warned = false;
        core::ResetOnce(WarnKey(t));
      }
      auto d = [](uint64_t v) { return static_cast<double>(v); };
      uint64_t used = usage.size_bytes > usage.free_bytes ? usage.size_bytes - usage.free_bytes : 0;
      uint64_t denominator = used + usage.avail_bytes;
      double percent = denominator == 0 ? 0.0 : d(used) * 100.0 / d(denominator);
      Emit(out, metrics::kFsSize, t.labels, d(usage.size_bytes));
      Emit(out, metrics::kFsFree, t.labels, d(usage.free_bytes));
      Emit(out, metrics::kFsAvail, t.labels, d(usage.avail_bytes));
      Emit(out, metrics::kFsUsage, t.labels, percent);
      Emit(out, metrics::kFsFiles, t.labels, d(usage.files));
      Emit(out, metrics::kFsFilesFree, t.labels, d(usage.files_free));
      Emit(out, metrics::kFsReadonly, t.labels, usage.readonly || t.mount_readonly ? 1 : 0);
    }
    Emit(out, metrics::kFsUnavailable, {}, static_cast<double>(unavailable));
    return Status::Ok();
  }

 private:
  struct Target {
    core::Labels labels;
    std::string stat_path;
    bool mount_readonly = false;
    bool warned = false;
  };

  static std::string WarnKey(const Target& t) { return "filesystem:statvfs:" + t.stat_path; }

  bool Excluded(const std::string& fstype) const {
    if (excluded_types_.empty()) return IsDefaultExcludedFsType(fstype);
    return std::find(excluded_types_.begin(), excluded_types_.end(), fstype) !=
           excluded_types_.end();
  }

  void Rebuild() {
    for (const Target& t : targets_) {
      if (t.warned) core::ResetOnce(WarnKey(t));
    }
    targets_.clear();
    ParseMounts(mounts_text_, &mounts_);
    std::map<std::string_view, size_t> last_index;
    for (size_t i = 0; i < mounts_.size(); ++i) last_index[mounts_[i].mount_point] = i;
    std::set<std::string_view> devices;
    for (size_t i = 0; i < mounts_.size(); ++i) {
      const MountEntry& m = mounts_[i];
      if (Excluded(m.fstype) || UnderPseudoTree(m.mount_point)) continue;
      if (last_index[m.mount_point] != i) continue;
      if (!m.device.empty() && m.device[0] == '/' && !devices.insert(m.device).second) continue;
      Target& t = targets_.emplace_back();
      t.labels = core::Labels{{"mount", m.mount_point}, {"device", m.device}, {"fstype", m.fstype}};
      t.stat_path = rootfs_ + m.mount_point;
      t.mount_readonly = m.readonly;
    }
  }

  ProcFile file_;
  std::string fallback_path_;
  bool tried_fallback_ = false;
  std::string rootfs_;
  std::vector<std::string> excluded_types_;
  FsStatFn fs_stat_;
  std::string mounts_text_;
  std::vector<MountEntry> mounts_;
  std::vector<Target> targets_;
};

}  // namespace

bool IsDefaultExcludedFsType(std::string_view fstype) {
  return std::find(std::begin(kExcludedFsTypes), std::end(kExcludedFsTypes), fstype) !=
         std::end(kExcludedFsTypes);
}

Status StatvfsUsage(const std::string& path, FsUsage* out) {
  struct statvfs st;
  int rc;
  do {
    rc = ::statvfs(path.c_str(), &st);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    std::string message = path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(message) : Status::IoError(message);
  }
  uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
  out->size_bytes = static_cast<uint64_t>(st.f_blocks) * unit;
  out->free_bytes = static_cast<uint64_t>(st.f_bfree) * unit;
  out->avail_bytes = static_cast<uint64_t>(st.f_bavail) * unit;
  out->files = st.f_files;
  out->files_free = st.f_ffree;
  out->readonly = (st.f_flag & ST_RDONLY) != 0;
  return Status::Ok();
}

std::unique_ptr<Collector> MakeFilesystemCollector(const HostOptions& options) {
  return std::make_unique<FilesystemCollector>(options);
}

}  // namespace echomon::collect
