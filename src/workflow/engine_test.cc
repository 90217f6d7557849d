// The engine's state machine, driven through chosen task outcomes: an executor that the test
// scripts (the task types' own executors are tested in executors_test.cc; a whole run with real
// tasks and SIGKILLs is in src/cli/run_kill_test.cc). Real stores: SQLite and PostgreSQL.
#include "workflow/engine.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/ids.h"
#include "store/store_test_util.h"

namespace ferry::workflow {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Actor kOperator{.name = "test:olga", .role = Role::kOperator};
const Actor kViewer{.name = "test:vic", .role = Role::kViewer};
const Actor kAdmin{.name = "test:ada", .role = Role::kAdmin};

// What the scripted executor does for a task: how many attempts fail first, whether it blocks
// until cancelled, whether its undo fails.
struct Script {
  int fail_first = 0;
  bool block = false;
  int undo_fail_first = 0;
  // The undo takes a while, and stops (fails) when cancelled, as a real undo does.
  bool undo_slow = false;
  // The attempt waits for `release`, deaf to cancellation, then succeeds.
  bool hold = false;
};

class ScriptedExecutor {
 public:
  std::map<std::string, Script> scripts;

  TaskExecutor Make() {
    return {.snapshot = [this](const TaskRun& run) -> Result<Json> {
              std::lock_guard lock(mu_);
              snapshots_.push_back(run.spec->id);
              return Json{{"before", run.spec->id + "-state"}};
            },
            .execute = [this](const TaskRun& run) -> Result<Json> { return Execute(run); },
            .undo = [this](const TaskRun& run, const Json& snapshot,
                           const Json& result) -> Result<Json> {
              const std::string& id = run.spec->id;
              bool slow = false;
              {
                std::lock_guard lock(mu_);
                slow = scripts[id].undo_slow;
              }
              for (int i = 0; slow && i < 60; ++i) {
                if (run.cancelled()) return Err(Cancelled("undo of {} stopped", id));
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
              }
              std::lock_guard lock(mu_);
              if (undo_attempts_[id]++ < scripts[id].undo_fail_first) {
                return Err(Unavailable("undo of {} failed (scripted)", id));
              }
              undone_.push_back(id);
              undo_inputs_[id] = {snapshot, result};
              return Json{{"restored", snapshot.value("before", "")}};
            }};
  }

  std::vector<std::string> executed() {
    std::lock_guard lock(mu_);
    return executed_;
  }
  std::vector<std::string> undone() {
    std::lock_guard lock(mu_);
    return undone_;
  }
  std::vector<std::string> snapshots() {
    std::lock_guard lock(mu_);
    return snapshots_;
  }
  std::pair<Json, Json> undo_inputs(const std::string& id) {
    std::lock_guard lock(mu_);
    return undo_inputs_[id];
  }
  int attempts(const std::string& id) {
    std::lock_guard lock(mu_);
    return attempts_[id];
  }
  std::atomic<int> blocked{0};
  std::atomic<bool> release{false};

 private:
  Result<Json> Execute(const TaskRun& run) {
    const std::string id = run.spec->id;
    Script script;
    int attempt = 0;
    {
      std::lock_guard lock(mu_);
      script = scripts[id];
      attempt = ++attempts_[id];
    }
    run.progress({.rows_done = 10, .rows_total = 20, .detail = id});
    if (script.block) {
      ++blocked;
      while (!run.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      --blocked;
      return Err(Cancelled("{} stopped", id));
    }
    if (script.hold) {
      ++blocked;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      --blocked;
    }
    if (attempt <= script.fail_first) {
      return Err(Unavailable("{} attempt {} failed (scripted)", id, attempt));
    }
    std::lock_guard lock(mu_);
    executed_.push_back(id);
    return Json{{"rows", 20}, {"task", id}};
  }

  std::mutex mu_;
  std::vector<std::string> executed_, undone_, snapshots_;
  std::map<std::string, int> attempts_, undo_attempts_;
  std::map<std::string, std::pair<Json, Json>> undo_inputs_;
};

class EngineTest : public testing::StoreBackendTest {
 protected:
  void SetUp() override {
    testing::StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    work_dir_ = ::testing::TempDir() + "engine-" + GetParam() + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::unique_ptr<Engine> MakeEngine() {
    auto engine = Engine::Create(store_.get(), {.store_url = location_->url(),
                                                .work_dir = work_dir_,
                                                .lease_micros = 2'000'000,
                                                .heartbeat_micros = 200'000,
                                                .poll_micros = 20'000,
                                                .executor = executor_.Make()});
    EXPECT_TRUE(engine.has_value());
    return std::move(*engine);
  }

  std::vector<std::string> EventKinds(const std::string& run_id) {
    std::vector<std::string> kinds;
    const std::vector<Event> events = *store_->ReadEvents(0, 10000, run_id);
    for (const Event& e : events) {
      if (e.kind != "task.progress") kinds.push_back(e.kind);
    }
    return kinds;
  }

  int CountEvents(const std::string& run_id, std::string_view kind, std::string_view task = {}) {
    int n = 0;
    const std::vector<Event> events = *store_->ReadEvents(0, 10000, run_id);
    for (const Event& e : events) {
      if (e.kind != kind) continue;
      if (!task.empty() && (*ParseJson(e.payload, "e")).value("task", "") != task) continue;
      ++n;
    }
    return n;
  }

  std::string work_dir_;
  ScriptedExecutor executor_;
};

constexpr std::string_view kTwoPhases = R"(run: two-phases
phases:
  - name: preflight
    tasks:
      - {id: a, type: check.connect, with: {url: "sqlite:///x.db"}}
      - {id: b, type: check.disk, with: {path: /tmp, free: 1}}
  - name: replicate
    tasks:
      - {id: c, type: copy, with: {from: "sqlite:///x.db", to: "sqlite:///y.db"}, depends_on: [a]}
      - {id: d, type: verify, with: {from: "sqlite:///x.db", to: "sqlite:///y.db"}, depends_on: [c]}
)";

TEST_P(EngineTest, RunsEveryTaskOnceInPhaseAndDependencyOrder) {
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  std::vector<std::string> seen;
  auto status = engine->Drive(*id, 2, [&](const RunStatus& s) { seen.push_back(s.state); });
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_FALSE(seen.empty());
  const auto executed = executor_.executed();
  ASSERT_EQ(executed.size(), 4u);
  // Phase order: a and b (any order) before c, c before d.
  auto pos = [&](const std::string& t) {
    return std::ranges::find(executed, t) - executed.begin();
  };
  EXPECT_LT(pos("a"), pos("c"));
  EXPECT_LT(pos("b"), pos("c"));
  EXPECT_LT(pos("c"), pos("d"));
  for (const TaskStatus& t : status->tasks) {
    EXPECT_EQ(t.state, "done") << t.id;
    EXPECT_EQ(t.attempts, 1) << t.id;
    EXPECT_EQ(t.result.value("task", ""), t.id);
    EXPECT_GT(t.started_micros, 0) << t.id;
    EXPECT_GE(t.finished_micros, t.started_micros) << t.id;
    EXPECT_EQ(CountEvents(*id, "task.completed", t.id), 1) << t.id;
  }
  EXPECT_EQ(status->rows_done, 80);
  EXPECT_EQ(CountEvents(*id, "phase.started"), 2);
  EXPECT_EQ(CountEvents(*id, "run.succeeded"), 1);
  EXPECT_EQ(store_->GetRun(*id)->state, "succeeded");
  EXPECT_THAT(executor_.snapshots(), ::testing::UnorderedElementsAre("a", "b", "c", "d"));
  EXPECT_TRUE(store_->VerifyEventLog()->intact);

  auto runs = engine->ListRuns(10);
  ASSERT_TRUE(runs.has_value());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].tasks_done, 4);
  EXPECT_EQ((*runs)[0].state, "succeeded");
}

TEST_P(EngineTest, ViewersCannotStartOrControlRuns) {
  auto engine = MakeEngine();
  auto denied = engine->Start(kTwoPhases, "two.yaml", kViewer);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.error().message(), HasSubstr("needs the role operator"));
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(engine->Pause(*id, kViewer).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engine->Cancel(*id, kViewer).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engine->Rollback(*id, kViewer).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engine->GetStatus("run_nope").error().code(), StatusCode::kNotFound);
  auto bad = engine->Start("run: x\nphases: [", "bad.yaml", kOperator);
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("bad.yaml:"));
  EXPECT_EQ(store_->ListRuns("workflow", 10)->size(), 1u);  // nothing half-written
}

constexpr std::string_view kGated = R"(run: gated
phases:
  - name: replicate
    tasks:
      - {id: copy, type: copy, with: {from: "sqlite:///x.db", to: "sqlite:///y.db"}}
  - name: cutover
    approval: operator
    tasks:
      - {id: switch, type: command, with: {run: "true"}}
  - name: decommission
    approval: admin
    tasks:
      - {id: retire, type: command, with: {run: "true"}}
)";

TEST_P(EngineTest, ApprovalGatesWaitForTheRoleAndRecordWhoAndWhen) {
  auto engine = MakeEngine();
  auto id = engine->Start(kGated, "gated.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  auto status = engine->Drive(*id, 1);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "waiting-approval");
  EXPECT_EQ(status->awaiting, "cutover");
  EXPECT_THAT(executor_.executed(), ElementsAre("copy"));
  EXPECT_EQ(CountEvents(*id, "approval.requested"), 1);

  Status viewer = engine->Approve(*id, "cutover", kViewer);
  EXPECT_EQ(viewer.code(), StatusCode::kPermissionDenied);
  Status wrong_phase = engine->Approve(*id, "decommission", kAdmin);
  EXPECT_EQ(wrong_phase.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong_phase.message(), HasSubstr("the phase awaiting approval is 'cutover'"));
  EXPECT_EQ(engine->Approve(*id, "nope", kAdmin).code(), StatusCode::kNotFound);
  EXPECT_EQ(engine->Resume(*id, kOperator).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CountEvents(*id, "run.approved"), 0);

  ASSERT_TRUE(engine->Approve(*id, "cutover", kOperator).ok());
  status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "waiting-approval");
  EXPECT_EQ(status->awaiting, "decommission");
  Status operator_denied = engine->Approve(*id, "decommission", kOperator);
  EXPECT_EQ(operator_denied.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(operator_denied.message(), HasSubstr("needs the role admin"));
  ASSERT_TRUE(engine->Approve(*id, "decommission", kAdmin).ok());
  status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_THAT(executor_.executed(), ElementsAre("copy", "switch", "retire"));
  EXPECT_EQ(status->phases[1].approved_by, "test:olga");
  EXPECT_GT(status->phases[1].approved_micros, 0);
  EXPECT_EQ(status->phases[2].approved_by, "test:ada");
  // The approval request comes before the decision, which comes before the phase's work.
  const auto kinds = EventKinds(*id);
  auto first = [&](std::string_view k) { return std::ranges::find(kinds, k) - kinds.begin(); };
  EXPECT_LT(first("approval.requested"), first("run.approved"));
  EXPECT_EQ(CountEvents(*id, "approval.requested"), 2);
}

TEST_P(EngineTest, RetriesWithBackoffThenFailsWithTheWayOutAndResumes) {
  executor_.scripts["c"] = {.fail_first = 3};
  auto engine = MakeEngine();
  std::string spec(kTwoPhases);
  spec.replace(spec.find("depends_on: [a]}"), 16, "depends_on: [a], retries: 1, backoff: 50ms}");
  auto id = engine->Start(spec, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  auto status = engine->Drive(*id, 2);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "failed");
  EXPECT_THAT(status->error, HasSubstr("task c failed: c attempt 2 failed"));
  EXPECT_THAT(status->error, HasSubstr("ferry run resume"));
  EXPECT_EQ(executor_.attempts("c"), 2);
  EXPECT_EQ(CountEvents(*id, "task.failed", "c"), 2);
  EXPECT_EQ(CountEvents(*id, "run.failed"), 1);
  EXPECT_EQ(status->phases[1].state, "failed");

  // The second attempt waited for the backoff after the first.
  std::vector<int64_t> failed_at;
  const std::vector<Event> events = *store_->ReadEvents(0, 1000, *id);
  for (const Event& e : events) {
    if (e.kind == "task.failed") failed_at.push_back(e.at_micros);
  }
  ASSERT_EQ(failed_at.size(), 2u);
  EXPECT_GE(failed_at[1] - failed_at[0], 50'000);

  // Resume retries the failed task (it fails once more, then succeeds); completed tasks do
  // not run again.
  ASSERT_TRUE(engine->Resume(*id, kOperator).ok());
  status = engine->Drive(*id, 2);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(executor_.attempts("c"), 4);
  EXPECT_EQ(executor_.attempts("a"), 1);
  EXPECT_EQ(CountEvents(*id, "task.completed", "a"), 1);
  EXPECT_EQ(CountEvents(*id, "run.resumed"), 1);
}

TEST_P(EngineTest, AnUnavailableCapabilityFailsAtOnceWithoutRetries) {
  auto engine = Engine::Create(
      store_.get(),
      {.store_url = location_->url(),
       .work_dir = work_dir_,
       .poll_micros = 20'000,
       .executor = {.snapshot = [](const TaskRun&) -> Result<Json> { return Json::object(); },
                    .execute = [](const TaskRun& run) -> Result<Json> {
                      return Err(Unimplemented("task `{}` ({}): not available yet", run.spec->id,
                                               run.spec->type));
                    },
                    .undo = [](const TaskRun&, const Json&, const Json&) -> Result<Json> {
                      return Json::object();
                    }}});
  ASSERT_TRUE(engine.has_value());
  auto id = (*engine)->Start(R"(run: quota
phases:
  - name: preflight
    tasks:
      - {id: quota, type: check.quota, retries: 5, backoff: 1h}
)",
                             "quota.yaml", kOperator);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  auto status = (*engine)->Drive(*id, 1);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "failed");
  EXPECT_THAT(status->error, HasSubstr("not available yet"));
  EXPECT_EQ(status->tasks[0].attempts, 1);  // no retry, no hour of backoff
}

TEST_P(EngineTest, TimeoutStopsTheAttemptAndSaysSo) {
  executor_.scripts["a"] = {.block = true};
  auto engine = MakeEngine();
  std::string spec(kTwoPhases);
  spec.replace(spec.find("url: \"sqlite:///x.db\"}}"), 23,
               "url: \"sqlite:///x.db\"}, timeout: 300ms}");
  auto id = engine->Start(spec, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  auto status = engine->Drive(*id, 2);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "failed");
  EXPECT_THAT(status->error, HasSubstr("timed out after 300ms"));
  EXPECT_EQ(executor_.blocked.load(), 0);
}

TEST_P(EngineTest, PauseStopsNewTasksAndResumeGoesOn) {
  executor_.scripts["a"] = {.block = true};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(engine->RunWorkers(2).ok());
  while (executor_.blocked.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(engine->Pause(*id, kOperator).ok());
  EXPECT_EQ(engine->Pause(*id, kOperator).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine->GetStatus(*id)->state, "paused");
  engine->Stop();  // gives the blocked task back without counting an attempt
  EXPECT_EQ(engine->GetStatus(*id)->state, "paused");
  executor_.scripts["a"] = {};
  ASSERT_TRUE(engine->Resume(*id, kOperator).ok());
  auto status = engine->Drive(*id, 2);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(status->tasks[0].attempts, 1);  // the shutdown did not count
  EXPECT_EQ(CountEvents(*id, "task.completed"), 4);
}

TEST_P(EngineTest, RollbackUndoesStartedTasksInReverseOrder) {
  executor_.scripts["d"] = {.fail_first = 5};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  auto status = engine->Drive(*id, 1);
  ASSERT_EQ(status->state, "failed");
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  status = engine->Drive(*id, 1);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "rolled-back");
  // d (failed, still undone: it may have written part of its work), then c, then b and a in
  // reverse of their starts.
  const auto undone = executor_.undone();
  ASSERT_EQ(undone.size(), 4u);
  EXPECT_EQ(undone[0], "d");
  EXPECT_EQ(undone[1], "c");
  auto [snapshot, result] = executor_.undo_inputs("c");
  EXPECT_EQ(snapshot.value("before", ""), "c-state");
  EXPECT_EQ(result.value("task", ""), "c");                  // completed: its result
  EXPECT_TRUE(executor_.undo_inputs("d").second.is_null());  // not completed
  for (const TaskStatus& t : status->tasks) EXPECT_EQ(t.state, "undone") << t.id;
  EXPECT_EQ(CountEvents(*id, "task.undone"), 4);
  EXPECT_EQ(CountEvents(*id, "run.rolled-back"), 1);
  Status again = engine->Rollback(*id, kOperator);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("already rolled-back"));
}

TEST_P(EngineTest, AFailedUndoStopsTheRollbackUntilRetried) {
  executor_.scripts["c"] = {.undo_fail_first = 3};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_EQ(engine->Drive(*id, 1)->state, "succeeded");
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  auto status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "rollback-failed");
  EXPECT_THAT(status->error, HasSubstr("the undo of task c failed"));
  EXPECT_THAT(executor_.undone(), ElementsAre("d"));  // nothing after c was undone
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "rolled-back");
  const auto undone = executor_.undone();
  ASSERT_EQ(undone.size(), 4u);
  EXPECT_EQ(undone[1], "c");
}

TEST_P(EngineTest, CancelStopsTheRunningTaskAndACancelledRunCannotResume) {
  executor_.scripts["a"] = {.block = true};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(engine->RunWorkers(2).ok());
  while (executor_.blocked.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(engine->Cancel(*id, kOperator).ok());
  while (executor_.blocked.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  engine->Stop();
  auto status = engine->GetStatus(*id);
  EXPECT_EQ(status->state, "cancelled");
  Status resume = engine->Resume(*id, kOperator);
  EXPECT_EQ(resume.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(resume.message(), HasSubstr("was cancelled and cannot resume"));
  EXPECT_THAT(resume.message(), HasSubstr("ferry run rollback"));
  EXPECT_EQ(engine->Cancel(*id, kOperator).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "rolled-back");
}

TEST_P(EngineTest, LeasesOfADeadProcessAreGivenBackAndTheTaskRunsOnce) {
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  // Schedule the first phase, then let a process that died hold task a.
  ASSERT_EQ(engine->GetStatus(*id)->state, "running");
  pid_t child = fork();
  if (child == 0) _exit(0);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  const std::string dead = HostWorkerId();
  const std::string dead_worker =
      dead.substr(0, dead.find(':')) + ":" + std::to_string(child) + ":deadbeef";
  // Enqueue as the engine would, then claim as the dead worker.
  ASSERT_TRUE(store_->Enqueue({.queue = "run:" + *id,
                               .kind = "check.connect",
                               .payload = Json{{"task", "a"}}.dump(),
                               .dedupe_key = "a"}));
  auto claimed =
      store_->Claim("run:" + *id, {.worker = dead_worker, .lease_micros = 3'600'000'000});
  ASSERT_EQ(claimed->size(), 1u);
  auto status = engine->Drive(*id, 2);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(CountEvents(*id, "task.completed", "a"), 1);
  EXPECT_EQ(executor_.attempts("a"), 1);
}

constexpr std::string_view kWide = R"(run: wide
phases:
  - name: load
    tasks:
      - {id: t1, type: command, with: {run: "true"}}
      - {id: t2, type: command, with: {run: "true"}}
      - {id: t3, type: command, with: {run: "true"}}
      - {id: t4, type: command, with: {run: "true"}}
      - {id: t5, type: command, with: {run: "true"}, depends_on: [t1]}
      - {id: t6, type: command, with: {run: "true"}, depends_on: [t2]}
  - name: cutover
    approval: operator
    tasks:
      - {id: s1, type: command, with: {run: "true"}}
      - {id: s2, type: command, with: {run: "true"}, depends_on: [s1]}
)";

// Two engines (two processes would do the same: each has its own fold and worker id) drive the
// same run at once, each with several threads. Every task runs to completion once, every
// announcement (phase.started, approval.requested, run.succeeded, run.rolled-back) is made once,
// and every undo runs once, in reverse order of the tasks' starts.
TEST_P(EngineTest, TwoEnginesDrivingTheSameRunDoEverythingOnceAndInOrder) {
  auto other_store = Store::Open(location_->url());
  ASSERT_TRUE(other_store.has_value()) << other_store.error().ToString();
  auto first = MakeEngine();
  auto second_or = Engine::Create(other_store->get(), {.store_url = location_->url(),
                                                       .work_dir = work_dir_,
                                                       .lease_micros = 2'000'000,
                                                       .heartbeat_micros = 200'000,
                                                       .poll_micros = 5'000,
                                                       .executor = executor_.Make()});
  ASSERT_TRUE(second_or.has_value());
  std::unique_ptr<Engine> second = std::move(*second_or);
  auto both = [&](const std::string& id, std::string_view want) {
    Result<RunStatus> a = Err(Internal("not run")), b = Err(Internal("not run"));
    std::thread ta([&] { a = first->Drive(id, 3); });
    std::thread tb([&] { b = second->Drive(id, 3); });
    ta.join();
    tb.join();
    ASSERT_TRUE(a.has_value()) << a.error().ToString();
    ASSERT_TRUE(b.has_value()) << b.error().ToString();
    // One of them may stop on a resting state the other then moves past (the announcement of
    // the end comes from whichever sees it first); the run as a whole reaches `want`.
    auto status = first->GetStatus(id);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->state, want);
  };
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    auto id = first->Start(kWide, "wide.yaml", kOperator);
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    both(*id, "waiting-approval");
    EXPECT_EQ(CountEvents(*id, "approval.requested"), 1);
    ASSERT_TRUE(second->Approve(*id, "cutover", kOperator).ok());
    both(*id, "succeeded");
    for (const char* t : {"t1", "t2", "t3", "t4", "t5", "t6", "s1", "s2"}) {
      EXPECT_EQ(CountEvents(*id, "task.completed", t), 1) << t;
      EXPECT_EQ(CountEvents(*id, "task.started", t), 1) << t;
    }
    EXPECT_EQ(CountEvents(*id, "phase.started"), 2);
    EXPECT_EQ(CountEvents(*id, "run.succeeded"), 1);

    ASSERT_TRUE(first->Rollback(*id, kOperator).ok());
    both(*id, "rolled-back");
    EXPECT_EQ(CountEvents(*id, "run.rolled-back"), 1);
    // Undone in reverse order of first start, each once.
    std::vector<std::string> starts, undos;
    const std::vector<Event> events = *store_->ReadEvents(0, 10000, *id);
    for (const Event& e : events) {
      const std::string task = (*ParseJson(e.payload, "e")).value("task", "");
      if (e.kind == "task.started" && std::ranges::find(starts, task) == starts.end()) {
        starts.push_back(task);
      }
      if (e.kind == "task.undone") undos.push_back(task);
    }
    std::ranges::reverse(starts);
    EXPECT_EQ(undos, starts);
    EXPECT_TRUE(store_->VerifyEventLog()->intact);
  }
  const auto executed = executor_.executed();
  EXPECT_EQ(executed.size(), 24u);
  EXPECT_EQ(executor_.undone().size(), 24u);
}

constexpr std::string_view kGatedFirst = R"(run: gated-first
phases:
  - name: cutover
    approval: operator
    tasks:
      - {id: switch, type: command, with: {run: "true"}}
  - name: after
    tasks:
      - {id: tidy, type: command, with: {run: "true"}}
)";

TEST_P(EngineTest, AnApprovalOnTheFirstPhaseWaitsBeforeAnyTask) {
  auto engine = MakeEngine();
  auto id = engine->Start(kGatedFirst, "first.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  auto status = engine->Drive(*id, 2);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "waiting-approval");
  EXPECT_EQ(status->awaiting, "cutover");
  EXPECT_TRUE(executor_.executed().empty());
  EXPECT_EQ(CountEvents(*id, "approval.requested"), 1);
  EXPECT_EQ(CountEvents(*id, "phase.started"), 0);
  ASSERT_TRUE(engine->Approve(*id, "cutover", kOperator).ok());
  status = engine->Drive(*id, 2);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_THAT(executor_.executed(), ElementsAre("switch", "tidy"));
  EXPECT_EQ(CountEvents(*id, "approval.requested"), 1);
}

TEST_P(EngineTest, ARunPausedWhileWaitingForApprovalCanBeApprovedAndStaysPausedUntilResumed) {
  auto engine = MakeEngine();
  auto id = engine->Start(kGated, "gated.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_EQ(engine->Drive(*id, 1)->state, "waiting-approval");
  ASSERT_TRUE(engine->Pause(*id, kOperator).ok());
  EXPECT_EQ(engine->GetStatus(*id)->state, "paused");
  // The approver need not wait for the resume; the approval is recorded, nothing starts.
  Status approved = engine->Approve(*id, "cutover", kOperator);
  ASSERT_TRUE(approved.ok()) << approved.ToString();
  auto status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "paused");
  EXPECT_THAT(executor_.executed(), ElementsAre("copy"));
  EXPECT_EQ(status->phases[1].approved_by, "test:olga");
  // Only the phase that waits can be approved while paused.
  Status later = engine->Approve(*id, "decommission", kAdmin);
  EXPECT_EQ(later.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(engine->Resume(*id, kOperator).ok());
  status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "waiting-approval");
  EXPECT_EQ(status->awaiting, "decommission");
  EXPECT_THAT(executor_.executed(), ElementsAre("copy", "switch"));
}

TEST_P(EngineTest, CancelWhileWaitingForApprovalThenRollbackUndoesWhatRan) {
  executor_.scripts["copy"] = {.undo_slow = true};  // the cancel must not stop the undo
  auto engine = MakeEngine();
  auto id = engine->Start(kGated, "gated.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_EQ(engine->Drive(*id, 1)->state, "waiting-approval");
  ASSERT_TRUE(engine->Cancel(*id, kOperator).ok());
  auto status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "cancelled");
  EXPECT_EQ(engine->Approve(*id, "cutover", kOperator).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "rolled-back");
  EXPECT_THAT(executor_.undone(), ElementsAre("copy"));
  EXPECT_THAT(executor_.executed(), ElementsAre("copy"));
  EXPECT_EQ(CountEvents(*id, "run.rolled-back"), 1);
}

TEST_P(EngineTest, RollbackOfARunWhereNothingStartedIsDoneAtOnce) {
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  auto status = engine->Drive(*id, 2);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "rolled-back");
  EXPECT_TRUE(executor_.executed().empty());
  EXPECT_TRUE(executor_.undone().empty());
  EXPECT_EQ(CountEvents(*id, "task.started"), 0);
  EXPECT_EQ(CountEvents(*id, "run.rolled-back"), 1);
}

TEST_P(EngineTest, PauseDuringRollbackIsRefusedAndTheRollbackFinishes) {
  executor_.scripts["a"] = {.undo_fail_first = 1};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  ASSERT_EQ(engine->Drive(*id, 1)->state, "succeeded");
  ASSERT_TRUE(engine->Rollback(*id, kOperator).ok());
  ASSERT_EQ(engine->GetStatus(*id)->state, "rolling-back");
  Status paused = engine->Pause(*id, kOperator);
  EXPECT_EQ(paused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(paused.message(), HasSubstr("rolling-back"));
  EXPECT_EQ(engine->Resume(*id, kOperator).code(), StatusCode::kFailedPrecondition);
  auto status = engine->Drive(*id, 1);
  EXPECT_EQ(status->state, "rolled-back");
  EXPECT_EQ(executor_.undone().size(), 4u);
}

// A task of the first phase fails for good while the other finishes: the run fails in that
// phase, the later phase never opens, and a resume retries only the failed task.
TEST_P(EngineTest, ResumeOfARunFailedInItsFirstPhaseRetriesOnlyTheFailedTask) {
  executor_.scripts["b"] = {.fail_first = 1};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  auto status = engine->Drive(*id, 2);
  ASSERT_EQ(status->state, "failed");
  EXPECT_THAT(status->error, HasSubstr("task b failed"));
  EXPECT_EQ(status->phases[0].state, "failed");
  EXPECT_EQ(status->phases[1].state, "pending");
  EXPECT_THAT(executor_.executed(), ElementsAre("a"));
  EXPECT_EQ(CountEvents(*id, "run.failed"), 1);
  ASSERT_TRUE(engine->Resume(*id, kOperator).ok());
  status = engine->Drive(*id, 2);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(executor_.attempts("a"), 1);
  EXPECT_EQ(executor_.attempts("b"), 2);
  EXPECT_EQ(CountEvents(*id, "run.failed"), 1);
  EXPECT_EQ(CountEvents(*id, "run.succeeded"), 1);
}

// The foreground Drive of one run ends without stopping the engine's background workers
// (RunWorkers), nor taking the leases of their tasks.
TEST_P(EngineTest, DriveEndingLeavesTheBackgroundWorkersRunning) {
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->RunWorkers(2).ok());
  auto first = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(engine->Drive(*first, 1)->state, "succeeded");
  auto second = engine->Start(kGatedFirst, "first.yaml", kOperator);
  ASSERT_TRUE(second.has_value());
  std::string state;
  for (int i = 0; i < 500 && state != "waiting-approval"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = engine->GetStatus(*second)->state;
  }
  EXPECT_EQ(state, "waiting-approval");  // only the background workers announce it
  EXPECT_EQ(CountEvents(*second, "approval.requested"), 1);
  ASSERT_TRUE(engine->Approve(*second, "cutover", kOperator).ok());
  for (int i = 0; i < 500 && state != "succeeded"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = engine->GetStatus(*second)->state;
  }
  EXPECT_EQ(state, "succeeded");
  engine->Stop();
}

// Stop() while a Drive runs (a server shutting down, a signal): Drive returns the state reached,
// and the interrupted task goes back without counting as an attempt.
TEST_P(EngineTest, StopWhileDrivingReturnsAndGivesTheTaskBack) {
  executor_.scripts["a"] = {.block = true};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  std::atomic<bool> returned{false};
  Result<RunStatus> driven = Err(Internal("not run"));
  std::thread driver([&] {
    driven = engine->Drive(*id, 2);
    returned = true;
  });
  while (executor_.blocked.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  engine->Stop();
  for (int i = 0; i < 300 && !returned; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(returned.load()) << "Drive did not return after Stop()";
  if (!returned) {
    EXPECT_TRUE(engine->Cancel(*id, kOperator).ok());  // lets it return
  }
  driver.join();
  ASSERT_TRUE(driven.has_value()) << driven.error().ToString();
  EXPECT_EQ(driven->state, "running");
  auto tasks = store_->ListTasks("run:" + *id);
  ASSERT_TRUE(tasks.has_value());
  for (const Task& t : *tasks) {
    EXPECT_NE(t.state, TaskState::kLeased) << t.payload;
    if (t.state != TaskState::kDone) {
      EXPECT_EQ(t.attempts, 0) << t.payload;
    }
  }
  // Another Drive picks the run up at once (no lease to wait for).
  executor_.scripts["a"] = {};
  auto status = engine->Drive(*id, 2);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(CountEvents(*id, "task.completed", "a"), 1);
}

// How long a reader waits for the engine while its workers go round: many runs resting (waiting
// for approval) and one running. Printed, not asserted (timings depend on the machine).
TEST_P(EngineTest, GetStatusLatencyWhileWorkersGoRound) {
  executor_.scripts["a"] = {.block = true};
  auto engine = MakeEngine();
  std::vector<std::string> resting;
  for (int i = 0; i < 40; ++i) {
    auto id = engine->Start(kGatedFirst, "first.yaml", kOperator);
    ASSERT_TRUE(id.has_value());
    resting.push_back(*id);
  }
  auto busy = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(busy.has_value());
  ASSERT_TRUE(engine->RunWorkers(3).ok());
  while (executor_.blocked.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (const std::string& id : resting) {
    for (int i = 0; i < 1000 && engine->GetStatus(id)->state != "waiting-approval"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::vector<int64_t> micros;
  for (int i = 0; i < 100; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto status = engine->GetStatus(resting[i % resting.size()]);
    micros.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    ASSERT_TRUE(status.has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  std::ranges::sort(micros);
  std::printf(
      "GetStatus with 40 resting runs, 1 running, 3 workers (%s): p50 %lld us, p90 %lld "
      "us, max %lld us\n",
      GetParam().c_str(), static_cast<long long>(micros[50]), static_cast<long long>(micros[90]),
      static_cast<long long>(micros.back()));
  ASSERT_TRUE(engine->Cancel(*busy, kOperator).ok());
  engine->Stop();
}

// A new engine (each `ferry run status` is one) folds a run from that run's own events: the
// progress events of other runs, millions after weeks, are not read. Its status of a run is the
// same as that of the engine that ran it. The time of the first status is printed.
TEST_P(EngineTest, ANewEngineFoldsOnlyTheRunsItIsAskedAbout) {
  auto engine = MakeEngine();
  auto done = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(done.has_value());
  ASSERT_EQ(engine->Drive(*done, 2)->state, "succeeded");
  auto noisy = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(noisy.has_value());
  // A long-running task of another run reporting progress: 20,000 events.
  std::vector<EventSpec> progress;
  for (int i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(store_
                    ->AppendEvent({.run_id = *noisy,
                                   .actor = "worker:elsewhere",
                                   .kind = "task.progress",
                                   .payload = {{"task", "a"}, {"rows_done", i}}})
                    .has_value());
  }
  auto gated = engine->Start(kGatedFirst, "first.yaml", kOperator);
  ASSERT_TRUE(gated.has_value());
  ASSERT_EQ(engine->Drive(*gated, 1)->state, "waiting-approval");

  auto fresh = MakeEngine();
  const auto t0 = std::chrono::steady_clock::now();
  auto status = fresh->GetStatus(*done);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("first GetStatus of a new engine, 20,000 events of another run (%s): %lld us\n",
              GetParam().c_str(), static_cast<long long>(micros));
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  auto original = engine->GetStatus(*done);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(status->rows_done, original->rows_done);
  ASSERT_EQ(status->tasks.size(), original->tasks.size());
  for (size_t i = 0; i < status->tasks.size(); ++i) {
    EXPECT_EQ(status->tasks[i].state, original->tasks[i].state);
    EXPECT_EQ(status->tasks[i].started_micros, original->tasks[i].started_micros);
    EXPECT_EQ(status->tasks[i].progress.rows_done, original->tasks[i].progress.rows_done);
  }
  // Decisions through the new engine see the state the events make.
  EXPECT_EQ(fresh->GetStatus(*noisy)->tasks[0].progress.rows_done, 19'999);
  ASSERT_TRUE(fresh->Approve(*gated, "cutover", kOperator).ok());
  EXPECT_EQ(fresh->Drive(*gated, 1)->state, "succeeded");
  // A listing and the background workers know every run.
  auto runs = MakeEngine()->ListRuns(10);
  ASSERT_TRUE(runs.has_value());
  ASSERT_EQ(runs->size(), 3u);
  for (const RunSummary& r : *runs) {
    if (r.id == *noisy) {
      EXPECT_EQ(r.state, "running");
    } else {
      EXPECT_EQ(r.state, "succeeded") << r.id;
      EXPECT_EQ(r.tasks_done, r.tasks_total) << r.id;
    }
  }
  auto worker = MakeEngine();
  ASSERT_TRUE(worker->RunWorkers(2).ok());
  std::string state;
  for (int i = 0; i < 1000 && state != "succeeded"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = worker->GetStatus(*noisy)->state;
  }
  EXPECT_EQ(state, "succeeded");
  worker->Stop();
}

// A rollback decided while a task's attempt ends (its completion commits just after the
// rollback.started event, before any engine saw the rollback): the task is undone once, after it
// ended, and before the tasks that started before it.
TEST_P(EngineTest, ARollbackDecidedWhileATaskCompletesUndoesItOnceAndFirst) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    executor_.scripts["c"] = {.hold = true};
    executor_.release = false;
    auto engine = MakeEngine();
    auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
    ASSERT_TRUE(id.has_value());
    Result<RunStatus> driven = Err(Internal("not run"));
    std::thread driver([&] { driven = engine->Drive(*id, 2); });
    while (executor_.blocked.load() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Another engine (another process) decides the rollback; the attempt ends at once.
    auto other = MakeEngine();
    ASSERT_TRUE(other->Rollback(*id, kOperator).ok());
    executor_.release = true;
    driver.join();
    ASSERT_TRUE(driven.has_value()) << driven.error().ToString();
    auto status = other->Drive(*id, 2);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->state, "rolled-back");
    EXPECT_EQ(CountEvents(*id, "task.undone", "c"), 1);
    EXPECT_EQ(CountEvents(*id, "run.rolled-back"), 1);
    // c ended (completed or stopped) before its undo, and was undone first.
    std::vector<std::string> kinds;
    std::string first_undone;
    const std::vector<Event> events = *store_->ReadEvents(0, 10000, *id);
    for (const Event& e : events) {
      const std::string task = (*ParseJson(e.payload, "e")).value("task", "");
      if (task != "c" && !(e.kind == "task.undone" && first_undone.empty())) continue;
      if (e.kind == "task.undone" && first_undone.empty()) first_undone = task;
      if (task == "c") kinds.push_back(e.kind);
    }
    EXPECT_EQ(first_undone, "c");
    ASSERT_GE(kinds.size(), 3u);
    EXPECT_EQ(kinds.back(), "task.undone");
    EXPECT_TRUE(kinds[kinds.size() - 2] == "task.completed" ||
                kinds[kinds.size() - 2] == "task.failed")
        << kinds[kinds.size() - 2];
  }
}

// The engine destroyed while a Drive runs (a signal handler's shutdown): the Drive returns the
// state reached first, and the task goes back.
TEST_P(EngineTest, DestroyingTheEngineWhileDrivingWaitsForTheDriveToReturn) {
  executor_.scripts["a"] = {.block = true};
  auto engine = MakeEngine();
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  Result<RunStatus> driven = Err(Internal("not run"));
  Engine* raw = engine.get();
  std::thread driver([&] { driven = raw->Drive(*id, 2); });
  while (executor_.blocked.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  engine.reset();
  driver.join();
  ASSERT_TRUE(driven.has_value()) << driven.error().ToString();
  EXPECT_EQ(driven->state, "running");
  const std::vector<Task> tasks = *store_->ListTasks("run:" + *id);
  for (const Task& t : tasks) {
    EXPECT_NE(t.state, TaskState::kLeased) << t.payload;
  }
}

// A run whose recorded spec does not parse here (started by another version of ferry, or an
// edited store) is set aside with a precise error; the other runs go on.
TEST_P(EngineTest, ARunThatCannotBeReadDoesNotStopTheOthers) {
  const std::string broken = "run_01BROKENBROKENBROKENBROKEN";
  ASSERT_TRUE(store_
                  ->CreateRun({.id = broken,
                               .kind = "workflow",
                               .state = "running",
                               .fingerprint = "broken",
                               .spec = CanonicalJson(Json{{"yaml", "run: x\nphases: ["},
                                                          {"source", "broken.yaml"},
                                                          {"started_by", "test:olga"}}),
                               .result = "{}"})
                  .ok());
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->RunWorkers(2).ok());
  ASSERT_TRUE(store_->AppendEvent({.run_id = broken, .actor = "test:olga", .kind = "run.started"})
                  .has_value());
  auto id = engine->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  std::string state;
  for (int i = 0; i < 1000 && state != "succeeded"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto status = engine->GetStatus(*id);
    ASSERT_TRUE(status.has_value()) << status.error().ToString();
    state = status->state;
  }
  EXPECT_EQ(state, "succeeded");
  engine->Stop();
  auto unreadable = engine->GetStatus(broken);
  ASSERT_FALSE(unreadable.has_value());
  EXPECT_EQ(unreadable.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(unreadable.error().message(), HasSubstr("its recorded spec does not parse"));
  EXPECT_THAT(unreadable.error().message(), HasSubstr("broken.yaml"));
  // A new engine, asked about it first, says the same.
  auto fresh = MakeEngine();
  EXPECT_EQ(fresh->GetStatus(broken).error().code(), StatusCode::kFailedPrecondition);
  auto runs = fresh->ListRuns(10);
  ASSERT_TRUE(runs.has_value()) << runs.error().ToString();
  EXPECT_EQ(runs->size(), 2u);
}

// `ferry run resume` after a crash: a new engine, asked about the run only, gives the leases of
// the dead process back before it starts working (not at its next check, seconds later).
TEST_P(EngineTest, ANewEngineDrivingARunGivesBackDeadLeasesFirst) {
  auto id = MakeEngine()->Start(kTwoPhases, "two.yaml", kOperator);
  ASSERT_TRUE(id.has_value());
  pid_t child = fork();
  if (child == 0) _exit(0);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  const std::string self = HostWorkerId();
  const std::string dead_worker =
      self.substr(0, self.find(':')) + ":" + std::to_string(child) + ":deadbeef/1";
  ASSERT_TRUE(store_->Enqueue({.queue = "run:" + *id,
                               .kind = "check.connect",
                               .payload = Json{{"task", "a"}}.dump(),
                               .dedupe_key = "a"}));
  ASSERT_EQ(
      store_->Claim("run:" + *id, {.worker = dead_worker, .lease_micros = 3'600'000'000})->size(),
      1u);
  auto engine = MakeEngine();
  bool checked = false;
  auto status = engine->Drive(*id, 2, [&](const RunStatus&) {
    if (checked) return;
    checked = true;
    const std::vector<Task> tasks = *store_->ListTasks("run:" + *id);
    for (const Task& t : tasks) {
      EXPECT_FALSE(t.state == TaskState::kLeased && t.lease_owner == dead_worker)
          << "still held by the dead process";
    }
  });
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(checked);
  EXPECT_EQ(status->state, "succeeded");
  EXPECT_EQ(CountEvents(*id, "task.completed", "a"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace ferry::workflow
