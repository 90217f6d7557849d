// A migration run whose worker is killed with SIGKILL at random moments, over and over, and
// started again each time: the run completes, every task completed exactly once, the copy's rows
// are in the target exactly once and verify clean, and the event log's chain is intact.
//
// The real binary (`ferry run work`, the same engine `ferry serve` runs) works on a run of
// commands, a copy of 320,000 rows between SQLite files and its verification; its children (the
// copy, the commands) die with it, as they would when a server is killed.
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "base/json.h"
#include "harness/process.h"
#include "store/store.h"

namespace ferry {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t CountRows(const std::string& db_path, const std::string& table) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_stmt* stmt = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &stmt, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

class RunKillTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-run-kill-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    source_ = dir_ + "/source.db";
    target_ = dir_ + "/target.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(source_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, R"sql(
CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount NUMERIC(12,2),
                     note TEXT);
CREATE TABLE audit (line TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO ledger SELECT i, i % 997, (i * 37 % 100000) / 100.0, 'payment ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO audit SELECT 'event ' || (i % 5000) FROM n;
)sql",
                                nullptr, nullptr, &error);
    ASSERT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
    sqlite3_close(db);
  }
  void TearDown() override {
    if (!HasFailure()) Env::Default()->RemoveAll(dir_).IgnoreError();
  }

  std::string Spec() const {
    std::string steps;
    for (int i = 1; i <= 6; ++i) {
      steps += fmt::format(
          "      - {{id: step{}, type: command, with: {{run: \"sleep 0.3; echo "
          "$FERRY_TASK_ID:$FERRY_ATTEMPT >> {}/commands.log\"}}}}\n",
          i, dir_);
    }
    std::string after;
    for (int i = 1; i <= 3; ++i) {
      after += fmt::format(
          "      - {{id: after{}, type: command, depends_on: [verify], with: {{run: \"sleep 0.2; "
          "echo $FERRY_TASK_ID:$FERRY_ATTEMPT >> {}/commands.log\"}}}}\n",
          i, dir_);
    }
    return fmt::format(R"(run: kill-test
phases:
  - name: preflight
    tasks:
      - {{id: source-ok, type: check.connect, with: {{url: "sqlite://{0}"}}}}
  - name: prepare
    tasks:
{2}  - name: replicate
    tasks:
      - {{id: copy, type: copy, with: {{from: "sqlite://{0}", to: "sqlite://{1}", chunk_rows: "20000"}}}}
  - name: validate
    tasks:
      - {{id: verify, type: verify, with: {{from: "sqlite://{0}", to: "sqlite://{1}"}}}}
{3})",
                       source_, target_, steps, after);
  }

  std::string store_url() const { return SqliteStoreUrl(dir_ + "/state.db"); }

  std::vector<std::string> Ferry(std::vector<std::string> args) const {
    std::vector<std::string> argv = {FERRY_BINARY, "--store", store_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::string dir_, source_, target_;
};

// The worker killed is `ferry run work` / `ferry run resume` ("cli"), or `ferry serve`
// ("serve"), whose engine works on every active run of its store.
TEST_P(RunKillTest, SurvivesRepeatedSigkillsWithEachTaskCompletedOnce) {
  const bool serve = GetParam() == "serve";
  Env::Default()->WriteFileAtomic(dir_ + "/run.yaml", Spec()).IgnoreError();
  const std::string start_log = dir_ + "/start.log";
  auto started = testing::RunToCompletion(
      {.argv = Ferry({"--json", "run", "start", "--detach", dir_ + "/run.yaml"}),
       .stdout_path = start_log,
       .stderr_path = dir_ + "/start.err"},
      std::chrono::seconds(60));
  ASSERT_TRUE(started.has_value() && started->success()) << ReadFile(dir_ + "/start.err");
  auto started_json = ParseJson(ReadFile(start_log), "start");
  ASSERT_TRUE(started_json.has_value()) << ReadFile(start_log);
  const std::string run_id = started_json->value("id", "");
  ASSERT_FALSE(run_id.empty());

  auto store = Store::Open(store_url());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  auto state_of = [&]() { return (*store)->GetRun(run_id)->state; };
  auto count_starts = [&]() {
    int64_t n = 0;
    const std::vector<Event> events = *(*store)->ReadEvents(0, 100000, run_id);
    for (const Event& e : events) n += e.kind == "task.started" ? 1 : 0;
    return n;
  };

  std::mt19937 random(20261207);
  std::uniform_int_distribution<int> delay_ms(50, 500);
  const uint16_t port = *Env::Default()->FreeLoopbackPort();
  int kills = 0, kills_mid_run = 0;
  std::map<std::string, int> kills_during;  // tasks running when a kill landed
  bool finished = false;
  for (int attempt = 0; attempt < 60 && !finished; ++attempt) {
    const std::string log = fmt::format("{}/worker-{}.log", dir_, attempt);
    // Half the workers are `ferry run work` (every run of the store, until stopped), half
    // `ferry run resume ID` (this run, until it rests), as after a crash; the last is a resume.
    const bool resume = !serve && (attempt % 2 == 1 || kills >= 12);
    std::vector<std::string> args = {"run", "work", "--jobs", "2"};
    if (resume) args = {"run", "resume", run_id, "--jobs", "2"};
    if (serve) {
      args = {"serve", "--listen", fmt::format("127.0.0.1:{}", port), "--workers", "2"};
    }
    args.push_back("--work-dir");
    args.push_back(dir_ + "/runs");
    auto worker =
        testing::Subprocess::Spawn({.argv = Ferry(args), .stdout_path = log, .stderr_path = log});
    ASSERT_TRUE(worker.has_value()) << worker.error().ToString();
    if (kills < 12) {
      // Each kill lands a random moment after this worker started a task, so that the run
      // moves on between kills and the kills fall across its tasks, not all in the first one.
      const int64_t starts_before = count_starts();
      for (int i = 0; i < 1500 && count_starts() == starts_before && (*worker)->running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
      if (!(*worker)->running() && state_of() == "succeeded") {
        finished = true;  // a resume worker finished the run between two kills
        break;
      }
      // Which tasks run at this moment (leased), and how far the run is.
      auto tasks = (*store)->ListTasks("run:" + run_id);
      ASSERT_TRUE(tasks.has_value());
      int done = 0;
      for (const Task& t : *tasks) {
        if (t.state == TaskState::kDone) ++done;
        if (t.state == TaskState::kLeased) {
          ++kills_during[ParseJson(t.payload, "p")->value("task", "")];
        }
      }
      ASSERT_TRUE((*worker)->running()) << ReadFile(log);
      ASSERT_TRUE((*worker)->Signal(SIGKILL).ok());
      auto status = (*worker)->Wait(std::chrono::seconds(10));
      ASSERT_TRUE(status.has_value()) << status.error().ToString();
      ASSERT_EQ(status->signal, SIGKILL) << status->ToString() << "\n" << ReadFile(log);
      ++kills;
      if (done > 0 && done < 12) ++kills_mid_run;
      // The children die with the worker: nothing of the killed process writes on.
      continue;
    }
    if (serve) {
      for (int i = 0; i < 3000 && state_of() != "succeeded" && state_of() != "failed"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ASSERT_EQ(state_of(), "succeeded") << ReadFile(log);
      // The restarted server answers for the run, through the CLI's remote mode.
      const std::string key_log = dir_ + "/key.log";
      auto key = testing::RunToCompletion(
          {.argv = Ferry({"--json", "api-key", "create", "watcher", "--role", "viewer"}),
           .stdout_path = key_log,
           .stderr_path = dir_ + "/key.err"},
          std::chrono::seconds(60));
      ASSERT_TRUE(key.has_value() && key->success()) << ReadFile(dir_ + "/key.err");
      const std::string secret = ParseJson(ReadFile(key_log), "key")->value("key", "");
      const std::string remote_log = dir_ + "/remote.log";
      auto remote = testing::RunToCompletion(
          {.argv = {FERRY_BINARY, "--server", fmt::format("http://127.0.0.1:{}", port), "--api-key",
                    secret, "run", "status", run_id},
           .stdout_path = remote_log,
           .stderr_path = remote_log},
          std::chrono::seconds(60));
      ASSERT_TRUE(remote.has_value());
      EXPECT_TRUE(remote->success()) << ReadFile(remote_log);
      EXPECT_THAT(ReadFile(remote_log), ::testing::HasSubstr("succeeded"));
      ASSERT_TRUE((*worker)->Signal(SIGTERM).ok());
      auto status = (*worker)->Wait(std::chrono::seconds(30));
      ASSERT_TRUE(status.has_value());
      EXPECT_TRUE(status->success()) << status->ToString() << "\n" << ReadFile(log);
    } else {
      auto status = (*worker)->Wait(std::chrono::seconds(300));
      ASSERT_TRUE(status.has_value());
      EXPECT_TRUE(status->success()) << status->ToString() << "\n" << ReadFile(log);
      ASSERT_EQ(state_of(), "succeeded") << ReadFile(log);
      EXPECT_THAT(ReadFile(log), ::testing::HasSubstr("is running; working on it here"));
    }
    finished = true;
  }
  ASSERT_TRUE(finished);
  std::string landed;
  for (const auto& [task, n] : kills_during) landed += fmt::format(" {}x{}", task, n);
  std::cout << fmt::format("{} kills, {} mid-run; tasks running at a kill:{}\n", kills,
                           kills_mid_run, landed);
  EXPECT_GE(kills, 10);
  EXPECT_GE(kills_mid_run, 8);
  EXPECT_GE(kills_during.size(), 3u) << "the kills should land in several different tasks";

  // Each task completed exactly once: one task.completed event each, every queue task done.
  const std::vector<Event> events = *(*store)->ReadEvents(0, 100000, run_id);
  std::map<std::string, int> completed;
  for (const Event& e : events) {
    if (e.kind == "task.completed") ++completed[ParseJson(e.payload, "e")->value("task", "")];
  }
  ASSERT_EQ(completed.size(), 12u);
  for (const auto& [task, n] : completed) EXPECT_EQ(n, 1) << task;
  const std::vector<Task> final_tasks = *(*store)->ListTasks("run:" + run_id);
  for (const Task& t : final_tasks) {
    EXPECT_EQ(t.state, TaskState::kDone) << t.payload;
  }

  // The copy: every row exactly once (the keyless table proves it by count), verified clean.
  EXPECT_EQ(CountRows(target_, "ledger"), 300000);
  EXPECT_EQ(CountRows(target_, "audit"), 20000);
  auto status = (*store)->GetRun(run_id);
  ASSERT_TRUE(status.has_value());

  // Commands ran to completion at least once each; a command re-runs only when a kill lands
  // between its end and its completion's record, so re-runs are bounded by the kills.
  std::map<std::string, int> ran;
  std::istringstream lines(ReadFile(dir_ + "/commands.log"));
  int total = 0;
  for (std::string line; std::getline(lines, line);) {
    ++ran[line.substr(0, line.find(':'))];
    ++total;
  }
  EXPECT_EQ(ran.size(), 9u);
  EXPECT_LE(total - 9, kills);
  std::cout << fmt::format("commands ran to completion {} times for 9 commands\n", total);
  EXPECT_TRUE((*store)->VerifyEventLog()->intact);
}

// Everything about a table in an SQLite file, as text: its schema and its rows in order.
std::string DumpDatabase(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "<cannot open>";
  }
  std::string out;
  auto each = [&](const std::string& sql, auto&& row) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return;
    while (sqlite3_step(stmt) == SQLITE_ROW) row(stmt);
    sqlite3_finalize(stmt);
  };
  std::vector<std::string> tables;
  each("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name",
       [&](sqlite3_stmt* stmt) {
         tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
         out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
         out += "\n";
       });
  for (const std::string& table : tables) {
    each("SELECT * FROM \"" + table + "\" ORDER BY rowid", [&](sqlite3_stmt* stmt) {
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        out += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
        out += "|";
      }
      out += "\n";
    });
  }
  sqlite3_close(db);
  return out;
}

// A run fails in its replicate phase (a row that is not UTF-8, after other tables and chunks were
// committed); the rollback leaves the target exactly as it was before the run. Once the row is
// fixed, a new run of the same spec copies everything: the rolled-back copy's chunks are not
// taken for loaded.
TEST_F(RunKillTest, RollbackAfterAFailedReplicateLeavesTheTargetAsItWas) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(target_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE keep (id INTEGER PRIMARY KEY, note TEXT);"
                         "INSERT INTO keep VALUES (1, 'was here before'), (2, 'me too');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(sqlite3_open(source_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE zz_customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i "
                         "< 3000) INSERT INTO zz_customer SELECT i, 'customer ' || i FROM n;"
                         "UPDATE zz_customer SET name = CAST(x'41ff42' AS TEXT) WHERE id = 2777;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = DumpDatabase(target_);
  ASSERT_NE(before.find("was here before"), std::string::npos);

  const std::string spec = fmt::format(R"(run: rollback-test
phases:
  - name: preflight
    tasks:
      - {{id: source-ok, type: check.connect, with: {{url: "sqlite://{0}"}}}}
  - name: replicate
    tasks:
      - {{id: copy, type: copy, with: {{from: "sqlite://{0}", to: "sqlite://{1}"}}}}
)",
                                       source_, target_);
  Env::Default()->WriteFileAtomic(dir_ + "/run.yaml", spec).IgnoreError();
  auto run = [&](std::vector<std::string> args, const std::string& log) {
    args.push_back("--work-dir");
    args.push_back(dir_ + "/runs");
    return testing::RunToCompletion({.argv = Ferry(args), .stdout_path = log, .stderr_path = log},
                                    std::chrono::seconds(300));
  };
  const std::string log = dir_ + "/start.log";
  auto started = run({"--json", "run", "start", dir_ + "/run.yaml"}, log);
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(started->exit_code, 1) << ReadFile(log);
  const std::string said = ReadFile(log);
  EXPECT_THAT(said, ::testing::HasSubstr("\"state\": \"failed\""));
  EXPECT_THAT(said, ::testing::HasSubstr("zz_customer"));
  EXPECT_THAT(said, ::testing::HasSubstr("ferry run rollback"));
  // The failed copy wrote to the target: ledger and audit whole, zz_customer created.
  EXPECT_EQ(CountRows(target_, "ledger"), 300000);
  EXPECT_NE(DumpDatabase(target_), before);

  auto store = Store::Open(store_url());
  ASSERT_TRUE(store.has_value());
  const std::string run_id = (*store)->ListRuns("workflow", 1)->front().id;
  const std::string rollback_log = dir_ + "/rollback.log";
  auto rolled = run({"run", "rollback", run_id}, rollback_log);
  ASSERT_TRUE(rolled.has_value());
  EXPECT_TRUE(rolled->success()) << ReadFile(rollback_log);
  EXPECT_THAT(ReadFile(rollback_log), ::testing::HasSubstr("rolled-back"));
  EXPECT_EQ(DumpDatabase(target_), before);
  // Each undo is an event, in reverse order of the tasks' starts.
  std::vector<std::string> undone;
  const std::vector<Event> events = *(*store)->ReadEvents(0, 10000, run_id);
  for (const Event& e : events) {
    if (e.kind == "task.undone") undone.push_back(ParseJson(e.payload, "e")->value("task", ""));
  }
  EXPECT_THAT(undone, ::testing::ElementsAre("copy", "source-ok"));

  // Fixed at the source, the same spec as a new run copies every row.
  ASSERT_EQ(sqlite3_open(source_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE zz_customer SET name = 'fixed' WHERE id = 2777", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string again_log = dir_ + "/again.log";
  auto again = run({"run", "start", dir_ + "/run.yaml"}, again_log);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->success()) << ReadFile(again_log);
  EXPECT_EQ(CountRows(target_, "ledger"), 300000);
  EXPECT_EQ(CountRows(target_, "audit"), 20000);
  EXPECT_EQ(CountRows(target_, "zz_customer"), 3000);
  EXPECT_EQ(CountRows(target_, "keep"), 2);
}

INSTANTIATE_TEST_SUITE_P(Workers, RunKillTest, ::testing::Values("cli", "serve"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace ferry
