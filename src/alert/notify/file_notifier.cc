#include "alert/notify/file_notifier.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace echomon::alert {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Writes all of data to fd, retrying on EINTR and short writes.
bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// Keeps file names portable: anything but [A-Za-z0-9._-] becomes '_'.
std::string SafeName(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(fmt::format("{}: cannot open: {}", dir, ErrnoText(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError(fmt::format("{}: fsync: {}", dir, ErrnoText(err)));
  return Status::Ok();
}

}  // namespace

FileNotifier::FileNotifier(std::string dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)) {}

Status FileNotifier::Deliver(const Notification& n) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return Status::IoError(fmt::format("{}: cannot create directory: {}", dir_, ec.message()));

  const std::string base =
      fmt::format("alert_{}_{}_{}", n.at_ms, SafeName(n.alert.id), EventKindName(n.kind));
  const std::string tmp = fmt::format("{}/.{}.{}.{}.tmp", dir_, base, ::getpid(),
                                      sequence_.fetch_add(1, std::memory_order_relaxed));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("{}: cannot create: {}", tmp, ErrnoText(errno)));
  std::string body = NotificationJson(n, /*pretty=*/true);
  body.push_back('\n');
  bool wrote = WriteAll(fd, body);
  int err = errno;
  if (wrote && ::fsync(fd) != 0) {
    wrote = false;
    err = errno;
  }
  ::close(fd);
  if (!wrote) {
    ::unlink(tmp.c_str());
    return Status::IoError(fmt::format("{}: write failed: {}", tmp, ErrnoText(err)));
  }

  // link() fails with EEXIST instead of replacing, so an existing event file is never lost.
  std::string final_path;
  for (int suffix = 0;; ++suffix) {
    final_path = suffix == 0 ? fmt::format("{}/{}.json", dir_, base)
                             : fmt::format("{}/{}-{}.json", dir_, base, suffix);
    if (::link(tmp.c_str(), final_path.c_str()) == 0) break;
    err = errno;
    if (err == EEXIST && suffix < 1000) continue;
    ::unlink(tmp.c_str());
    return Status::IoError(fmt::format("{}: cannot create: {}", final_path, ErrnoText(err)));
  }
  ::unlink(tmp.c_str());
  return SyncDir(dir_);
}

}  // namespace echomon::alert
