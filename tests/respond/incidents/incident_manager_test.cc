#include "respond/incidents/incident_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "alert/alert_tracker.h"
#include "common/test_util.h"
#include "core/labels.h"

namespace echomon::respond {
namespace {

using nlohmann::json;

constexpr int64_t kMinute = 60'000;

// Records every action it is asked to run; outcomes by action name; can hold actions until
// released (to see what happens while a step runs).
class FakeRunner {
 public:
  ActionResult Run(const ActionSpec& spec, const ActionContext& ctx) {
    std::unique_lock<std::mutex> lock(mu_);
    calls_.push_back({spec.name, ctx.dry_run, ctx.incident_id});
    ++running_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !hold_; });
    --running_;
    ActionResult r;
    r.type = spec.type;
    r.name = spec.name;
    r.ok = !fail_.count(spec.name);
    r.dry_run = ctx.dry_run;
    r.summary = ctx.dry_run ? "would run " + spec.name : "ran " + spec.name;
    if (!r.ok) r.error = spec.name + " failed";
    r.bytes_freed = 100;
    if (!garbage_.empty()) {  // e.g. output cut by a cap in the middle of a UTF-8 character
      r.summary += garbage_;
      r.output = "proc " + garbage_;
      r.details = {{"top", {{"comm", "python" + garbage_}}}};
      if (!r.ok) r.error += garbage_;
    }
    return r;
  }
  ActionRunner AsRunner() {
    return [this](const ActionSpec& s, const ActionContext& c) { return Run(s, c); };
  }
  struct Call {
    std::string name;
    bool dry_run;
    std::string incident;
  };
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& c : calls()) out.push_back(c.name);
    return out;
  }
  void Fail(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_.insert(name);
  }
  void AppendToResults(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    garbage_ = bytes;
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  void WaitRunning(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::set<std::string> fail_;
  bool hold_ = false;
  int running_ = 0;
  std::string garbage_;
};

struct Sent {
  std::vector<std::string> notifiers;
  EscalationMessage message;
};

ActionSpec Spec(const std::string& name) {
  ActionSpec s;
  s.type = "diagnose";
  s.name = name;
  return s;
}

Playbook MakePlaybook(const std::string& name, const std::string& match,
                      std::vector<std::vector<std::string>> steps) {
  Playbook p;
  p.name = name;
  std::string error;
  EXPECT_TRUE(core::ParseLabelMatchers(match, &p.match, &error)) << error;
  p.priority = {{"critical", "P0"}, {"warning", "P2"}};
  p.cooldown_ms = 10 * kMinute;
  p.max_runs_per_hour = 10;
  for (size_t i = 0; i < steps.size(); ++i) {
    PlaybookStep s;
    s.name = "step" + std::to_string(i + 1);
    s.verify_after_ms = kMinute;
    for (const auto& a : steps[i]) s.actions.push_back(Spec(a));
    p.steps.push_back(std::move(s));
  }
  p.escalation.levels = {{{"ops"}, 0}, {{"pager"}, 5 * kMinute}};
  p.escalation.repeat_interval_ms = 30 * kMinute;
  return p;
}

Alert MakeAlert(const std::string& rule, std::map<std::string, std::string> labels,
                Severity sev = Severity::kCritical, bool resolved = false) {
  Alert a;
  a.id = "alert-" + rule;
  a.rule = rule;
  a.labels = std::move(labels);
  a.severity = sev;
  a.resolved = resolved;
  a.value = 97;
  a.message = rule + " is bad";
  return a;
}

class IncidentManagerTest : public ::testing::Test {
 protected:
  void Make(std::vector<Playbook> playbooks, int max_concurrent = 3, bool dry_run = false) {
    manager_.reset();
    IncidentManagerOptions o;
    o.db_path = dir_.File("echomon.db");
    o.clock = &clock_;
    o.playbooks = std::move(playbooks);
    o.max_concurrent = max_concurrent;
    o.dry_run = dry_run;
    o.runner = runner_.AsRunner();
    o.send_escalation = [this](const std::vector<std::string>& n, const EscalationMessage& m) {
      std::lock_guard<std::mutex> lock(sent_mu_);
      sent_.push_back({n, m});
      return Status::Ok();
    };
    o.active_fingerprints = [this]() -> std::optional<std::set<std::string>> {
      std::lock_guard<std::mutex> lock(sent_mu_);
      return firing_;
    };
    o.muted_alerts = [this]() {
      std::lock_guard<std::mutex> lock(sent_mu_);
      return muted_;
    };
    auto m = IncidentManager::Create(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(m).value();
    ASSERT_TRUE(manager_->Start().ok());
  }

  static std::string Fp(const Alert& a) {
    core::Labels l;
    for (const auto& [k, v] : a.labels) l.Set(k, v);
    return alert::AlertTracker::Fingerprint(a.rule, l);
  }
  // A silence or maintenance window starts (by non-empty) or ends (by empty) for alert a.
  void Mute(const Alert& a, const std::string& by) {
    std::lock_guard<std::mutex> lock(sent_mu_);
    if (by.empty()) {
      muted_.erase(Fp(a));
    } else {
      muted_[Fp(a)] = by;
    }
  }

  // Delivers an alert event and keeps the "active alerts" view in step with it.
  void Fire(const Alert& a) {
    core::Labels l;
    for (const auto& [k, v] : a.labels) l.Set(k, v);
    {
      std::lock_guard<std::mutex> lock(sent_mu_);
      const std::string fp = alert::AlertTracker::Fingerprint(a.rule, l);
      if (a.resolved) {
        firing_.erase(fp);
      } else {
        firing_.insert(fp);
      }
    }
    manager_->OnAlert(a);
    manager_->WaitIdle();
  }
  void Resolve(Alert a) {
    a.resolved = true;
    Fire(a);
  }
  void Advance(int64_t ms) {
    clock_.Advance(ms);
    manager_->Tick(clock_.NowMillis());
    manager_->WaitIdle();
  }
  json List(const std::string& state = "") { return manager_->ListJson(state, 100); }
  json Only() {
    json l = List();
    EXPECT_EQ(l.size(), 1u) << l.dump(1);
    return l.empty() ? json::object() : l[0];
  }
  json Detail(const std::string& id) {
    auto d = manager_->IncidentJson(id);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : json::object();
  }
  std::vector<std::string> Kinds(const std::string& id) {
    std::vector<std::string> out;
    const json d = Detail(id);
    for (const auto& e : d["timeline"]) out.push_back(e["kind"]);
    return out;
  }
  std::vector<Sent> sent() {
    std::lock_guard<std::mutex> lock(sent_mu_);
    return sent_;
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  FakeRunner runner_;
  std::mutex sent_mu_;
  std::vector<Sent> sent_;
  std::set<std::string> firing_;
  std::map<std::string, std::string> muted_;
  std::unique_ptr<IncidentManager> manager_;
};

TEST_F(IncidentManagerTest, AlertOpensIncidentRunsStepAndResolves) {
  Make({MakePlaybook("disk", R"(alertname="disk_usage_high")", {{"diagnose", "cleanup"}})});
  const Alert a = MakeAlert("disk_usage_high", {{"mount", "/data"}});
  Fire(a);
  json inc = Only();
  EXPECT_EQ(inc["state"], "verifying");
  EXPECT_EQ(inc["priority"], "P0");
  EXPECT_EQ(inc["playbook"], "disk");
  EXPECT_EQ(inc["labels"]["mount"], "/data");
  EXPECT_EQ(inc["id"].get<std::string>().rfind("inc-1700000000000-", 0), 0u);
  EXPECT_EQ(runner_.names(), (std::vector<std::string>{"diagnose", "cleanup"}));
  EXPECT_EQ(runner_.calls()[0].incident, inc["id"]);

  Advance(30'000);  // still inside verify_after
  EXPECT_EQ(Only()["state"], "verifying");
  Resolve(a);
  inc = Only();
  EXPECT_EQ(inc["state"], "resolved");
  EXPECT_EQ(inc["reason"], "alert resolved");
  EXPECT_DOUBLE_EQ(inc["duration_seconds"].get<double>(), 30.0);

  const json d = Detail(inc["id"]);
  EXPECT_EQ(
      Kinds(inc["id"]),
      (std::vector<std::string>{"opened", "step_started", "action_started", "action_finished",
                                "action_started", "action_finished", "step_finished", "resolved"}));
  ASSERT_EQ(d["actions"].size(), 2u);
  EXPECT_EQ(d["actions"][1]["state"], "finished");
  EXPECT_EQ(d["actions"][1]["result"]["summary"], "ran cleanup");
  EXPECT_EQ(d["actions"][1]["result"]["bytes_freed"], 100);

  const json stats = manager_->StatsJson();
  EXPECT_EQ(stats["total_responses"], 1);
  EXPECT_EQ(stats["successful_responses"], 1);
  EXPECT_DOUBLE_EQ(stats["success_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(stats["mean_time_to_resolve_seconds"].get<double>(), 30.0);
  EXPECT_EQ(stats["by_playbook"]["disk"]["total_responses"], 1);
  EXPECT_EQ(stats["by_action"]["diagnose"]["runs"], 2);
  EXPECT_EQ(stats["by_action"]["diagnose"]["bytes_freed"], 200);
}

TEST_F(IncidentManagerTest, AlertsWithoutAMatchingPlaybookOpenNothing) {
  Make({MakePlaybook("disk", R"(alertname="disk_usage_high",severity="critical")", {{"a"}})});
  Fire(MakeAlert("cpu_usage_high", {}));
  Fire(MakeAlert("disk_usage_high", {}, Severity::kWarning));
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(runner_.calls().empty());
}

TEST_F(IncidentManagerTest, OneIncidentPerAlertWhileItIsOpen) {
  Make({MakePlaybook("disk", R"(alertname=~"disk_.*")", {{"a"}})});
  const Alert a = MakeAlert("disk_usage_high", {{"mount", "/"}});
  Fire(a);
  Fire(a);
  Alert warning = a;
  warning.severity = Severity::kWarning;
  Fire(warning);  // a severity change updates the incident
  Fire(MakeAlert("disk_usage_high", {{"mount", "/data"}}));  // another label set: another one
  json l = List();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(runner_.calls().size(), 2u);
  const json first = l[1];
  EXPECT_EQ(first["labels"]["mount"], "/");
  EXPECT_EQ(first["severity"], "warning");
  EXPECT_EQ(first["priority"], "P2");
}

TEST_F(IncidentManagerTest, UnresolvedAlertRunsNextStepThenEscalatesThroughLevelsUntilAck) {
  Make({MakePlaybook("mem", R"(alertname="memory_usage_high")", {{"trim"}, {"drop"}})});
  const Alert a = MakeAlert("memory_usage_high", {});
  Fire(a);
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"trim"});
  Advance(kMinute - 1);
  EXPECT_EQ(runner_.names().size(), 1u);
  Advance(1);  // verify_after over, alert still firing: step 2
  EXPECT_EQ(runner_.names(), (std::vector<std::string>{"trim", "drop"}));
  EXPECT_EQ(Only()["step"], 2);
  EXPECT_TRUE(sent().empty());
  Advance(kMinute);  // steps exhausted: escalate, level 1 at once
  json inc = Only();
  EXPECT_EQ(inc["state"], "escalated");
  ASSERT_EQ(sent().size(), 1u);
  EXPECT_EQ(sent()[0].notifiers, std::vector<std::string>{"ops"});
  EXPECT_EQ(sent()[0].message.annotations.at("incident_id"), inc["id"]);
  EXPECT_EQ(sent()[0].message.annotations.at("escalation_level"), "1");
  EXPECT_EQ(sent()[0].message.alert.rule, "memory_usage_high");

  Advance(5 * kMinute - 1);
  EXPECT_EQ(sent().size(), 1u);
  Advance(1);  // level 2 after its delay
  ASSERT_EQ(sent().size(), 2u);
  EXPECT_EQ(sent()[1].notifiers, std::vector<std::string>{"pager"});
  Advance(29 * kMinute);
  EXPECT_EQ(sent().size(), 2u);
  Advance(kMinute);  // repeat interval over: level 1 again, round 2
  ASSERT_EQ(sent().size(), 3u);
  EXPECT_EQ(sent()[2].notifiers, std::vector<std::string>{"ops"});
  EXPECT_EQ(sent()[2].message.annotations.at("escalation_round"), "2");
  Advance(5 * kMinute);
  ASSERT_EQ(sent().size(), 4u);

  ASSERT_TRUE(manager_->Acknowledge(inc["id"], "alice").ok());
  Advance(2 * 3600'000);
  EXPECT_EQ(sent().size(), 4u);  // acknowledged: no more
  inc = Only();
  EXPECT_EQ(inc["state"], "escalated");
  EXPECT_EQ(inc["acknowledged_by"], "alice");
  Resolve(a);
  inc = Only();
  EXPECT_EQ(inc["state"], "resolved");
  const json stats = manager_->StatsJson();
  EXPECT_EQ(stats["escalated_responses"], 1);
  EXPECT_EQ(stats["successful_responses"], 0);
  EXPECT_DOUBLE_EQ(stats["success_rate"].get<double>(), 0.0);
  EXPECT_EQ(manager_->Acknowledge(inc["id"], "bob").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->Acknowledge("inc-nope", "bob").code(), StatusCode::kNotFound);
}

TEST_F(IncidentManagerTest, FailedStepEscalatesAtOnceWhenSoConfigured) {
  auto p = MakePlaybook("lat", R"(alertname="latency")", {{"call"}, {"restart"}});
  p.steps[0].escalate_on_failure = true;
  Make({p});
  runner_.Fail("call");
  Fire(MakeAlert("latency", {}));
  json inc = Only();
  EXPECT_EQ(inc["state"], "escalated");
  EXPECT_NE(inc["reason"].get<std::string>().find("step 1 failed"), std::string::npos);
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"call"});  // step 2 never ran
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IncidentManagerTest, NoEscalationLevelsMeansFailed) {
  auto p = MakePlaybook("x", R"(alertname="x")", {{"a"}});
  p.escalation.levels.clear();
  Make({p});
  Fire(MakeAlert("x", {}));
  Advance(kMinute);
  EXPECT_EQ(Only()["state"], "failed");
  EXPECT_EQ(manager_->StatsJson()["failed_responses"], 1);
}

TEST_F(IncidentManagerTest, VerificationSeesAResolveThatWasNeverDelivered) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a"}, {"b"}})});
  Fire(MakeAlert("x", {}));
  {
    std::lock_guard<std::mutex> lock(sent_mu_);
    firing_.clear();  // the alert ended, but no event arrived
  }
  Advance(kMinute);
  json inc = Only();
  EXPECT_EQ(inc["state"], "resolved");
  EXPECT_EQ(inc["reason"], "alert no longer active");
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"a"});
}

TEST_F(IncidentManagerTest, CooldownHoldsBackTheSameAlertThenLetsItThrough) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a"}})});  // cooldown 10 min
  const Alert a = MakeAlert("x", {});
  Fire(a);
  Resolve(a);
  Advance(kMinute);
  Fire(a);  // fires again 1 min after the incident closed
  EXPECT_EQ(List().size(), 1u);
  EXPECT_EQ(manager_->StatsJson()["suppressed"]["cooldown"], 1);
  Advance(8 * kMinute);
  EXPECT_EQ(List().size(), 1u);
  Advance(kMinute);  // 10 min after closing, still firing: retried and opened
  ASSERT_EQ(List().size(), 2u);
  EXPECT_EQ(List()[0]["state"], "verifying");
  EXPECT_EQ(runner_.calls().size(), 2u);
  // Another label set is not cooled down.
  Fire(MakeAlert("x", {{"gpu", "1"}}));
  EXPECT_EQ(List().size(), 3u);
}

TEST_F(IncidentManagerTest, InvalidUtf8InActionResultsIsRecordedNotFatal) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"diag", "bad"}})});
  runner_.Fail("bad");
  runner_.AppendToResults("\xd1");  // a character cut in half
  const Alert a = MakeAlert("x", {});
  Fire(a);
  const json inc = Only();
  EXPECT_EQ(inc["state"], "verifying");
  const json d = Detail(inc["id"]);
  ASSERT_EQ(d["actions"].size(), 2u);
  EXPECT_EQ(d["actions"][0]["state"], "finished");
  // Stored with U+FFFD in place of the invalid byte; the API body serialises.
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(d["actions"][0]["result"]["summary"], "ran diag" + fffd);
  EXPECT_EQ(d["actions"][0]["result"]["details"]["top"]["comm"], "python" + fffd);
  EXPECT_EQ(d["actions"][1]["result"]["error"], "bad failed" + fffd);
  EXPECT_NO_THROW(d.dump());
  // The manager goes on: another alert with 0xff bytes opens and runs.
  runner_.AppendToResults("\xff\xfe");
  Fire(MakeAlert("x", {{"gpu", "1"}}));
  EXPECT_EQ(List().size(), 2u);
  EXPECT_EQ(runner_.calls().size(), 4u);
  Resolve(a);
  EXPECT_EQ(List("resolved").size(), 1u);
}

TEST_F(IncidentManagerTest, SilenceHoldsTheNextStepAndEscalationUntilItEnds) {
  Make({MakePlaybook("mem", R"(alertname="mem")", {{"trim"}, {"restart"}})});
  const Alert a = MakeAlert("mem", {});
  Fire(a);
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"trim"});
  const std::string id = Only()["id"];
  Mute(a, "silence s-1");  // the operator silences it while step 1 is verified
  Advance(kMinute);        // verification over, alert still firing: step 2 would start
  Advance(10 * kMinute);
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"trim"});  // restart never ran
  EXPECT_TRUE(sent().empty());
  auto kinds = Kinds(id);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "suppressed"), 1);
  const json d = Detail(id);
  bool found = false;
  for (const auto& e : d["timeline"]) {
    if (e["kind"] == "suppressed") {
      found = true;
      EXPECT_NE(e["message"].get<std::string>().find("suppressed: silenced by silence s-1"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(manager_->StatsJson()["suppressed"]["silenced"], 1);
  Mute(a, "");  // silence expires: the response goes on
  Advance(1);
  EXPECT_EQ(runner_.names(), (std::vector<std::string>{"trim", "restart"}));
  kinds = Kinds(id);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "unsuppressed"), 1);
  // Escalation (after the last step) is held by a maintenance window too.
  Mute(a, "maintenance window nightly");
  Advance(kMinute);
  EXPECT_TRUE(sent().empty());
  EXPECT_NE(Only()["state"], "escalated");
  Mute(a, "");
  Advance(1);
  EXPECT_EQ(Only()["state"], "escalated");
  EXPECT_EQ(sent().size(), 1u);
  Mute(a, "maintenance window nightly");
  Advance(5 * kMinute);  // level 2 is due but muted
  EXPECT_EQ(sent().size(), 1u);
  // A held incident still resolves when its alert does (no event delivered while muted).
  {
    std::lock_guard<std::mutex> lock(sent_mu_);
    firing_.clear();
  }
  Advance(1);
  EXPECT_EQ(Only()["state"], "resolved");
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IncidentManagerTest, MaintenanceWindowHoldsAFailedStepsEscalation) {
  auto p = MakePlaybook("lat", R"(alertname="latency")", {{"call"}});
  p.steps[0].escalate_on_failure = true;
  Make({p});
  runner_.Fail("call");
  const Alert a = MakeAlert("latency", {});
  runner_.Hold();
  {
    std::lock_guard<std::mutex> lock(sent_mu_);
    firing_.insert(Fp(a));
  }
  manager_->OnAlert(a);
  runner_.WaitRunning(1);
  Mute(a, "maintenance window deploy");  // starts while the action runs
  runner_.Release();
  manager_->WaitIdle();
  EXPECT_EQ(Only()["state"], "escalated");
  EXPECT_TRUE(sent().empty());  // level 1 would go out at once; held
  Mute(a, "");
  Advance(1);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IncidentManagerTest, SilencedAlertHeldByCooldownIsNotRetried) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a"}})});  // cooldown 10 min
  const Alert a = MakeAlert("x", {});
  Fire(a);
  Resolve(a);
  Advance(kMinute);
  Fire(a);  // held back by the cooldown
  Mute(a, "silence s-9");
  Advance(20 * kMinute);  // cooldown over, but the alert is silenced
  EXPECT_EQ(List().size(), 1u);
  EXPECT_EQ(runner_.calls().size(), 1u);
  Mute(a, "");
  Advance(1);  // unmuted and still firing: it opens now
  EXPECT_EQ(List().size(), 2u);
}

TEST_F(IncidentManagerTest, AlertsWhileNotStartedOpenNothingUntilStarted) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a"}})});
  manager_->Stop();
  const Alert a = MakeAlert("x", {});
  Fire(a);
  Advance(kMinute);
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(runner_.calls().empty());
  Fire(MakeAlert("x", {{"n", "2"}}));
  Resolve(MakeAlert("x", {{"n", "2"}}));  // resolved before the start: forgotten
  ASSERT_TRUE(manager_->Start().ok());
  Advance(1);  // still firing: opened after the start
  ASSERT_EQ(List().size(), 1u);
  EXPECT_EQ(Only()["labels"].size(), 0u);
  EXPECT_EQ(runner_.calls().size(), 1u);
}

TEST_F(IncidentManagerTest, MaxRunsPerHourCapsAPlaybook) {
  auto p = MakePlaybook("x", R"(alertname="x")", {{"a"}});
  p.max_runs_per_hour = 2;
  Make({p});
  for (int i = 0; i < 3; ++i) Fire(MakeAlert("x", {{"n", std::to_string(i)}}));
  EXPECT_EQ(List().size(), 2u);
  EXPECT_EQ(manager_->StatsJson()["suppressed"]["rate_limit"], 1);
  Advance(3600'000);  // an hour later the third (still firing) gets its turn
  EXPECT_EQ(List().size(), 3u);
}

TEST_F(IncidentManagerTest, GlobalConcurrencyCapQueuesIncidents) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a"}})}, /*max_concurrent=*/1);
  runner_.Hold();
  manager_->OnAlert(MakeAlert("x", {{"n", "1"}}));
  runner_.WaitRunning(1);
  manager_->OnAlert(MakeAlert("x", {{"n", "2"}}));
  manager_->Tick(clock_.NowMillis());
  json l = List();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1]["state"], "acting");
  EXPECT_EQ(l[0]["state"], "open");  // waits for the slot
  EXPECT_EQ(runner_.calls().size(), 1u);
  runner_.Release();
  manager_->WaitIdle();
  Advance(0);
  l = List();
  EXPECT_EQ(l[0]["state"], "verifying");
  EXPECT_EQ(runner_.calls().size(), 2u);
}

TEST_F(IncidentManagerTest, ResolveDuringActionsStopsTheStep) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a", "b"}})});
  runner_.Hold();
  const Alert a = MakeAlert("x", {});
  manager_->OnAlert(a);
  runner_.WaitRunning(1);
  Alert resolved = a;
  resolved.resolved = true;
  manager_->OnAlert(resolved);
  runner_.Release();
  manager_->WaitIdle();
  EXPECT_EQ(Only()["state"], "resolved");
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"a"});
}

TEST_F(IncidentManagerTest, DryRunPlansAndRecordsWithoutExecuting) {
  auto p = MakePlaybook("x", R"(alertname="x")", {{"a"}});
  Make({p}, 3, /*dry_run=*/true);
  Fire(MakeAlert("x", {}));
  ASSERT_EQ(runner_.calls().size(), 1u);
  EXPECT_TRUE(runner_.calls()[0].dry_run);
  json inc = Only();
  EXPECT_TRUE(inc["dry_run"]);
  const json d = Detail(inc["id"]);
  EXPECT_TRUE(d["actions"][0]["dry_run"]);
  EXPECT_TRUE(d["actions"][0]["result"]["dry_run"]);
  EXPECT_EQ(manager_->StatsJson()["by_action"]["diagnose"]["dry_run"], 1);

  // Per playbook.
  auto q = MakePlaybook("y", R"(alertname="y")", {{"b"}});
  q.dry_run = true;
  Make({p, q});
  Fire(MakeAlert("x", {{"i", "2"}}));
  Fire(MakeAlert("y", {}));
  auto calls = runner_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_FALSE(calls[1].dry_run);
  EXPECT_TRUE(calls[2].dry_run);
}

TEST_F(IncidentManagerTest, RestartResumesIncidentsAndNeverRerunsAnAction) {
  auto p = MakePlaybook("x", R"(alertname="x")", {{"a"}, {"b"}});
  Make({p});
  const Alert a = MakeAlert("x", {});
  Fire(a);
  const std::string first = Only()["id"];
  // A second incident whose step was cut by a crash: action 0 finished, action 1 still
  // "started", as a killed agent leaves the database.
  {
    auto store = IncidentStore::Open(dir_.File("echomon.db"));
    ASSERT_TRUE(store.ok());
    Incident inc;
    inc.id = "inc-1700000000000-900";
    inc.fingerprint = "feedfeedfeedfeed";
    inc.alertname = "x";
    inc.playbook = "x";
    inc.severity = "critical";
    inc.priority = "P0";
    inc.state = IncidentState::kActing;
    inc.opened_ms = clock_.NowMillis();
    ASSERT_TRUE((*store)->Commit(inc, {}).ok());
    auto r0 = (*store)->ActionStarted(inc, 0, Spec("a"), false, clock_.NowMillis());
    ASSERT_TRUE(r0.ok());
    ActionResult done;
    done.type = "diagnose";
    done.name = "a";
    done.ok = true;
    ASSERT_TRUE((*store)->ActionFinished(*r0, inc.id, 0, done, clock_.NowMillis()).ok());
    ASSERT_TRUE((*store)->ActionStarted(inc, 1, Spec("a2"), false, clock_.NowMillis()).ok());
  }
  {
    std::lock_guard<std::mutex> lock(sent_mu_);
    firing_.insert("feedfeedfeedfeed");
  }
  const size_t calls_before = runner_.calls().size();
  Make({p});  // the agent restarts on the same database
  manager_->Tick(clock_.NowMillis());
  manager_->WaitIdle();
  EXPECT_EQ(runner_.calls().size(), calls_before);  // nothing re-run
  json l = List();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["id"], "inc-1700000000000-900");
  EXPECT_EQ(l[0]["state"], "verifying");
  EXPECT_EQ(l[1]["id"], first);
  EXPECT_EQ(l[1]["state"], "verifying");
  const json cut = Detail("inc-1700000000000-900");
  ASSERT_EQ(cut["actions"].size(), 2u);
  EXPECT_EQ(cut["actions"][0]["state"], "finished");
  EXPECT_EQ(cut["actions"][1]["state"], "interrupted");
  EXPECT_FALSE(cut["actions"][1]["ok"]);
  auto kinds = Kinds("inc-1700000000000-900");
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "action_interrupted"), kinds.end());
  EXPECT_EQ(kinds.back(), "resumed");
  EXPECT_EQ(manager_->StatsJson()["by_action"]["diagnose"]["interrupted"], 1);

  // Both go on: step 2 runs once each after verification.
  Advance(kMinute);
  auto names = runner_.names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "b"), 2);
  EXPECT_EQ(std::count(names.begin(), names.end(), "a2"), 0);
  // The new manager still deduplicates the alert the first one answered.
  Fire(a);
  EXPECT_EQ(List().size(), 2u);
  // And a new incident gets an id after every stored one.
  Fire(MakeAlert("x", {{"n", "new"}}));
  l = List();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_GT(l[0]["id"].get<std::string>(), std::string("inc-1700000000000-900"));
}

TEST_F(IncidentManagerTest, RestartWithAStepThatNeverStartedRunsIt) {
  auto p = MakePlaybook("x", R"(alertname="x")", {{"a"}});
  {
    auto store = IncidentStore::Open(dir_.File("echomon.db"));
    ASSERT_TRUE(store.ok());
    Incident inc;
    inc.id = "inc-1700000000000-001";
    inc.fingerprint = "f";
    inc.alertname = "x";
    inc.playbook = "x";
    inc.state = IncidentState::kActing;
    ASSERT_TRUE((*store)->Commit(inc, {}).ok());
    inc.id = "inc-1700000000000-002";
    inc.fingerprint = "g";
    inc.playbook = "removed";
    ASSERT_TRUE((*store)->Commit(inc, {}).ok());
  }
  Make({p});
  manager_->Tick(clock_.NowMillis());
  manager_->WaitIdle();
  EXPECT_EQ(runner_.names(), std::vector<std::string>{"a"});
  json l = List();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["state"], "failed");  // its playbook is gone
  EXPECT_NE(l[0]["reason"].get<std::string>().find("no longer configured"), std::string::npos);
  EXPECT_EQ(l[1]["state"], "verifying");
}

TEST_F(IncidentManagerTest, SelfMetricsCountIncidentsAndActions) {
  Make({MakePlaybook("x", R"(alertname="x")", {{"a"}})});
  runner_.Fail("a");
  Fire(MakeAlert("x", {}));
  core::SampleBatch batch;
  manager_->AppendSelfMetrics(batch);
  std::map<std::string, double> values;
  for (const auto& s : batch) values[core::SeriesKey(s.name, s.labels)] = s.value;
  EXPECT_EQ(values["echomon_incidents_active{state=\"verifying\"}"], 1);
  EXPECT_EQ(values["echomon_incidents_opened_total"], 1);
  EXPECT_EQ(values["echomon_incidents_actions_total{outcome=\"failed\",type=\"diagnose\"}"], 1);
}

TEST(IncidentManagerTopCpu, TopCpuSelectorBecomesTheBusiestOtherProcess) {
  testing::TempDir dir;
  testing::Subprocess hog({"/bin/sh", "-c", "while :; do :; done"});
  ManualClock clock;
  std::mutex mu;
  json seen;
  Playbook p = MakePlaybook("cpu", R"(alertname="cpu")", {{"renice"}});
  p.steps[0].actions[0].type = "renice";
  p.steps[0].actions[0].params = {{"pid", "top_cpu"}, {"nice", 10}};
  IncidentManagerOptions o;
  o.clock = &clock;
  o.playbooks = {p};
  o.runner = [&](const ActionSpec& spec, const ActionContext&) {
    std::lock_guard<std::mutex> lock(mu);
    seen = spec.params;
    ActionResult r;
    r.ok = true;
    return r;
  };
  auto m = IncidentManager::Create(std::move(o));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Start().ok());
  (*m)->OnAlert(MakeAlert("cpu", {}));
  (*m)->WaitIdle();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(seen["pid"].is_number_integer()) << seen.dump();
  EXPECT_GT(seen["pid"].get<int>(), 1);
  EXPECT_NE(seen["pid"].get<int>(), static_cast<int>(::getpid()));  // never the agent
  EXPECT_EQ(seen["nice"], 10);
}

}  // namespace
}  // namespace echomon::respond
