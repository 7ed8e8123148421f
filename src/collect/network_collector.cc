// network: per-interface counters from /proc/net/dev.
#include <algorithm>
#include <string>
#include <vector>

#include "collect/host_collectors.h"
#include "collect/metric_defs.h"
#include "collect/proc_parse.h"
#include "collect/proc_reader.h"

namespace echomon::collect {
namespace {

class NetworkCollector final : public Collector {
 public:
  explicit NetworkCollector(const HostOptions& options)
      : file_("network", options.proc_root + "/net/dev"), exclude_(options.exclude_interfaces) {}
  std::string_view name() const override { return "network"; }

  Status Collect(core::SampleBatch& out) override {
    std::string_view text;
    Status status = file_.Read(&text);
    if (!status.ok()) return status;
    status = ParseNetDev(text, &devices_);
    if (!status.ok()) return Status::ParseError(file_.path() + ": " + status.message());
    auto d = [](uint64_t v) { return static_cast<double>(v); };
    for (size_t i = 0; i < devices_.size(); ++i) {
      const NetDevStats& s = devices_[i];
      if (std::find(exclude_.begin(), exclude_.end(), s.name) != exclude_.end()) continue;
      const core::Labels& labels = CachedLabels(&labels_, i, "interface", s.name);
      Emit(out, metrics::kNetRxBytes, labels, d(s.rx_bytes));
      Emit(out, metrics::kNetRxPackets, labels, d(s.rx_packets));
      Emit(out, metrics::kNetRxErrors, labels, d(s.rx_errors));
      Emit(out, metrics::kNetRxDrops, labels, d(s.rx_drops));
      Emit(out, metrics::kNetTxBytes, labels, d(s.tx_bytes));
      Emit(out, metrics::kNetTxPackets, labels, d(s.tx_packets));
      Emit(out, metrics::kNetTxErrors, labels, d(s.tx_errors));
      Emit(out, metrics::kNetTxDrops, labels, d(s.tx_drops));
    }
    return Status::Ok();
  }

 private:
  ProcFile file_;
  std::vector<std::string> exclude_;
  std::vector<NetDevStats> devices_;
  std::vector<core::Labels> labels_;
};

}  // namespace

std::unique_ptr<Collector> MakeNetworkCollector(const HostOptions& options) {
  return std::make_unique<NetworkCollector>(options);
}

}  // namespace echomon::collect
