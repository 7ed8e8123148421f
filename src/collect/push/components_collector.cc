#include "collect/push/components_collector.h"

#include <algorithm>
#include <chrono>

#include "core/log.h"

namespace echomon::collect::push {
namespace {

bool EndsWithEof(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  return text.size() >= 5 && text.substr(text.size() - 5) == "# EOF";
}

}  // namespace

Result<std::vector<ComponentSeries>> ParseProgramOutput(std::string_view output,
                                                        const PushLimits& limits,
                                                        const core::Labels& extra_labels) {
  expfmt::ParseLimits parse_limits;
  parse_limits.max_body_bytes = std::max<size_t>(output.size(), 1);
  parse_limits.max_samples = limits.max_series_per_component;
  parse_limits.max_labels_per_series = limits.max_labels_per_series;
  const expfmt::Format format =
      EndsWithEof(output) ? expfmt::Format::kOpenMetrics : expfmt::Format::kPrometheusText;
  expfmt::ParseError error;
  auto families = expfmt::Parse(output, format, parse_limits, &error);
  if (!families.ok()) {
    return Status(
        families.status().code(),
        "output is not valid " + std::string(expfmt::FormatName(format)) + ": " + error.ToString());
  }
  std::vector<ComponentSeries> series;
  for (auto& family : *families) {
    core::MetricType type = core::MetricType::kGauge;
    switch (family.type) {
      case expfmt::MetricType::kCounter:
        type = core::MetricType::kCounter;
        break;
      case expfmt::MetricType::kHistogram:
        type = core::MetricType::kHistogram;
        break;
      case expfmt::MetricType::kSummary:
        type = core::MetricType::kSummary;
        break;
      case expfmt::MetricType::kUnknown:
        type = core::MetricType::kUntyped;
        break;
      default:
        break;
    }
    for (auto& sample : family.samples) {
      if (sample.name.size() > 8 &&
          sample.name.compare(sample.name.size() - 8, 8, "_created") == 0 &&
          type != core::MetricType::kGauge && type != core::MetricType::kUntyped) {
        continue;
      }
      if (sample.name.rfind("echomon_", 0) == 0) {
        return Status::InvalidArgument("metric '" + sample.name +
                                       "': names starting with echomon_ are reserved for the "
                                       "agent's own metrics");
      }
      if (sample.labels.Get("component") != nullptr) {
        return Status::InvalidArgument("metric '" + sample.name +
                                       "': label 'component' is reserved");
      }
      core::Labels labels = std::move(sample.labels);
      for (const auto& l : extra_labels.items()) labels.Set(l.name, l.value);
      series.push_back(
          ComponentSeries{sample.name, std::move(labels), sample.value, type, family.help});
    }
  }
  return series;
}

ComponentsCollector::ComponentsCollector(std::shared_ptr<ComponentRegistry> registry,
                                         std::vector<ExecSpec> exec, Clock* clock)
    : registry_(std::move(registry)), clock_(clock != nullptr ? clock : SystemClock::Get()) {
  for (auto& spec : exec) {
    registry_->DeclareExec(spec.name);
    auto job = std::make_unique<Job>();
    job->spec = std::move(spec);
    jobs_.push_back(std::move(job));
  }
}

ComponentsCollector::~ComponentsCollector() {
  cancel_ = true;
  for (auto& job : jobs_) {
    if (job->worker.joinable()) job->worker.join();
  }
}

void ComponentsCollector::Run(Job* job) {
  auto output = RunProgram(job->spec.program, &cancel_);
  Result<std::vector<ComponentSeries>> result =
      output.ok() ? ParseProgramOutput(*output, registry_->limits(), job->spec.labels)
                  : Result<std::vector<ComponentSeries>>(output.status());
  const std::string key = "exec:" + job->spec.name;
  if (!result.ok()) {
    if (!cancel_) {
      core::WarnOnce(key, "exec component " + job->spec.name + " (" + job->spec.program.argv[0] +
                              "): " + result.status().message());
    }
  } else {
    core::ResetOnce(key);
  }
  if (!cancel_) registry_->SetExecResult(job->spec.name, std::move(result));
  std::lock_guard<std::mutex> lock(mu_);
  job->running = false;
  idle_cv_.notify_all();
}

Status ComponentsCollector::Collect(core::SampleBatch& out) {
  const int64_t now_ns = clock_->MonotonicNanos();
  for (auto& job_ptr : jobs_) {
    Job* job = job_ptr.get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (job->running) continue;
    }
    const int64_t interval_ns = job->spec.interval_ms * 1'000'000;
    if (job->started && now_ns - job->last_start_ns < interval_ns - interval_ns / 20) continue;
    if (job->worker.joinable()) job->worker.join();  // finished: running is false
    job->started = true;
    job->last_start_ns = now_ns;
    ++job->runs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->running = true;
    }
    job->worker = std::thread([this, job] { Run(job); });
  }
  registry_->Emit(out);
  return Status::Ok();
}

bool ComponentsCollector::WaitIdle(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    for (const auto& job : jobs_) {
      if (job->running) return false;
    }
    return true;
  });
}

std::vector<uint64_t> ComponentsCollector::runs() const {
  std::vector<uint64_t> out;
  for (const auto& job : jobs_) out.push_back(job->runs);
  return out;
}

}  // namespace echomon::collect::push
