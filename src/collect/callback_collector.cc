// Callback collector: wraps a user callback returning name -> value pairs. Naming rules are in
// collector.h (MakeCallbackCollector).
#include <exception>
#include <string>
#include <utility>

#include "collect/collector.h"

namespace echomon::collect {
namespace {

constexpr std::string_view kCallbackHelp = "Value reported by a registered callback collector.";

std::string SanitizeMetricName(std::string_view key) {
  std::string name;
  name.reserve(key.size() + 1);
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) name.push_back('_');
  for (char c : key) {
    bool valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == ':';
    name.push_back(valid ? c : '_');
  }
  return name;
}

class CallbackCollector final : public Collector {
 public:
  CallbackCollector(std::string name, CallbackFn fn)
      : name_(std::move(name)), fn_(std::move(fn)), labels_{{"collector", name_}} {}
  std::string_view name() const override { return name_; }

  Status Collect(core::SampleBatch& out) override {
    std::map<std::string, double> values;
    try {
      values = fn_();
    } catch (const std::exception& e) {
      return Status::Internal("callback " + name_ + " threw: " + e.what());
    } catch (...) {
      return Status::Internal("callback " + name_ + " threw a non-standard exception");
    }
    for (const auto& [key, value] : values) {
      core::Sample& s = out.emplace_back();
      s.name = SanitizeMetricName(key);
      s.labels = labels_;
      s.value = value;
      s.type = core::MetricType::kGauge;
      s.help = kCallbackHelp;
    }
    return Status::Ok();
  }

 private:
  std::string name_;
  CallbackFn fn_;
  core::Labels labels_;
};

}  // namespace

std::unique_ptr<Collector> MakeCallbackCollector(std::string name, CallbackFn fn) {
  return std::make_unique<CallbackCollector>(std::move(name), std::move(fn));
}

}  // namespace echomon::collect
