// cleanup and rotate_logs: the only actions that delete or rewrite files.
//
// Confinement: a directory is accepted only when its normalised absolute path (no "..") lies
// in one of ActionLimits::writable_dirs. The writable directory itself is opened as configured;
// every directory below it is opened with openat(O_NOFOLLOW | O_DIRECTORY) relative to its
// parent's descriptor, and files are examined with fstatat(AT_SYMLINK_NOFOLLOW), so a symlink
// (to a file or a directory, placed before or during the walk) is never followed. Only regular
// files are deleted, by unlinkat() on the descriptor of the directory that holds them, after
// re-checking that the name still refers to the same inode. Directories on another filesystem
// (mount points, bind mounts) are not entered.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "respond/actions/internal.h"

namespace echomon::respond::internal {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 32;
constexpr size_t kMaxEntries = 1'000'000;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string Strip(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// A directory parameter resolved against the limits: the writable root it lies in and the
// path components below that root.
struct ConfinedDir {
  std::string path;  // normalised absolute
  std::string root;  // the writable dir containing it
  std::vector<std::string> below;
};

bool Confine(const std::string& dir, const ActionLimits& limits, ConfinedDir* out,
             std::string* error) {
  fs::path p(dir);
  if (!p.is_absolute()) {
    *error = "\"" + dir + "\" is not an absolute path";
    return false;
  }
  for (const auto& part : p) {
    if (part == "..") {
      *error = "\"" + dir + "\" must not contain \"..\"";
      return false;
    }
  }
  std::string norm = Strip(p.lexically_normal().string());
  for (const auto& w : limits.writable_dirs) {
    std::string root = Strip(fs::path(w).lexically_normal().string());
    if (root.empty() || root[0] != '/') continue;
    if (norm == root || norm.rfind(root == "/" ? root : root + "/", 0) == 0) {
      out->path = norm;
      out->root = root;
      out->below.clear();
      for (const auto& part : fs::path(norm).lexically_relative(root)) {
        if (part != "." && !part.empty()) out->below.push_back(part.string());
      }
      return true;
    }
  }
  std::string list;
  for (const auto& w : limits.writable_dirs) list += (list.empty() ? "" : ", ") + w;
  *error = "\"" + dir + "\" is outside the writable directories (" +
           (list.empty() ? std::string("none configured") : list) + ")";
  return false;
}

// Opens the confined directory without following symlinks below its writable root.
Fd OpenConfined(const ConfinedDir& d, std::string* error) {
  Fd fd(::open(d.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok()) {
    *error = "cannot open " + d.root + ": " + std::strerror(errno);
    return Fd();
  }
  std::string at = d.root;
  for (const auto& part : d.below) {
    at += "/" + part;
    Fd next(::openat(fd.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.ok()) {
      *error = "cannot open " + at + ": " +
               (errno == ELOOP || errno == ENOTDIR ? std::string("a symlink or not a directory")
                                                   : std::string(std::strerror(errno)));
      return Fd();
    }
    fd = std::move(next);
  }
  return fd;
}

bool ValidPattern(const std::string& pattern, std::string* why) {
  if (pattern.empty()) {
    *why = "must not be empty";
    return false;
  }
  if (pattern[0] == '/') {
    *why = "must be relative to the directory, got \"" + pattern + "\"";
    return false;
  }
  for (const auto& part : fs::path(pattern)) {
    if (part == ".." || part == ".") {
      *why = "must not contain \"..\" or \".\" components, got \"" + pattern + "\"";
      return false;
    }
  }
  return true;
}

bool Matches(const std::vector<std::string>& patterns, const std::string& rel,
             const std::string& name) {
  for (const auto& p : patterns) {
    if (p.find('/') != std::string::npos) {
      if (::fnmatch(p.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return true;
    } else if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

struct Candidate {
  std::string dir;  // confined directory path (for messages)
  size_t dir_index = 0;
  std::vector<std::string> parts;  // below the confined dir, last one the file name
  std::string rel;
  dev_t dev = 0;
  ino_t ino = 0;
  nlink_t nlink = 1;
  uint64_t size = 0;
  uint64_t blocks_bytes = 0;
  int64_t mtime_ms = 0;
};

struct WalkState {
  const std::vector<std::string>* patterns;
  bool recursive = true;
  dev_t root_dev = 0;
  size_t entries = 0;
  std::vector<Candidate>* out;
  std::vector<std::string> skipped;  // symlinks etc., for the record (capped)
};

void Walk(int dirfd, std::vector<std::string>& parts, int depth, const Candidate& proto,
          WalkState* st) {
  int dup_fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return;
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    ::close(dup_fd);
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (++st->entries > kMaxEntries) break;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& name : names) {
    struct stat s {};
    if (::fstatat(dirfd, name.c_str(), &s, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string rel;
    for (const auto& p : parts) rel += p + "/";
    rel += name;
    if (S_ISLNK(s.st_mode)) {
      if (st->skipped.size() < 20) st->skipped.push_back(rel + " (symlink, not followed)");
      continue;
    }
    if (S_ISDIR(s.st_mode)) {
      if (!st->recursive || depth >= kMaxDepth) continue;
      if (s.st_dev != st->root_dev) {
        if (st->skipped.size() < 20) st->skipped.push_back(rel + " (other filesystem)");
        continue;
      }
      Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.ok()) continue;  // replaced by a symlink since fstatat: not followed
      struct stat again {};
      if (::fstat(sub.get(), &again) != 0 || again.st_ino != s.st_ino || again.st_dev != s.st_dev) {
        continue;
      }
      parts.push_back(name);
      Walk(sub.get(), parts, depth + 1, proto, st);
      parts.pop_back();
      continue;
    }
    if (!S_ISREG(s.st_mode)) continue;
    if (!Matches(*st->patterns, rel, name)) continue;
    Candidate c = proto;
    c.parts = parts;
    c.parts.push_back(name);
    c.rel = rel;
    c.dev = s.st_dev;
    c.ino = s.st_ino;
    c.nlink = s.st_nlink;
    c.size = static_cast<uint64_t>(s.st_size);
    c.blocks_bytes = static_cast<uint64_t>(s.st_blocks) * 512;
    c.mtime_ms = static_cast<int64_t>(s.st_mtim.tv_sec) * 1000 + s.st_mtim.tv_nsec / 1'000'000;
    st->out->push_back(std::move(c));
  }
}

// Opens the directory holding a candidate (walking from the confined dir without following
// symlinks).
Fd OpenParent(int base_fd, const std::vector<std::string>& parts) {
  Fd fd(::fcntl(base_fd, F_DUPFD_CLOEXEC, 0));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd next(::openat(fd.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.ok()) return Fd();
    fd = std::move(next);
  }
  return fd;
}

double UsagePercent(int fd, uint64_t* used, uint64_t* total) {
  struct statvfs v {};
  if (::fstatvfs(fd, &v) != 0 || v.f_blocks == 0) return -1;
  uint64_t frsize = v.f_frsize ? v.f_frsize : v.f_bsize;
  *used = (v.f_blocks - v.f_bfree) * frsize;
  *total = *used + v.f_bavail * frsize;
  return *total == 0 ? 0 : 100.0 * static_cast<double>(*used) / static_cast<double>(*total);
}

// Shared parameter reading for both file actions.
struct FileParams {
  std::vector<std::string> dirs;
  std::vector<std::string> patterns;
  bool recursive = true;
};

bool ReadFileParams(const json& p, const ActionLimits& l, FileParams* f,
                    std::vector<ConfinedDir>* confined, std::string* error) {
  if (!ParamStringList(p, "dirs", &f->dirs, error)) return false;
  if (!p.contains("dirs")) f->dirs = l.writable_dirs;
  if (f->dirs.empty()) {
    *error = "params.dirs: no directories (none given and no writable_dirs configured)";
    return false;
  }
  if (!ParamStringList(p, "patterns", &f->patterns, error)) return false;
  if (f->patterns.empty()) {
    *error = "params.patterns: needs at least one file name pattern, e.g. [\"*.log\"]";
    return false;
  }
  for (size_t i = 0; i < f->patterns.size(); ++i) {
    std::string why;
    if (!ValidPattern(f->patterns[i], &why)) {
      *error = "params.patterns[" + std::to_string(i) + "]: " + why;
      return false;
    }
  }
  if (!ParamBool(p, "recursive", &f->recursive, error)) return false;
  for (size_t i = 0; i < f->dirs.size(); ++i) {
    ConfinedDir d;
    std::string why;
    if (!Confine(f->dirs[i], l, &d, &why)) {
      *error = "params.dirs[" + std::to_string(i) + "]: " + why;
      return false;
    }
    confined->push_back(std::move(d));
  }
  return true;
}

// Collects candidates in every confined dir; missing directories are noted, not errors.
void Collect(const std::vector<ConfinedDir>& dirs, const FileParams& f, std::vector<Candidate>* out,
             std::vector<Fd>* dir_fds, json* notes) {
  for (size_t i = 0; i < dirs.size(); ++i) {
    std::string error;
    Fd fd = OpenConfined(dirs[i], &error);
    if (!fd.ok()) {
      (*notes)["skipped_dirs"].push_back(error);
      dir_fds->push_back(Fd());
      continue;
    }
    struct stat s {};
    ::fstat(fd.get(), &s);
    WalkState st;
    st.patterns = &f.patterns;
    st.recursive = f.recursive;
    st.root_dev = s.st_dev;
    st.out = out;
    Candidate proto;
    proto.dir = dirs[i].path;
    proto.dir_index = i;
    std::vector<std::string> parts;
    Walk(fd.get(), parts, 0, proto, &st);
    for (const auto& sk : st.skipped) (*notes)["not_followed"].push_back(dirs[i].path + "/" + sk);
    dir_fds->push_back(std::move(fd));
  }
}

// Deletes one candidate if it is still the same regular file. False with *why otherwise.
bool DeleteCandidate(const Candidate& c, int dir_fd, std::string* why) {
  Fd parent = OpenParent(dir_fd, c.parts);
  if (!parent.ok()) {
    *why = "directory changed";
    return false;
  }
  const std::string& name = c.parts.back();
  struct stat s {};
  if (::fstatat(parent.get(), name.c_str(), &s, AT_SYMLINK_NOFOLLOW) != 0) {
    *why = std::strerror(errno);
    return false;
  }
  if (!S_ISREG(s.st_mode) || s.st_ino != c.ino || s.st_dev != c.dev) {
    *why = "replaced since it was examined";
    return false;
  }
  if (::unlinkat(parent.get(), name.c_str(), 0) != 0) {
    *why = std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

// ---- cleanup ----

bool ValidateCleanup(const json& p, const ActionLimits& l, std::string* error) {
  if (!OnlyKeys(p,
                {"dirs", "patterns", "min_age", "target_usage_percent", "recursive", "max_files"},
                error)) {
    return false;
  }
  FileParams f;
  std::vector<ConfinedDir> dirs;
  if (!ReadFileParams(p, l, &f, &dirs, error)) return false;
  int64_t age = 0, max_files = 0;
  double target = 0;
  return ParamDuration(p, "min_age", &age, error) &&
         ParamDouble(p, "target_usage_percent", 0.01, 99.99, &target, error) &&
         ParamInt(p, "max_files", 1, 10'000'000, &max_files, error);
}

void RunCleanup(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  const json& p = s.params;
  FileParams f;
  std::vector<ConfinedDir> dirs;
  if (!ReadFileParams(p, *c.limits, &f, &dirs, &r->error)) return;
  int64_t min_age = 24LL * 3600 * 1000;
  double target = 0;
  int64_t max_files = 100'000;
  ParamDuration(p, "min_age", &min_age, &r->error);
  ParamDouble(p, "target_usage_percent", 0.01, 99.99, &target, &r->error);
  ParamInt(p, "max_files", 1, 10'000'000, &max_files, &r->error);
  bool with_target = p.contains("target_usage_percent");

  std::vector<Candidate> all;
  std::vector<Fd> dir_fds;
  json notes = json::object();
  int64_t start = MonoMs();
  Collect(dirs, f, &all, &dir_fds, &notes);
  // Age is measured against the real time: file times are real.
  int64_t now = SystemClock::Get()->NowMillis();
  std::vector<Candidate> old;
  for (auto& cand : all) {
    if (now - cand.mtime_ms >= min_age) old.push_back(std::move(cand));
  }
  std::sort(old.begin(), old.end(), [](const Candidate& a, const Candidate& b) {
    return a.mtime_ms != b.mtime_ms ? a.mtime_ms < b.mtime_ms : a.rel < b.rel;
  });
  r->details = notes;
  r->details["dirs"] = f.dirs;
  r->details["patterns"] = f.patterns;
  r->details["min_age_ms"] = min_age;
  r->details["matched"] = old.size();

  // Usage per filesystem of the confined dirs (the first open one decides).
  int usage_fd = -1;
  for (const auto& fd : dir_fds) {
    if (fd.ok()) {
      usage_fd = fd.get();
      break;
    }
  }
  uint64_t used = 0, total = 0;
  double usage = usage_fd >= 0 ? UsagePercent(usage_fd, &used, &total) : -1;
  if (with_target) {
    r->details["target_usage_percent"] = target;
    r->details["usage_before_percent"] = usage;
    if (usage >= 0 && usage < target) {
      r->ok = true;
      r->summary = "usage " + std::to_string(static_cast<int>(usage)) +
                   "% is already below the target " + std::to_string(static_cast<int>(target)) +
                   "%; nothing deleted";
      return;
    }
  }
  json deleted = json::array();
  json failed = json::array();
  uint64_t simulated_used = used;
  for (const auto& cand : old) {
    if (static_cast<int64_t>(r->files_touched) >= max_files) break;
    if (MonoMs() - start > EffectiveTimeoutMs(s, *c.limits)) {
      r->details["stopped"] = "timeout";
      break;
    }
    if (with_target && total > 0) {
      double now_usage;
      if (c.dry_run) {
        now_usage = 100.0 * static_cast<double>(simulated_used) / static_cast<double>(total);
      } else {
        uint64_t u = 0, t = 0;
        now_usage = UsagePercent(usage_fd, &u, &t);
      }
      if (now_usage >= 0 && now_usage < target) break;
    }
    std::string path = cand.dir + "/" + cand.rel;
    if (c.dry_run) {
      ++r->files_touched;
      r->bytes_freed += cand.size;
      simulated_used -= std::min(simulated_used, cand.blocks_bytes);
      if (deleted.size() < 200) deleted.push_back(ValidUtf8(path));
      continue;
    }
    std::string why;
    if (DeleteCandidate(cand, dir_fds[cand.dir_index].get(), &why)) {
      ++r->files_touched;
      r->bytes_freed += cand.size;
      if (deleted.size() < 200) deleted.push_back(ValidUtf8(path));
    } else if (failed.size() < 50) {
      failed.push_back(ValidUtf8(path) + ": " + why);
    }
  }
  r->details[c.dry_run ? "would_delete" : "deleted"] = deleted;
  if (!failed.empty()) r->details["failed"] = failed;
  if (with_target && usage_fd >= 0) {
    uint64_t u = 0, t = 0;
    r->details["usage_after_percent"] =
        c.dry_run && total > 0
            ? 100.0 * static_cast<double>(simulated_used) / static_cast<double>(total)
            : UsagePercent(usage_fd, &u, &t);
  }
  r->summary = std::string(c.dry_run ? "would delete " : "deleted ") +
               std::to_string(r->files_touched) + " file(s), " + HumanBytes(r->bytes_freed);
  r->ok = failed.empty();
  if (!r->ok) r->error = "could not delete " + std::to_string(failed.size()) + " file(s)";
  if (r->ok && with_target && r->details["usage_after_percent"].is_number() &&
      r->details["usage_after_percent"].get<double>() >= target) {
    r->summary += "; usage still at or above the target";
  }
}

// ---- rotate_logs ----

namespace {

// "name.3.gz" style rotated copies and other compressed files are never rotated again.
bool IsRotatedName(const std::string& name) {
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) return true;
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return false;
  return name.find_first_not_of("0123456789", dot + 1) == std::string::npos;
}

// Compresses the first size bytes of src_fd into a new file in dir_fd; the name is
// tmp_name. False with *why.
bool GzipInto(int src_fd, uint64_t size, int dir_fd, const std::string& tmp_name,
              uint64_t* compressed, std::string* why) {
  int out = ::openat(dir_fd, tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0640);
  if (out < 0) {
    *why = "cannot create " + tmp_name + ": " + std::strerror(errno);
    return false;
  }
  gzFile gz = ::gzdopen(out, "wb6");
  if (gz == nullptr) {
    ::close(out);
    ::unlinkat(dir_fd, tmp_name.c_str(), 0);
    *why = "gzdopen failed";
    return false;
  }
  std::vector<char> buf(1 << 16);
  uint64_t done = 0;
  bool ok = true;
  while (done < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - done));
    ssize_t n = ::pread(src_fd, buf.data(), want, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (::gzwrite(gz, buf.data(), static_cast<unsigned>(n)) != static_cast<int>(n)) {
      ok = false;
      *why = "gzwrite failed";
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  if (::gzclose(gz) != Z_OK && ok) {
    ok = false;
    *why = "writing the compressed copy failed";
  }
  if (!ok) {
    ::unlinkat(dir_fd, tmp_name.c_str(), 0);
    return false;
  }
  struct stat s {};
  if (::fstatat(dir_fd, tmp_name.c_str(), &s, AT_SYMLINK_NOFOLLOW) == 0) {
    *compressed = static_cast<uint64_t>(s.st_size);
  }
  return true;
}

}  // namespace

bool ValidateRotateLogs(const json& p, const ActionLimits& l, std::string* error) {
  if (!OnlyKeys(p, {"dirs", "patterns", "max_size", "keep", "recursive"}, error)) return false;
  json q = p;
  if (!q.contains("patterns")) q["patterns"] = json::array({"*.log"});
  FileParams f;
  std::vector<ConfinedDir> dirs;
  if (!ReadFileParams(q, l, &f, &dirs, error)) return false;
  uint64_t size = 0;
  int64_t keep = 0;
  return ParamSize(p, "max_size", &size, error) && ParamInt(p, "keep", 1, 100, &keep, error);
}

void RunRotateLogs(const ActionSpec& s, const ActionContext& c, ActionResult* r) {
  json p = s.params;
  if (!p.contains("patterns")) p["patterns"] = json::array({"*.log"});
  if (!p.contains("recursive")) p["recursive"] = false;
  FileParams f;
  std::vector<ConfinedDir> dirs;
  if (!ReadFileParams(p, *c.limits, &f, &dirs, &r->error)) return;
  uint64_t max_size = 10ULL << 20;
  int64_t keep = 5;
  ParamSize(p, "max_size", &max_size, &r->error);
  ParamInt(p, "keep", 1, 100, &keep, &r->error);
  std::vector<Candidate> all;
  std::vector<Fd> dir_fds;
  json notes = json::object();
  Collect(dirs, f, &all, &dir_fds, &notes);
  r->details = notes;
  r->details["max_size"] = max_size;
  r->details["keep"] = keep;
  json rotated = json::array();
  json failed = json::array();
  json skipped = json::array();
  uint64_t total_before = 0;
  // A file with more than one link may be a hard link to a file outside the confined
  // directories: truncating it would truncate that file. Such files are skipped and reported.
  auto hard_linked = [&](const std::string& path, nlink_t links) {
    if (links <= 1) return false;
    skipped.push_back(ValidUtf8(path) + ": has " + std::to_string(links) +
                      " hard links; not truncated");
    return true;
  };
  for (const auto& cand : all) {
    const std::string& name = cand.parts.back();
    if (IsRotatedName(name) || cand.size <= max_size) continue;
    std::string path = cand.dir + "/" + cand.rel;
    if (hard_linked(path, cand.nlink)) continue;
    if (c.dry_run) {
      ++r->files_touched;
      total_before += cand.size;
      rotated.push_back(ValidUtf8(path));
      continue;
    }
    Fd parent = OpenParent(dir_fds[cand.dir_index].get(), cand.parts);
    std::string why;
    Fd src(parent.ok() ? ::openat(parent.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC)
                       : -1);
    struct stat st {};
    if (!src.ok() || ::fstat(src.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_ino != cand.ino) {
      failed.push_back(ValidUtf8(path) + ": changed or not openable (" + std::strerror(errno) +
                       ")");
      continue;
    }
    if (hard_linked(path, st.st_nlink)) continue;  // linked since the walk
    // Shift name.(k).gz -> name.(k+1).gz; the copy beyond keep is deleted.
    auto rotated_name = [&](int64_t k) { return name + "." + std::to_string(k) + ".gz"; };
    ::unlinkat(parent.get(), rotated_name(keep).c_str(), 0);
    for (int64_t k = keep - 1; k >= 1; --k) {
      ::renameat(parent.get(), rotated_name(k).c_str(), parent.get(), rotated_name(k + 1).c_str());
    }
    std::string tmp = "." + name + ".rotating.tmp";
    ::unlinkat(parent.get(), tmp.c_str(), 0);
    uint64_t compressed = 0;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (!GzipInto(src.get(), size, parent.get(), tmp, &compressed, &why)) {
      failed.push_back(ValidUtf8(path) + ": " + why);
      continue;
    }
    if (::renameat(parent.get(), tmp.c_str(), parent.get(), rotated_name(1).c_str()) != 0) {
      failed.push_back(ValidUtf8(path) + ": rename: " + std::strerror(errno));
      ::unlinkat(parent.get(), tmp.c_str(), 0);
      continue;
    }
    if (::ftruncate(src.get(), 0) != 0) {
      failed.push_back(ValidUtf8(path) + ": truncate: " + std::strerror(errno));
      continue;
    }
    ++r->files_touched;
    total_before += size;
    if (size > compressed) r->bytes_freed += size - compressed;
    rotated.push_back(ValidUtf8(path));
  }
  r->details[c.dry_run ? "would_rotate" : "rotated"] = rotated;
  if (!failed.empty()) r->details["failed"] = failed;
  if (!skipped.empty()) r->details["skipped"] = skipped;
  r->ok = failed.empty();
  r->summary = std::string(c.dry_run ? "would rotate " : "rotated ") +
               std::to_string(r->files_touched) + " file(s) over " + HumanBytes(max_size) + " (" +
               HumanBytes(total_before) + ")" +
               (c.dry_run ? "" : ", freed " + HumanBytes(r->bytes_freed));
  if (!skipped.empty()) {
    r->summary += "; skipped " + std::to_string(skipped.size()) + " hard-linked file(s)";
  }
  if (!r->ok) r->error = "could not rotate " + std::to_string(failed.size()) + " file(s)";
}

}  // namespace echomon::respond::internal
