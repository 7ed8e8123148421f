#include "collect/proc_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

#include "core/log.h"

namespace echomon::collect {
namespace {

constexpr size_t kInitialBufferSize = 4096;

std::string ErrnoMessage(const std::string& path, int err) {
  return path + ": " + std::strerror(err);
}

}  // namespace

ProcFile::ProcFile(std::string owner, std::string path)
    : owner_(std::move(owner)), path_(std::move(path)) {}

Status ProcFile::Read(std::string_view* contents, bool optional) {
  int fd;
  do {
    fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  int err = fd < 0 ? errno : 0;
  size_t length = 0;
  if (fd >= 0) {
    if (buffer_.size() < kInitialBufferSize) buffer_.resize(kInitialBufferSize);
    while (true) {
      if (length == buffer_.size()) buffer_.resize(buffer_.size() * 2);
      ssize_t n =
          ::pread(fd, buffer_.data() + length, buffer_.size() - length, static_cast<off_t>(length));
      if (n < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      if (n == 0) break;
      length += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  if (err != 0) {
    bool absent = err == ENOENT || err == ENOTDIR;
    if (!(optional && (absent || err == EOPNOTSUPP))) {
      failing_ = true;
      core::WarnOnce(owner_ + ":" + path_, owner_ + ": cannot read " + ErrnoMessage(path_, err));
    }
    if (absent) return Status::NotFound(ErrnoMessage(path_, err));
    if (err == EOPNOTSUPP) return Status::Unavailable(ErrnoMessage(path_, err));
    return Status::IoError(ErrnoMessage(path_, err));
  }
  if (failing_) {
    failing_ = false;
    core::ResetOnce(owner_ + ":" + path_);
  }
  *contents = std::string_view(buffer_.data(), length);
  return Status::Ok();
}

int64_t CountDirEntries(const std::string& path, bool numeric_only) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    if (numeric_only) {
      bool digits = name[0] != '\0';
      for (const char* p = name; *p != '\0'; ++p) digits = digits && *p >= '0' && *p <= '9';
      if (!digits) continue;
    }
    ++count;
  }
  ::closedir(dir);
  return count;
}

bool NextLine(std::string_view* text, std::string_view* line) {
  if (text->empty()) return false;
  size_t end = text->find('\n');
  if (end == std::string_view::npos) {
    *line = *text;
    *text = {};
  } else {
    *line = text->substr(0, end);
    text->remove_prefix(end + 1);
  }
  return true;
}

std::string_view NextField(std::string_view* text) {
  size_t i = 0;
  while (i < text->size() && IsBlank((*text)[i])) ++i;
  size_t start = i;
  while (i < text->size() && !IsBlank((*text)[i])) ++i;
  std::string_view field = text->substr(start, i - start);
  text->remove_prefix(i);
  return field;
}

bool ParseU64(std::string_view field, uint64_t* value) {
  if (field.empty()) return false;
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), *value);
  return ec == std::errc() && ptr == field.data() + field.size();
}

bool ParseDouble(std::string_view field, double* value) {
  if (field.empty()) return false;
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), *value);
  return ec == std::errc() && ptr == field.data() + field.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace echomon::collect
