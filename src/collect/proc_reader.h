// ProcFile: reads one /proc (or captured /proc) file per call with open + pread into a buffer
// that is reused across calls, retrying on EINTR. Text helpers for parsing the result without
// iostreams or allocation.
//
// Thread-safety: a ProcFile is used by one thread at a time (its collector's worker).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "echomon/status.h"

namespace echomon::collect {

class ProcFile {
 public:
  // owner names the collector, for the "log once" key "<owner>:<path>".
  ProcFile(std::string owner, std::string path);

  // Reads the whole file. On success *contents points into an internal buffer that stays valid
  // until the next Read. On failure returns NotFound (ENOENT/ENOTDIR), Unavailable (EOPNOTSUPP,
  // e.g. PSI disabled at boot) or IoError, and logs once (until a later Read succeeds) unless
  // `optional` and the file is absent.
  Status Read(std::string_view* contents, bool optional = false);

  const std::string& path() const { return path_; }
  void set_path(std::string path) { path_ = std::move(path); }

 private:
  std::string owner_;
  std::string path_;
  std::string buffer_;
  bool failing_ = false;
};

// Counts the entries of a directory other than "." and ".."; with numeric_only, only names
// made of digits (process ids). Returns -1 with errno set when the directory cannot be opened.
int64_t CountDirEntries(const std::string& path, bool numeric_only);

// Line and field scanning over a string_view. Fields are separated by spaces or tabs.
inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Takes the next line (without '\n') from *text. Returns false at the end.
bool NextLine(std::string_view* text, std::string_view* line);
// Takes the next whitespace-separated field from *text. Returns an empty view at the end.
std::string_view NextField(std::string_view* text);
// Parses a whole field as an unsigned decimal integer.
bool ParseU64(std::string_view field, uint64_t* value);
// Parses a whole field as a decimal floating point number.
bool ParseDouble(std::string_view field, double* value);
// Removes leading and trailing spaces and tabs.
std::string_view Trim(std::string_view s);

}  // namespace echomon::collect
