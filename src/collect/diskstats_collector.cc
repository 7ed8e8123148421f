// diskstats: per-device I/O counters from /proc/diskstats.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"

namespace echomon::collect {
namespace {

class DiskstatsCollector final : public Collector {
 public:
  explicit DiskstatsCollector(const HostOptions& options)
      : file_("diskstats", options.proc_root + "/diskstats") {}
  std::string_view name() const override { return "diskstats"; }

  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text);
    if (!status.ok()) return status;
    status = ParseDiskStats(text, &devices_);
    if (!status.ok()) return Status::ParseError(file_.path() + ": " + status.message());
    auto d = [](uint64_t v) { return static_cast<double>(v); };
    for (size_t i = 0; i < devices_.size(); ++i) {
      const DiskStats& s = devices_[i];
      if (IsIgnoredBlockDevice(s.name)) continue;
      const core::Labels& labels = CachedLabels(&labels_, i, "device", s.name);
      // Linux counts diskstats sectors in 512-byte units whatever the device's sector size.
      Emit(out, metrics::kDiskReadBytes, labels, d(s.sectors_read) * 512);
      Emit(out, metrics::kDiskWrittenBytes, labels, d(s.sectors_written) * 512);
      Emit(out, metrics::kDiskReads, labels, d(s.reads));
      Emit(out, metrics::kDiskWrites, labels, d(s.writes));
      Emit(out, metrics::kDiskReadTime, labels, d(s.read_ms) / 1000);
      Emit(out, metrics::kDiskWriteTime, labels, d(s.write_ms) / 1000);
      Emit(out, metrics::kDiskIoTime, labels, d(s.io_ms) / 1000);
      Emit(out, metrics::kDiskIoNow, labels, d(s.in_flight));
    }
    return Status::Ok();
  }

 private:
  ProcFile file_;
  std::vector<DiskStats> devices_;
  std::vector<core::Labels> labels_;
};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// Consumes leading digits; returns false when there were none.
bool ConsumeDigits(std::string_view* s) {
  size_t n = 0;
  while (n < s->size() && (*s)[n] >= '0' && (*s)[n] <= '9') ++n;
  s->remove_prefix(n);
  return n > 0;
}

}  // namespace

bool IsIgnoredBlockDevice(std::string_view name) {
  for (std::string_view prefix : {"loop", "ram", "zram", "fd"}) {
    std::string_view rest = name;
    if (ConsumePrefix(&rest, prefix) && AllDigits(rest)) return true;
  }
  // sda1, hdb2, vda3, xvda1: letters after the "Xd" prefix, then a partition number.
  for (std::string_view prefix : {"sd", "hd", "vd", "xvd"}) {
    std::string_view rest = name;
    if (!ConsumePrefix(&rest, prefix)) continue;
    size_t letters = 0;
    while (letters < rest.size() && rest[letters] >= 'a' && rest[letters] <= 'z') ++letters;
    if (letters > 0 && AllDigits(rest.substr(letters))) return true;
  }
  // nvme0n1p1, mmcblk0p1.
  std::string_view rest = name;
  if (ConsumePrefix(&rest, "nvme") && ConsumeDigits(&rest) && ConsumePrefix(&rest, "n") &&
      ConsumeDigits(&rest) && ConsumePrefix(&rest, "p") && AllDigits(rest)) {
    return true;
  }
  rest = name;
  if (ConsumePrefix(&rest, "mmcblk") && ConsumeDigits(&rest) && ConsumePrefix(&rest, "p") &&
      AllDigits(rest)) {
    return true;
  }
  return false;
}

std::unique_ptr<Collector> MakeDiskstatsCollector(const HostOptions& options) {
  return std::make_unique<DiskstatsCollector>(options);
}

}  // namespace echomon::collect
