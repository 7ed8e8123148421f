#include "alert/alert_tracker.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "core/log.h"

namespace echomon::alert {

const char* AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "?";
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "?";
}

bool ParseSeverity(std::string_view text, Severity* out) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "info")
    *out = Severity::kInfo;
  else if (lower == "warning")
    *out = Severity::kWarning;
  else if (lower == "critical")
    *out = Severity::kCritical;
  else
    return false;
  return true;
}

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kFiring:
      return "firing";
    case EventKind::kSeverityChanged:
      return "severity_changed";
    case EventKind::kResolved:
      return "resolved";
  }
  return "?";
}

struct AlertTracker::Impl {
  Clock* clock;
  AlertJournal* journal;
  mutable std::mutex mu;
  std::map<std::string, AlertRecord> active;  // fingerprint -> pending or firing alert
  uint64_t sequence = 0;
  int64_t last_id_ms = 0;
  uint64_t journal_errors = 0;

  std::string NewId(int64_t now) {
    if (now != last_id_ms) {
      last_id_ms = now;
      sequence = 0;
    }
    return fmt::format("{:013d}-{:04d}", now, sequence++);
  }
};

AlertTracker::AlertTracker(Clock* clock, AlertJournal* journal) : impl_(std::make_unique<Impl>()) {
  impl_->clock = clock;
  impl_->journal = journal;
}

AlertTracker::~AlertTracker() = default;

std::string AlertTracker::Fingerprint(const std::string& rule, const core::Labels& labels) {
  // FNV-1a over rule and the canonical label string: stable across runs and platforms.
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  mix(rule);
  mix(std::string_view("\xff", 1));
  mix(labels.ToString());
  return fmt::format("{:016x}", h);
}

Status AlertTracker::Restore() {
  if (!impl_->journal) return Status::Ok();
  auto loaded = impl_->journal->LoadActive();
  if (!loaded.ok()) return loaded.status();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& rec : *loaded) impl_->active[rec.fingerprint] = rec;
  return Status::Ok();
}

std::vector<AlertEvent> AlertTracker::Evaluate(const std::string& rule, const RuleTiming& timing,
                                               const std::vector<Observation>& observations,
                                               Status* status) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  const int64_t now = d.clock->NowMillis();
  std::vector<AlertEvent> events;
  std::vector<Transition> transitions;
  std::vector<AlertRecord> changed;

  auto record_transition = [&](const AlertRecord& rec, AlertState from) {
    transitions.push_back(Transition{rec.id, rec.fingerprint, rec.rule, rec.labels, from, rec.state,
                                     rec.severity, rec.value, now});
  };
  auto fire = [&](AlertRecord& rec) {
    rec.state = AlertState::kFiring;
    rec.firing_since_ms = now;
    record_transition(rec, AlertState::kPending);
    events.push_back(AlertEvent{EventKind::kFiring, rec, rec.severity});
  };

  std::set<std::string> holding;  // fingerprints whose condition holds in this evaluation
  for (const Observation& obs : observations) {
    if (!obs.severity) continue;  // handled with the unseen ones below
    const std::string fp = Fingerprint(rule, obs.labels);
    holding.insert(fp);
    auto it = d.active.find(fp);
    if (it == d.active.end()) {
      AlertRecord rec;
      rec.id = d.NewId(now);
      rec.fingerprint = fp;
      rec.rule = rule;
      rec.labels = obs.labels;
      rec.state = AlertState::kPending;
      rec.severity = *obs.severity;
      rec.value = obs.value;
      rec.threshold = obs.threshold;
      rec.summary = obs.summary;
      rec.active_since_ms = now;
      rec.last_true_ms = now;
      record_transition(rec, AlertState::kInactive);
      if (timing.for_ms <= 0) fire(rec);
      changed.push_back(rec);
      d.active.emplace(fp, std::move(rec));
      continue;
    }
    AlertRecord& rec = it->second;
    rec.value = obs.value;
    rec.threshold = obs.threshold;
    rec.summary = obs.summary;
    rec.last_true_ms = now;
    if (rec.state == AlertState::kPending) {
      rec.severity = *obs.severity;
      if (now - rec.active_since_ms >= timing.for_ms) fire(rec);
      changed.push_back(rec);
    } else if (rec.severity != *obs.severity) {
      const Severity previous = rec.severity;
      rec.severity = *obs.severity;
      record_transition(rec, AlertState::kFiring);
      events.push_back(AlertEvent{EventKind::kSeverityChanged, rec, previous});
      changed.push_back(rec);
    }
  }

  // Alerts of this rule whose condition does not hold now (observed false, or not observed).
  for (auto it = d.active.begin(); it != d.active.end();) {
    AlertRecord& rec = it->second;
    if (rec.rule != rule || holding.count(rec.fingerprint) > 0) {
      ++it;
      continue;
    }
    if (rec.state == AlertState::kPending) {
      rec.state = AlertState::kInactive;
      record_transition(rec, AlertState::kPending);
      changed.push_back(rec);
      it = d.active.erase(it);
      continue;
    }
    if (now - rec.last_true_ms >= timing.keep_firing_for_ms) {
      rec.state = AlertState::kResolved;
      rec.resolved_at_ms = now;
      if (auto obs = std::find_if(observations.begin(), observations.end(),
                                  [&](const Observation& o) { return o.labels == rec.labels; });
          obs != observations.end()) {
        rec.value = obs->value;
      }
      record_transition(rec, AlertState::kFiring);
      events.push_back(AlertEvent{EventKind::kResolved, rec, rec.severity});
      changed.push_back(rec);
      it = d.active.erase(it);
      continue;
    }
    ++it;
  }

  if (d.journal && !transitions.empty()) {
    Status s = d.journal->Commit(transitions, changed);
    if (!s.ok()) {
      ++d.journal_errors;
      core::WarnOnce("alert.journal", "cannot record alert transitions: " + s.ToString());
      if (status) *status = s;
      return {};
    }
    core::ResetOnce("alert.journal");
  }
  if (status) *status = Status::Ok();
  return events;
}

std::vector<AlertRecord> AlertTracker::Active() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<AlertRecord> out;
  for (const auto& [fp, rec] : impl_->active) out.push_back(rec);
  std::sort(out.begin(), out.end(),
            [](const AlertRecord& a, const AlertRecord& b) { return a.id < b.id; });
  return out;
}

uint64_t AlertTracker::journal_errors() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->journal_errors;
}

}  // namespace echomon::alert
