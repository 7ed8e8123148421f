// AlertTracker: the alert lifecycle. Rules report, every evaluation, which label sets currently
// meet their condition and at which severity; the tracker turns that into alerts with a
// lifecycle and emits an event for each transition worth telling someone about.
//
//   inactive ──condition──▶ pending ──held for `for`──▶ firing ──condition gone for
//      ▲                      │                           │      `keep_firing_for`──▶ resolved
//      └──condition gone──────┘                           └─ severity change: event, same alert
//
// One alert per rule + label set (its fingerprint), so a condition that persists produces one
// alert, not one per evaluation. Alert ids are unique and sort by creation time.
//
// Durability: when an AlertJournal is given, every transition is committed to it before
// Evaluate() returns the events, and Restore() brings back pending/firing alerts after a
// restart without announcing them again.
//
// Thread-safety: all methods may be called from any thread (internally serialised).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "echomon/alert.h"
#include "echomon/clock.h"
#include "echomon/status.h"

namespace echomon::alert {

enum class AlertState { kInactive, kPending, kFiring, kResolved };
const char* AlertStateName(AlertState state);  // "inactive", "pending", "firing", "resolved"
const char* SeverityName(Severity severity);   // "info", "warning", "critical"
bool ParseSeverity(std::string_view text, Severity* out);

// What a rule found for one label set in one evaluation.
struct Observation {
  core::Labels labels;               // identifies the instance within the rule
  std::optional<Severity> severity;  // set: the condition holds at this severity
  double value = 0;                  // the evaluated value
  double threshold = 0;              // the threshold of the severity that holds (or was last held)
  std::string summary;               // human-readable description for notifications
};

struct RuleTiming {
  int64_t for_ms = 0;              // the condition must hold this long before firing
  int64_t keep_firing_for_ms = 0;  // keep firing this long after the condition stops holding
};

struct AlertRecord {
  std::string id;           // unique, sortable (creation time + sequence)
  std::string fingerprint;  // stable hash of rule + labels
  std::string rule;
  core::Labels labels;
  AlertState state = AlertState::kInactive;
  Severity severity = Severity::kWarning;
  double value = 0;
  double threshold = 0;
  std::string summary;
  int64_t active_since_ms = 0;  // when the condition started holding (pending began)
  int64_t firing_since_ms = 0;  // when it fired; 0 while pending
  int64_t resolved_at_ms = 0;   // when it resolved; 0 while active
  int64_t last_true_ms = 0;     // last evaluation where the condition held
};

enum class EventKind { kFiring, kSeverityChanged, kResolved };
const char* EventKindName(EventKind kind);

struct AlertEvent {
  EventKind kind;
  AlertRecord alert;           // the alert after the transition
  Severity previous_severity;  // for kSeverityChanged
};

// A transition as written to the journal.
struct Transition {
  std::string alert_id;
  std::string fingerprint;
  std::string rule;
  core::Labels labels;
  AlertState from = AlertState::kInactive;
  AlertState to = AlertState::kInactive;
  Severity severity = Severity::kWarning;
  double value = 0;
  int64_t at_ms = 0;
};

// Where transitions are made durable (SQLite in the agent; in memory in tests).
class AlertJournal {
 public:
  virtual ~AlertJournal() = default;
  // Commits every transition of one evaluation atomically, with the alerts' new state.
  virtual Status Commit(const std::vector<Transition>& transitions,
                        const std::vector<AlertRecord>& changed) = 0;
  // Alerts that were pending or firing when the journal was last written.
  virtual Result<std::vector<AlertRecord>> LoadActive() = 0;
};

class AlertTracker {
 public:
  // journal may be null (no durability). The tracker does not own it.
  AlertTracker(Clock* clock, AlertJournal* journal);
  ~AlertTracker();

  // Restores pending and firing alerts from the journal (no events are emitted for them).
  Status Restore();

  // Applies one evaluation of rule: observations lists every label set the rule evaluated;
  // label sets of this rule that are absent are treated as "condition does not hold". Returns
  // the events to notify, after the transitions were committed. On a journal failure nothing
  // is notified and the Status is returned through *status (the in-memory state still moves
  // on, and the next evaluation retries nothing: a failed commit is logged and counted).
  std::vector<AlertEvent> Evaluate(const std::string& rule, const RuleTiming& timing,
                                   const std::vector<Observation>& observations,
                                   Status* status = nullptr);

  // Alerts currently pending or firing, oldest first.
  std::vector<AlertRecord> Active() const;
  uint64_t journal_errors() const;

  // The fingerprint of rule + labels (16 hex digits).
  static std::string Fingerprint(const std::string& rule, const core::Labels& labels);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echomon::alert
