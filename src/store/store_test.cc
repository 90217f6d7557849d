// Behaviour of the state store, run against both backends: a real SQLite file and a real
// PostgreSQL 15 server started by the test harness.
#include "store/store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/hash.h"
#include "base/ids.h"
#include "base/metrics.h"
#include "store/event_chain.h"
#include "store/migrations.h"
#include "store/store_test_util.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class StoreTest : public testing::StoreBackendTest {
 protected:
  Task ClaimOne(std::string_view queue, std::string worker, int64_t lease_micros = 30'000'000) {
    auto tasks = store_->Claim(queue, {.worker = std::move(worker), .lease_micros = lease_micros});
    EXPECT_TRUE(tasks.has_value()) << tasks.error().ToString();
    if (!tasks.has_value() || tasks->size() != 1) {
      ADD_FAILURE() << "expected exactly one task";
      return Task{};
    }
    return tasks->front();
  }
};

TEST_P(StoreTest, OpenAppliesEveryMigration) {
  auto status = store_->GetSchemaStatus();
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_EQ(status->backend, GetParam());
  EXPECT_EQ(status->current_version, store_internal::LatestSchemaVersion());
  EXPECT_TRUE(status->pending.empty());
  auto again = store_->Migrate();
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(*again, 0);
}

TEST_P(StoreTest, RefusesStoreWrittenByNewerFerry) {
  const int newer = store_internal::LatestSchemaVersion() + 1;
  ASSERT_TRUE(location_
                  ->Exec(fmt::format("INSERT INTO ferry_migrations (version, name, "
                                     "applied_at, ferry_version) VALUES ({}, 'future', 0, "
                                     "'99.0.0')",
                                     newer))
                  .ok());
  store_.reset();
  auto reopened = Store::Open(location_->url());
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reopened.error().ExitCode(), kExitUsage);
  EXPECT_THAT(reopened.error().message(), HasSubstr(fmt::format("schema version {}", newer)));
  EXPECT_THAT(reopened.error().message(), HasSubstr("upgrade ferry"));
  // Looking without migrating is refused the same way: nothing is written to a newer store.
  auto peek = Store::Open(location_->url(), {.migrate = false});
  ASSERT_FALSE(peek.has_value());
  EXPECT_EQ(peek.error().code(), StatusCode::kFailedPrecondition);
}

TEST_P(StoreTest, ClaimsByPriorityThenEnqueueOrder) {
  auto low = store_->Enqueue({.queue = "q", .kind = "k", .payload = "low", .priority = 0});
  auto high = store_->Enqueue({.queue = "q", .kind = "k", .payload = "high", .priority = 5});
  auto low2 = store_->Enqueue({.queue = "q", .kind = "k", .payload = "low2", .priority = 0});
  auto other = store_->Enqueue({.queue = "other", .kind = "k", .payload = "x"});
  ASSERT_TRUE(low && high && low2 && other);
  auto tasks = store_->Claim("q", {.worker = "w", .max_tasks = 10});
  ASSERT_TRUE(tasks.has_value()) << tasks.error().ToString();
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[0].payload, "high");
  EXPECT_EQ((*tasks)[1].payload, "low");
  EXPECT_EQ((*tasks)[2].payload, "low2");
  for (const Task& t : *tasks) {
    EXPECT_EQ(t.state, TaskState::kLeased);
    EXPECT_EQ(t.attempts, 1);
    EXPECT_EQ(t.lease_owner, "w");
    EXPECT_EQ(t.lease_token, 1);
  }
  auto none = store_->Claim("q", {.worker = "w2"});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, DedupeKeyReturnsTheExistingTask) {
  auto first = store_->Enqueue({.queue = "q", .kind = "chunk", .dedupe_key = "t1:0"});
  auto second = store_->Enqueue({.queue = "q", .kind = "chunk", .dedupe_key = "t1:0"});
  auto third = store_->Enqueue({.queue = "q", .kind = "chunk", .dedupe_key = "t1:1"});
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(*first, *second);
  EXPECT_NE(*first, *third);
  EXPECT_EQ(store_->GetQueueStats("q")->pending, 2);
}

TEST_P(StoreTest, TextWithNulIsKeptWholeOrRefused) {
  const std::string payload("before\0after", 12);
  auto id = store_->Enqueue({.queue = "q", .kind = "k", .payload = payload});
  if (GetParam() == "postgresql") {
    ASSERT_FALSE(id.has_value());
    EXPECT_EQ(id.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(id.error().message(), HasSubstr("NUL character at byte 6"));
    EXPECT_EQ(store_->GetQueueStats("q")->total(), 0);
  } else {
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    EXPECT_EQ(store_->GetTask(*id)->payload, payload);
  }
}

TEST_P(StoreTest, NotBeforeDelaysClaim) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k", .not_before_micros = INT64_MAX / 2}));
  EXPECT_TRUE(store_->Claim("q", {.worker = "w"})->empty());
}

TEST_P(StoreTest, CompleteRecordsResultAndIsIdempotentUnderTheSameLease) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k"}));
  Task task = ClaimOne("q", "w");
  ASSERT_TRUE(store_->Complete(task, "rows=10").ok());
  ASSERT_TRUE(store_->Complete(task, "rows=10").ok());  // a retried reply
  auto stored = store_->GetTask(task.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, TaskState::kDone);
  EXPECT_EQ(stored->result, "rows=10");
  auto stats = store_->GetQueueStats("q");
  EXPECT_EQ(stats->done, 1);
  EXPECT_EQ(stats->total(), 1);
}

TEST_P(StoreTest, CompleteWithEventsAppendsThemOnceAndNotForALostLease) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k"}));
  Task task = ClaimOne("q", "w");
  const std::vector<EventSpec> events = {
      {.run_id = "r1", .actor = "worker:w", .kind = "task.completed", .payload = {{"task", "a"}}}};
  ASSERT_TRUE(store_->Complete(task, "ok", events).ok());
  ASSERT_TRUE(store_->Complete(task, "ok", events).ok());  // a retried reply: no second event
  auto logged = store_->ReadEvents(0, 100, "r1");
  ASSERT_TRUE(logged.has_value());
  ASSERT_EQ(logged->size(), 1u);
  EXPECT_EQ((*logged)[0].kind, "task.completed");

  // A fenced-off holder appends nothing: the event and the completion are one transaction.
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k2"}));
  Task stale = ClaimOne("q", "worker-a", /*lease_micros=*/50'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Task fresh = ClaimOne("q", "worker-b");
  ASSERT_EQ(fresh.id, stale.id);
  EXPECT_EQ(store_->Complete(stale, "late", events).code(), StatusCode::kAborted);
  EXPECT_EQ(store_->Fail(stale, "late", 0, events).code(), StatusCode::kAborted);
  EXPECT_EQ(store_->ReadEvents(0, 100, "r1")->size(), 1u);
  ASSERT_TRUE(
      store_->Fail(fresh, "boom", 0, {{.run_id = "r1", .actor = "w", .kind = "task.failed"}}).ok());
  EXPECT_EQ(store_->ReadEvents(0, 100, "r1")->back().kind, "task.failed");
  EXPECT_TRUE(store_->VerifyEventLog()->intact);
}

TEST_P(StoreTest, ListRunsIsNewestFirstAndLimited) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->CreateRun({.id = "w" + std::to_string(i), .kind = "workflow"}).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(store_->CreateRun({.id = "c0", .kind = "copy"}).ok());
  auto runs = store_->ListRuns("workflow", 2);
  ASSERT_TRUE(runs.has_value()) << runs.error().ToString();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, "w2");
  EXPECT_EQ((*runs)[1].id, "w1");
}

TEST_P(StoreTest, ExpiredLeaseIsReclaimedAndTheOldHolderIsFenced) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "copy-chunk"}));
  Task stale = ClaimOne("q", "worker-a", /*lease_micros=*/50'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Task fresh = ClaimOne("q", "worker-b");
  EXPECT_EQ(fresh.id, stale.id);
  EXPECT_EQ(fresh.attempts, 2);
  EXPECT_GT(fresh.lease_token, stale.lease_token);

  Status late = store_->Complete(stale, "late");
  EXPECT_EQ(late.code(), StatusCode::kAborted);
  EXPECT_THAT(late.message(), HasSubstr("lease (token 1) was lost"));
  EXPECT_THAT(late.message(), HasSubstr("worker-b"));
  EXPECT_EQ(store_->Heartbeat(stale, 1'000'000).code(), StatusCode::kAborted);
  EXPECT_EQ(store_->Fail(stale, "x", 0).code(), StatusCode::kAborted);

  ASSERT_TRUE(store_->Complete(fresh, "ok").ok());
  EXPECT_EQ(store_->GetTask(fresh.id)->result, "ok");
}

TEST_P(StoreTest, HeartbeatKeepsTheLease) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k"}));
  Task task = ClaimOne("q", "w", /*lease_micros=*/300'000);
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(store_->Heartbeat(task, 300'000).ok());
  }
  EXPECT_TRUE(store_->Claim("q", {.worker = "thief"})->empty());
  EXPECT_TRUE(store_->Complete(task, "").ok());
}

TEST_P(StoreTest, FailRetriesUntilAttemptsRunOut) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k", .max_attempts = 2}));
  Task first = ClaimOne("q", "w");
  ASSERT_TRUE(store_->Fail(first, "connection reset", 0).ok());
  auto after_first = store_->GetTask(first.id);
  EXPECT_EQ(after_first->state, TaskState::kPending);
  EXPECT_EQ(after_first->last_error, "connection reset");
  Task second = ClaimOne("q", "w");
  EXPECT_EQ(second.attempts, 2);
  ASSERT_TRUE(store_->Fail(second, "connection reset again", 0).ok());
  auto final_state = store_->GetTask(first.id);
  EXPECT_EQ(final_state->state, TaskState::kFailed);
  EXPECT_EQ(final_state->attempts, 2);
  EXPECT_EQ(final_state->last_error, "connection reset again");
  EXPECT_EQ(store_->GetQueueStats("q")->failed, 1);
}

TEST_P(StoreTest, FailWithDelayPostponesTheRetry) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k"}));
  Task task = ClaimOne("q", "w");
  ASSERT_TRUE(store_->Fail(task, "busy", 3'600'000'000).ok());
  EXPECT_TRUE(store_->Claim("q", {.worker = "w"})->empty());
}

TEST_P(StoreTest, ExpiredLeaseOnLastAttemptFailsTheTask) {
  ASSERT_TRUE(store_->Enqueue({.queue = "q", .kind = "k", .max_attempts = 1}));
  Task task = ClaimOne("q", "crashy", /*lease_micros=*/20'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  auto reclaimed = store_->ReclaimExpired("q");
  ASSERT_TRUE(reclaimed.has_value());
  EXPECT_EQ(*reclaimed, 1);
  auto stored = store_->GetTask(task.id);
  EXPECT_EQ(stored->state, TaskState::kFailed);
  EXPECT_THAT(stored->last_error, HasSubstr("lease of crashy expired"));
}

TEST_P(StoreTest, EnqueueBatchIsAllOrNothing) {
  std::vector<TaskSpec> specs = {{.queue = "q", .kind = "k"}, {.queue = "q", .kind = ""}};
  auto ids = store_->EnqueueBatch(specs);
  ASSERT_FALSE(ids.has_value());
  EXPECT_EQ(ids.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetQueueStats("q")->total(), 0);
  specs[1].kind = "k";
  ids = store_->EnqueueBatch(specs);
  ASSERT_TRUE(ids.has_value()) << ids.error().ToString();
  EXPECT_EQ(ids->size(), 2u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
}

TEST_P(StoreTest, CountsQueueActivityInMetrics) {
  MetricsRegistry& registry = MetricsRegistry::Default();
  auto counter = [&](const char* name) -> double {
    return registry.GetCounter(name, "", {{"backend", GetParam()}}).Value();
  };
  const double enqueued = counter("ferry_queue_tasks_enqueued_total");
  const double claimed = counter("ferry_queue_tasks_claimed_total");
  const double completed = counter("ferry_queue_tasks_completed_total");
  const double failures = counter("ferry_queue_task_failures_total");
  const double lost = counter("ferry_queue_leases_lost_total");

  ASSERT_TRUE(store_->EnqueueBatch({{.queue = "m", .kind = "k"}, {.queue = "m", .kind = "k"}}));
  auto tasks = store_->Claim("m", {.worker = "w", .max_tasks = 2});
  ASSERT_TRUE(tasks.has_value() && tasks->size() == 2);
  ASSERT_TRUE(store_->Complete((*tasks)[0], "").ok());
  ASSERT_TRUE(store_->Fail((*tasks)[1], "boom", 0).ok());
  EXPECT_EQ(store_->Complete((*tasks)[1], "").code(), StatusCode::kAborted);

  EXPECT_EQ(counter("ferry_queue_tasks_enqueued_total") - enqueued, 2);
  EXPECT_EQ(counter("ferry_queue_tasks_claimed_total") - claimed, 2);
  EXPECT_EQ(counter("ferry_queue_tasks_completed_total") - completed, 1);
  EXPECT_EQ(counter("ferry_queue_task_failures_total") - failures, 1);
  EXPECT_EQ(counter("ferry_queue_leases_lost_total") - lost, 1);
  EXPECT_THAT(
      registry.RenderPrometheus(),
      HasSubstr(fmt::format("ferry_queue_tasks_claimed_total{{backend=\"{}\"}}", GetParam())));
}

TEST_P(StoreTest, ListTasksReturnsAQueueInIdOrder) {
  ASSERT_TRUE(store_->EnqueueBatch({{.queue = "l", .kind = "a"},
                                    {.queue = "other", .kind = "x"},
                                    {.queue = "l", .kind = "b", .priority = 5}}));
  Task b = ClaimOne("l", "w");
  ASSERT_TRUE(store_->Complete(b, R"({"rows":3})").ok());
  auto tasks = store_->ListTasks("l");
  ASSERT_TRUE(tasks.has_value()) << tasks.error().ToString();
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].kind, "a");
  EXPECT_EQ((*tasks)[0].state, TaskState::kPending);
  EXPECT_EQ((*tasks)[1].kind, "b");
  EXPECT_EQ((*tasks)[1].state, TaskState::kDone);
  EXPECT_EQ((*tasks)[1].result, R"({"rows":3})");
}

TEST_P(StoreTest, ReleaseLeasesOfADeadOwnerFencesItAndKeepsItsAttempt) {
  ASSERT_TRUE(store_->EnqueueBatch({{.queue = "r", .kind = "a"}, {.queue = "r", .kind = "b"}}));
  Task dead = ClaimOne("r", "host:1");
  Task alive = ClaimOne("r", "host:2");
  auto released = store_->ReleaseLeases("r", "host:1");
  ASSERT_TRUE(released.has_value()) << released.error().ToString();
  EXPECT_EQ(*released, 1);
  EXPECT_EQ(store_->Complete(dead, "").code(), StatusCode::kAborted);
  EXPECT_TRUE(store_->Complete(alive, "").ok());
  Task again = ClaimOne("r", "host:3");
  EXPECT_EQ(again.id, dead.id);
  EXPECT_EQ(again.attempts, 1);  // the interrupted claim did not count
}

TEST_P(StoreTest, ReleaseLeasesOfGoneWorkersGivesBackOnlyThoseOfDeadProcesses) {
  ASSERT_TRUE(store_->EnqueueBatch(
      {{.queue = "g", .kind = "a"}, {.queue = "g", .kind = "b"}, {.queue = "g", .kind = "c"}}));
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string dead = std::string(host) + ":" + std::to_string(child) + ":0badf00d";
  Task lost = ClaimOne("g", dead);
  Task live = ClaimOne("g", HostWorkerId());         // this process: alive
  Task far = ClaimOne("g", "elsewhere:1:0badf00d");  // another host: not ours to judge
  auto released = store_->ReleaseLeasesOfGoneWorkers("g");
  ASSERT_TRUE(released.has_value()) << released.error().ToString();
  EXPECT_EQ(*released, (std::vector<std::pair<std::string, int64_t>>{{dead, 1}}));
  EXPECT_EQ(store_->GetTask(lost.id)->state, TaskState::kPending);
  EXPECT_EQ(store_->GetTask(live.id)->state, TaskState::kLeased);
  EXPECT_EQ(store_->GetTask(far.id)->state, TaskState::kLeased);
  auto again = store_->ReleaseLeasesOfGoneWorkers("g");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
}

TEST_P(StoreTest, RetryFailedMakesFailedTasksPendingWithFreshAttempts) {
  ASSERT_TRUE(store_->Enqueue({.queue = "f", .kind = "a", .max_attempts = 1}));
  Task task = ClaimOne("f", "w");
  ASSERT_TRUE(store_->Fail(task, "boom", 0).ok());
  ASSERT_EQ(store_->GetTask(task.id)->state, TaskState::kFailed);
  auto retried = store_->RetryFailed("f");
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  EXPECT_EQ(*retried, 1);
  Task again = ClaimOne("f", "w");
  EXPECT_EQ(again.id, task.id);
  EXPECT_EQ(again.attempts, 1);
}

TEST_P(StoreTest, RunsAreCreatedUpdatedAndFoundByFingerprint) {
  ASSERT_TRUE(store_
                  ->CreateRun({.id = "copy-1",
                               .kind = "copy",
                               .state = "running",
                               .fingerprint = "f",
                               .spec = R"({"a":1})"})
                  .ok());
  EXPECT_EQ(store_
                ->CreateRun({.id = "copy-1",
                             .kind = "copy",
                             .state = "running",
                             .fingerprint = "f",
                             .spec = "{}"})
                .code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(
      store_->CreateRun({.id = "copy-2", .kind = "copy", .state = "running", .fingerprint = "g"})
          .ok());
  ASSERT_TRUE(store_->UpdateRun("copy-1", "succeeded", R"({"rows":7})").ok());
  EXPECT_EQ(store_->UpdateRun("copy-9", "failed", "").code(), StatusCode::kNotFound);

  auto run = store_->GetRun("copy-1");
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  EXPECT_EQ(run->state, "succeeded");
  EXPECT_EQ(run->spec, R"({"a":1})");
  EXPECT_EQ(run->result, R"({"rows":7})");
  EXPECT_GT(run->updated_micros, 0);
  EXPECT_GE(run->updated_micros, run->created_micros);
  auto missing = store_->GetRun("copy-9");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("copy-9"));

  auto found = store_->FindRuns("copy", "f");
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().id, "copy-1");
  auto none = store_->FindRuns("workflow", "f");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

// ---- Inventories

InventoryRecord Inventory(std::string name, std::string document, int64_t taken = 1) {
  return {.name = std::move(name),
          .source_kind = "agent",
          .taken_micros = taken,
          .schema_version = "1.0",
          .document = std::move(document)};
}

TEST_P(StoreTest, InventoriesAreSavedListedByNameAndReplaced) {
  auto saved = store_->PutInventories({Inventory("web02", R"({"host":{"hostname":"web02"}})", 20),
                                       {.name = "db01",
                                        .source_kind = "azure-migrate",
                                        .taken_micros = 10,
                                        .schema_version = "1.0",
                                        .document = R"({"host":{"hostname":"db01"}})"}},
                                      "cli:discover");
  ASSERT_TRUE(saved.has_value()) << saved.error().ToString();
  EXPECT_EQ(*saved, 0);  // nothing replaced

  auto listed = store_->ListInventories();
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "db01");
  EXPECT_EQ((*listed)[0].source_kind, "azure-migrate");
  EXPECT_EQ((*listed)[0].taken_micros, 10);
  EXPECT_EQ((*listed)[0].schema_version, "1.0");
  EXPECT_EQ((*listed)[0].document, R"({"host":{"hostname":"db01"}})");
  EXPECT_GT((*listed)[0].saved_micros, 0);
  EXPECT_EQ((*listed)[1].name, "web02");

  // A newer discover of web02 replaces the older one; the latest save wins even when the
  // inventory it saves was taken earlier.
  auto replaced = store_->PutInventory(Inventory("web02", R"({"v":2})", 5), "cli:discover");
  ASSERT_TRUE(replaced.has_value()) << replaced.error().ToString();
  EXPECT_TRUE(*replaced);
  listed = store_->ListInventories();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].document, R"({"v":2})");
  EXPECT_EQ((*listed)[1].taken_micros, 5);

  // Every save is an event naming the host, with the document's hash.
  auto events = store_->ReadEvents(0, 100);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 3u);
  for (const Event& event : *events) {
    EXPECT_EQ(event.kind, "inventory.saved");
    EXPECT_EQ(event.actor, "cli:discover");
  }
  Json last = Json::parse(events->back().payload);
  EXPECT_EQ(last["name"], "web02");
  EXPECT_EQ(last["replaced"], true);
  EXPECT_EQ(last["sha256"], Sha256Hex(R"({"v":2})"));
  EXPECT_EQ(events->back().at_micros, (*listed)[1].saved_micros);
  EXPECT_EQ(Json::parse((*events)[0].payload)["replaced"], false);
  auto log = store_->VerifyEventLog();
  ASSERT_TRUE(log.has_value());
  EXPECT_TRUE(log->intact);
}

TEST_P(StoreTest, InventoriesPageInByteOrderOfTheirNames) {
  // Byte order whatever the database's locale: upper case before lower case, UTF-8 last.
  ASSERT_TRUE(store_->PutInventories(
      {Inventory("\xc3\xa9"
                 "clair",
                 "{}"),
       Inventory("alpha", "{}"), Inventory("Zeta", "{}"), Inventory("beta", "{}")},
      "test"));
  std::vector<std::string> names;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->ListInventories(after, 3);
    ASSERT_TRUE(page.has_value()) << page.error().ToString();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 3u);
    for (const InventoryRecord& inventory : *page) names.push_back(inventory.name);
    after = page->back().name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Zeta", "alpha", "beta",
                                             "\xc3\xa9"
                                             "clair"}));
  EXPECT_TRUE(store_
                  ->ListInventories("\xc3\xa9"
                                    "clair")
                  ->empty());
}

TEST_P(StoreTest, InventoriesWithoutANameOrDocumentAreRefusedAndNothingIsSaved) {
  auto unnamed =
      store_->PutInventories({Inventory("web01", "{}"), Inventory("", "{}")}, "cli:discover");
  ASSERT_FALSE(unnamed.has_value());
  EXPECT_EQ(unnamed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unnamed.error().message(), HasSubstr("needs a name, a source kind and a document"));
  auto empty = store_->PutInventory(Inventory("web01", ""), "cli:discover");
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message(), HasSubstr("inventory `web01`"));
  auto twice =
      store_->PutInventories({Inventory("web01", "{}"), Inventory("web01", "{}")}, "cli:discover");
  ASSERT_FALSE(twice.has_value());
  EXPECT_THAT(twice.error().message(), HasSubstr("`web01` is given twice"));
  EXPECT_EQ(store_->PutInventory(Inventory("web01", "{}"), "").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListInventories()->empty());
  EXPECT_TRUE(store_->ReadEvents(0, 10)->empty());
}

// A store written by the ferry before inventories (schema version 2, with a run and an event in
// it) takes the inventories migration on open and keeps what it held.
TEST_P(StoreTest, AStoreOfTheVersionBeforeInventoriesMigrates) {
  auto old = testing::StoreLocation::Create(GetParam(), "before_inventories");
  ASSERT_TRUE(old.has_value()) << old.error().ToString();
  const auto engine = GetParam() == "sqlite" ? store_internal::SqlEngine::kSqlite
                                             : store_internal::SqlEngine::kPostgres;
  std::string script =
      "CREATE TABLE ferry_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at BIGINT NOT NULL, ferry_version TEXT NOT NULL);\n";
  for (const store_internal::Migration& m : store_internal::AllMigrations()) {
    if (m.version > 2) break;
    script += store_internal::MigrationScript(m, engine);
    script +=
        fmt::format("INSERT INTO ferry_migrations VALUES ({}, '{}', 1700000000000000, '0.1.0');\n",
                    m.version, m.name);
  }
  ASSERT_TRUE((*old)->Exec(script).ok());
  {
    auto looked = Store::Open((*old)->url(), {.migrate = false});
    ASSERT_TRUE(looked.has_value()) << looked.error().ToString();
    auto status = (*looked)->GetSchemaStatus();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->current_version, 2);
    EXPECT_THAT(status->pending, ::testing::Contains("3 inventories"));
    ASSERT_TRUE((*looked)->CreateRun({.id = "copy-1", .kind = "copy", .state = "succeeded"}).ok());
    ASSERT_TRUE((*looked)->AppendEvent({.actor = "cli:copy", .kind = "run.finished"}));
  }
  auto store = Store::Open((*old)->url());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  auto status = (*store)->GetSchemaStatus();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->current_version, store_internal::LatestSchemaVersion());
  EXPECT_TRUE(status->pending.empty());
  EXPECT_EQ((*store)->GetRun("copy-1")->state, "succeeded");
  EXPECT_TRUE((*store)->ListInventories()->empty());
  ASSERT_TRUE((*store)->PutInventory(Inventory("web01", "{}"), "cli:discover"));
  EXPECT_EQ((*store)->ListInventories()->size(), 1u);
  auto events = (*store)->ReadEvents(0, 10);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "inventory.saved");
  EXPECT_TRUE((*store)->VerifyEventLog()->intact);
}

// ---- Keyring rows

TEST_P(StoreTest, KeyringRowsRoundTripWithTheirEventsInOneTransaction) {
  KeyringWrite write;
  write.keks.push_back({.version = 1,
                        .state = "active",
                        .backend = "file",
                        .locator = R"({"path":"/k/kek-v1.key"})",
                        .created_micros = 10});
  write.deks.push_back(
      {.purpose = "secrets", .version = 1, .state = "active", .created_micros = 11});
  write.wraps.push_back({.purpose = "secrets",
                         .dek_version = 1,
                         .kek_version = 1,
                         .wrapped = "00ff",
                         .created_micros = 12});
  write.secrets.push_back({.secret = {.name = "b",
                                      .version = 1,
                                      .purpose = "secrets",
                                      .dek_version = 1,
                                      .sealed = "abcd",
                                      .created_micros = 13,
                                      .updated_micros = 13},
                           .expected_version = 0});
  write.secrets.push_back({.secret = {.name = "a",
                                      .version = 1,
                                      .purpose = "secrets",
                                      .dek_version = 1,
                                      .sealed = "ef01",
                                      .created_micros = 14,
                                      .updated_micros = 14},
                           .expected_version = 0});
  write.policies.push_back(
      {.key = "kek", .policy = R"({"rotate_after_days":1})", .updated_micros = 15});
  write.events.push_back({.actor = "test", .kind = "keyring.kek.created"});
  write.events.push_back({.actor = "test", .kind = "secret.put"});
  ASSERT_TRUE(store_->WriteKeyring(write).ok());

  auto rows = store_->ReadKeyring();
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->keks.size(), 1u);
  EXPECT_EQ(rows->keks[0].locator, R"({"path":"/k/kek-v1.key"})");
  EXPECT_EQ(rows->keks[0].retired_micros, 0);
  ASSERT_EQ(rows->wraps.size(), 1u);
  EXPECT_EQ(rows->wraps[0].wrapped, "00ff");
  EXPECT_EQ(rows->policies.at(0).policy, R"({"rotate_after_days":1})");
  auto listed = store_->ListSecrets(false);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "a");   // byte order of names
  EXPECT_EQ((*listed)[0].sealed, "");  // no values unless asked
  EXPECT_EQ(store_->GetSecret("b").value()->sealed, "abcd");
  EXPECT_FALSE(store_->GetSecret("c").value().has_value());

  // Replacing rows by their keys; a stale expected version refuses the whole batch, its events
  // included.
  KeyringWrite next;
  KekRecord retired = rows->keks[0];
  retired.state = "retired";
  retired.retired_micros = 20;
  next.keks.push_back(retired);
  next.removed_wraps.push_back(rows->wraps[0]);
  next.secrets.push_back({.secret = {.name = "a",
                                     .version = 2,
                                     .purpose = "secrets",
                                     .dek_version = 1,
                                     .sealed = "99",
                                     .created_micros = 14,
                                     .updated_micros = 21},
                          .expected_version = 0});  // stale: "a" is at version 1
  next.events.push_back({.actor = "test", .kind = "secret.put"});
  const Status refused = store_->WriteKeyring(next);
  EXPECT_EQ(refused.code(), StatusCode::kAborted);
  EXPECT_THAT(refused.message(), HasSubstr("secret `a` is at version 1, not 0"));
  EXPECT_EQ(store_->ReadKeyring()->keks[0].state, "active");
  EXPECT_EQ(store_->ReadKeyring()->wraps.size(), 1u);
  EXPECT_EQ(store_->ReadEvents(0, 10)->size(), 2u);

  next.secrets[0].expected_version = 1;
  next.removed_secrets.emplace_back("b", 1);
  ASSERT_TRUE(store_->WriteKeyring(next).ok());
  rows = store_->ReadKeyring();
  EXPECT_EQ(rows->keks[0].state, "retired");
  EXPECT_EQ(rows->keks[0].retired_micros, 20);
  EXPECT_TRUE(rows->wraps.empty());
  EXPECT_EQ(store_->GetSecret("a").value()->version, 2);
  EXPECT_FALSE(store_->GetSecret("b").value().has_value());
  EXPECT_EQ(store_->ReadEvents(0, 10)->size(), 3u);

  // A new version that exists already (another process made it) is refused, nothing applied.
  KeyringWrite again;
  again.new_keks.push_back(
      {.version = 1, .state = "pending", .backend = "file", .locator = "{}", .created_micros = 30});
  again.events.push_back({.actor = "test", .kind = "keyring.kek.created"});
  const Status exists = store_->WriteKeyring(again);
  EXPECT_EQ(exists.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(exists.message(), HasSubstr("KEK v1 exists already (retired)"));
  EXPECT_EQ(store_->ReadKeyring()->keks[0].state, "retired");
  EXPECT_EQ(store_->ReadEvents(0, 10)->size(), 3u);
  EXPECT_TRUE(store_->VerifyEventLog()->intact);
}

// ---- Event log

class EventLogTest : public StoreTest {
 protected:
  void AppendSome(int n) {
    for (int i = 1; i <= n; ++i) {
      auto event = store_->AppendEvent({.run_id = "run_1",
                                        .actor = "cli:test",
                                        .kind = "task.completed",
                                        .payload = Json{{"task", i}, {"rows", i * 100}}});
      ASSERT_TRUE(event.has_value()) << event.error().ToString();
      ASSERT_EQ(event->seq, i);
    }
  }
  EventLogReport Verify(std::string_view anchor = {}) {
    auto report = store_->VerifyEventLog(anchor);
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    return report.value_or(EventLogReport{});
  }
  void Tamper(std::string_view sql) {
    ASSERT_TRUE(location_->DisableEventTriggers().ok());
    Status status = location_->Exec(sql);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
};

TEST_P(EventLogTest, AppendsLinkedEventsAndVerifiesIntact) {
  AppendSome(5);
  auto events = store_->ReadEvents(0, 100);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 5u);
  EXPECT_EQ((*events)[0].prev_hash, std::string(64, '0'));
  for (size_t i = 1; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].prev_hash, (*events)[i - 1].hash);
  }
  EXPECT_EQ((*events)[2].payload, R"({"rows":300,"task":3})");
  EventLogReport report = Verify();
  EXPECT_TRUE(report.intact);
  EXPECT_EQ(report.events_checked, 5);
  EXPECT_EQ(report.head_hash, events->back().hash);
  EXPECT_TRUE(report.problems.empty());
  EXPECT_TRUE(Verify((*events)[3].hash).intact);
}

TEST_P(EventLogTest, ReadEventsFiltersByRunAndPages) {
  AppendSome(3);
  ASSERT_TRUE(store_->AppendEvent({.run_id = "run_2", .actor = "a", .kind = "k"}));
  auto page = store_->ReadEvents(1, 2);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 2);
  auto run2 = store_->ReadEvents(0, 100, "run_2");
  ASSERT_EQ(run2->size(), 1u);
  EXPECT_EQ((*run2)[0].seq, 4);
}

TEST_P(EventLogTest, TriggersRefuseEditsThroughSql) {
  AppendSome(2);
  Status edit = location_->Exec("UPDATE ferry_events SET kind = 'x' WHERE seq = 1");
  EXPECT_FALSE(edit.ok());
  EXPECT_THAT(edit.message(), HasSubstr("append-only"));
  Status remove = location_->Exec("DELETE FROM ferry_events WHERE seq = 1");
  EXPECT_FALSE(remove.ok());
  EXPECT_TRUE(Verify().intact);
}

TEST_P(EventLogTest, DetectsAnEditedEvent) {
  AppendSome(5);
  Tamper(R"(UPDATE ferry_events SET payload = '{"rows":999999,"task":3}' WHERE seq = 3)");
  EventLogReport report = Verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_seq, 3);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_THAT(report.problems[0], HasSubstr("event 3 (task.completed) was altered"));
}

TEST_P(EventLogTest, DetectsAnEditRecomputedToHideItself) {
  AppendSome(5);
  // A careful attacker recomputes the edited event's own hash; the next event's link breaks.
  auto events = store_->ReadEvents(0, 10).value();
  Event forged = events[2];
  forged.payload = R"({"rows":1,"task":3})";
  forged.hash = EventHash(forged);
  Tamper(fmt::format("UPDATE ferry_events SET payload = '{}', hash = '{}' WHERE seq = 3",
                     forged.payload, forged.hash));
  EventLogReport report = Verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_seq, 4);
  EXPECT_THAT(report.problems[0], HasSubstr("event 4 does not link"));
}

TEST_P(EventLogTest, DetectsADeletedEvent) {
  AppendSome(5);
  Tamper("DELETE FROM ferry_events WHERE seq = 2");
  EventLogReport report = Verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_seq, 2);
  EXPECT_THAT(report.problems[0], HasSubstr("events 2..2 are missing"));
}

TEST_P(EventLogTest, DetectsDeletedNewestEvents) {
  AppendSome(5);
  Tamper("DELETE FROM ferry_events WHERE seq >= 4");
  EventLogReport report = Verify();
  EXPECT_FALSE(report.intact);
  EXPECT_THAT(report.problems[0], HasSubstr("ends at event 3 but its head records event 5"));
}

TEST_P(EventLogTest, DetectsReorderedEvents) {
  AppendSome(5);
  // Swap events 2 and 4 wholesale, hashes included.
  Tamper("UPDATE ferry_events SET seq = -2 WHERE seq = 2");
  Tamper("UPDATE ferry_events SET seq = 2 WHERE seq = 4");
  Tamper("UPDATE ferry_events SET seq = 4 WHERE seq = -2");
  EventLogReport report = Verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_seq, 2);
  EXPECT_THAT(report.problems[0], HasSubstr("event 2 does not link"));
}

TEST_P(EventLogTest, DetectsARewrittenLogAgainstAnAnchor) {
  AppendSome(3);
  std::string anchor = Verify().head_hash;
  // Rewrite the whole log consistently from scratch: only an anchor kept outside catches it.
  Tamper("DELETE FROM ferry_events");
  ASSERT_TRUE(location_
                  ->Exec(fmt::format("UPDATE ferry_event_head SET seq = 0, hash = '{}'",
                                     std::string(64, '0')))
                  .ok());
  ASSERT_TRUE(store_->AppendEvent({.actor = "attacker", .kind = "nothing.happened"}));
  EXPECT_TRUE(Verify().intact);
  EventLogReport anchored = Verify(anchor);
  EXPECT_FALSE(anchored.intact);
  EXPECT_THAT(anchored.problems.back(), HasSubstr("no event has the expected hash"));
}

TEST_P(EventLogTest, VerifyingWhileAnotherProcessAppendsFindsNoForgery) {
  AppendSome(3);
  auto writer = Store::Open(location_->url());  // its own connection, like another process
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  std::atomic<bool> stop{false};
  std::thread appender([&] {
    for (int i = 0; i < 2000 && !stop.load(); ++i) {
      ASSERT_TRUE((*writer)->AppendEvent({.actor = "other", .kind = "tick"}).has_value());
    }
  });
  for (int i = 0; i < 30; ++i) {
    EventLogReport report = Verify();
    EXPECT_TRUE(report.intact) << (report.problems.empty() ? "" : report.problems[0]);
  }
  stop.store(true);
  appender.join();
  EXPECT_TRUE(Verify().intact);
}

TEST_P(EventLogTest, RejectsEventsWithoutKindOrActor) {
  auto event = store_->AppendEvent({.actor = "", .kind = "x"});
  ASSERT_FALSE(event.has_value());
  EXPECT_EQ(event.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(event.error().message(), HasSubstr("needs a kind and an actor"));
}

// The SQLite store reads time through its Env, so a test can move the clock instead of waiting
// for a lease to run out.
TEST(SqliteStoreClockTest, LeasesExpireByTheInjectedClock) {
  auto location = testing::StoreLocation::Create("sqlite", "clock");
  ASSERT_TRUE(location.has_value()) << location.error().ToString();
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(1'800'000'000'000'000);
  auto store = Store::Open((*location)->url(), {.env = &env});
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  ASSERT_TRUE((*store)->Enqueue({.queue = "q", .kind = "k"}));
  auto held = (*store)->Claim("q", {.worker = "a", .lease_micros = 3'600'000'000});
  ASSERT_TRUE(held.has_value() && held->size() == 1);
  EXPECT_EQ(held->front().lease_expires_micros, 1'800'000'000'000'000 + 3'600'000'000);

  env.AdvanceMicros(3'599'000'000);  // one second before expiry: still held
  EXPECT_TRUE((*store)->Claim("q", {.worker = "b"})->empty());
  env.AdvanceMicros(2'000'000);  // one second after
  auto taken = (*store)->Claim("q", {.worker = "b"});
  ASSERT_TRUE(taken.has_value() && taken->size() == 1);
  EXPECT_EQ(taken->front().lease_owner, "b");
  EXPECT_EQ((*store)->Complete(held->front(), "").code(), StatusCode::kAborted);

  auto event = (*store)->AppendEvent({.actor = "a", .kind = "k"});
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->at_micros, env.NowMicros());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, EventLogTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace ferry
