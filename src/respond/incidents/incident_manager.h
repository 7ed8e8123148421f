// IncidentManager: turns alerts into incidents and answers them with playbooks.
//
//   alert fires ──match a playbook──▶ open ──slot free──▶ acting (a step's actions, on a worker)
//        ▲                                                   │
//        │                    alert resolves: resolved ◀─────┤
//        │                                                   ▼
//        └─ next step ◀── still firing after verify_after ── verifying
//                          steps exhausted / failed step with on_failure: escalate
//                                           ▼
//                     escalated: levels notified (delay each), repeated until acknowledged
//                     or the alert resolves ─▶ resolved.   No escalation levels ─▶ failed.
//
// One open incident per alert fingerprint. Guards: per-playbook cooldown (after an incident for
// the same alert closed), per-playbook max runs per hour, a global cap on incidents acting at
// once (others wait in `open`), global and per-playbook dry run (actions are planned and
// recorded, nothing is changed). Silenced alerts never reach OnAlert (the alerting pipeline
// does not deliver them). An alert held back by a cooldown or the hourly cap is retried every
// tick while it keeps firing and is not muted. An incident whose alert becomes muted (silence,
// maintenance window) is held: no step starts and no escalation is sent until it is unmuted; it
// still resolves when the alert does. Alerts arriving while the manager is not started open
// nothing; they are retried after Start() if still firing.
//
// Durability: every transition, step, action start and action outcome is committed to the
// IncidentStore before it is logged or visible in the API. Start() resumes the active
// incidents of the database: an action left "started" by a crash is marked interrupted and not
// run again, and its incident goes on to verification.
//
// Time: all decisions read the injected Clock inside Tick(now_ms); nothing sleeps. Actions and
// escalation messages run on worker threads, never on the caller of Tick() or OnAlert().
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/metric.h"
#include "echomon/alert.h"
#include "echomon/clock.h"
#include "echomon/status.h"
#include "respond/action.h"
#include "respond/incidents/incident_store.h"
#include "respond/incidents/playbook.h"
#include "store/series_store.h"

namespace echomon::respond {

using ActionRunner = std::function<ActionResult(const ActionSpec&, const ActionContext&)>;

// An escalation message: the incident's alert plus what to say. The sender delivers it to the
// named notifiers (empty: every notifier) and returns whether it arrived.
struct EscalationMessage {
  Alert alert;                                     // the incident's alert (labels, severity, value)
  std::map<std::string, std::string> annotations;  // summary, description, incident_id, ...
};
using EscalationSender =
    std::function<Status(const std::vector<std::string>& notifiers, const EscalationMessage&)>;

struct IncidentManagerOptions {
  std::string db_path;  // empty: in memory
  Clock* clock = nullptr;
  std::vector<Playbook> playbooks;
  bool enabled = true;
  bool dry_run = false;
  int max_concurrent = 3;
  ActionRunner runner;               // empty: respond::RunAction
  EscalationSender send_escalation;  // empty: escalations are recorded, not delivered
  // The fingerprints of the alerts active now (nullopt: unknown). Consulted when a
  // verification period ends and for escalated incidents, so a resolve that was not delivered
  // (e.g. across a restart) still closes the incident.
  std::function<std::optional<std::set<std::string>>()> active_fingerprints;
  // The active alerts muted now by a silence or maintenance window: fingerprint -> what mutes it
  // ("silence <id>", "maintenance window <name>"). Consulted before a step starts and before each
  // escalation message: a muted alert's incident is held (docs/incidents.md). Empty: none muted.
  std::function<std::map<std::string, std::string>()> muted_alerts;
  ActionLimits limits;
  const store::SeriesStore* store = nullptr;
  std::string proc_root = "/proc";  // for the "top_cpu" process selector
};

class IncidentManager {
 public:
  static Result<std::unique_ptr<IncidentManager>> Create(IncidentManagerOptions options);
  ~IncidentManager();  // Stop()

  // Resumes the database's active incidents and starts the workers.
  Status Start();
  // Waits for running actions to end and stops the workers.
  void Stop();

  // An alert event (from AlertingPipeline::AddHandler). Opens, updates or resolves incidents.
  // Before Start() and after Stop() a firing alert opens nothing: it is kept and retried at the
  // first Tick() after Start() if it is still firing.
  void OnAlert(const Alert& alert);
  // Starts due steps, ends verification periods, sends due escalations.
  void Tick(int64_t now_ms);
  // Acknowledges an active incident: its escalation stops. NotFound for an unknown id,
  // InvalidArgument for a closed incident.
  Status Acknowledge(const std::string& id, const std::string& by);
  // Applies new playbooks and switches; incidents already open keep their playbook.
  void Reconfigure(std::vector<Playbook> playbooks, bool enabled, bool dry_run, int max_concurrent,
                   ActionLimits limits);

  // API bodies (docs/incidents.md, docs/api.md).
  nlohmann::json ListJson(const std::string& state, size_t limit) const;
  Result<nlohmann::json> IncidentJson(const std::string& id) const;
  nlohmann::json StatsJson() const;
  void AppendSelfMetrics(core::SampleBatch& out) const;

  // Blocks until no action or escalation job is queued or running (tests).
  void WaitIdle();

  struct Impl;

 private:
  explicit IncidentManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An incident as the API shows it (without timeline).
nlohmann::json IncidentToJson(const Incident& incident, int64_t now_ms, size_t steps);

}  // namespace echomon::respond
