// Every task type of TaskTypes() against the real thing on loopback: SQLite files, a throwaway
// PostgreSQL, a listening TCP socket, an HTTP server, a TLS server with a certificate made by
// `openssl req`, "localhost" for DNS, and the ferry binary for iac.write, copy and verify.
#include "workflow/executors.h"

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "base/json.h"
#include "connect/canonical.h"
#include "connect/value.h"
#include "harness/process.h"
#include "harness/shared_servers.h"
#include "plan/estate_file.h"
#include "plan/estate_generator.h"

namespace ferry::workflow {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs SQL on an SQLite file (created if missing); the rows of the last statement as text.
std::vector<std::vector<std::string>> Sqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::vector<std::vector<std::string>> rows;
  char* error = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int n, char** values, char**) {
        auto* collected = static_cast<std::vector<std::vector<std::string>>*>(out);
        std::vector<std::string> row;
        for (int i = 0; i < n; ++i) row.push_back(values[i] != nullptr ? values[i] : "NULL");
        collected->push_back(std::move(row));
        return 0;
      },
      &rows, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "") << " in " << sql;
  sqlite3_free(error);
  sqlite3_close(db);
  return rows;
}

// The tables of an SQLite file and each one's rows in order, as text: "exactly as before".
std::string DumpSqlite(const std::string& path) {
  std::string out;
  for (const auto& t : Sqlite(path,
                              "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
                              "LIKE 'sqlite_%' AND name NOT LIKE 'ferry_%' ORDER BY name")) {
    out += "table " + t[0] + ":";
    for (const auto& row : Sqlite(path, "SELECT * FROM \"" + t[0] + "\" ORDER BY 1")) {
      out += " (";
      for (const std::string& v : row) out += v + ",";
      out += ")";
    }
    out += "\n";
  }
  return out;
}

bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie not reaped yet (its parent, the shell, was killed too) is gone as a process.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

class ExecutorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-executors-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    work_ = dir_ + "/work";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A run of a task with these parameters (kept alive by the fixture).
  TaskRun Run(const std::string& type, Json with, const std::string& id = "t") {
    TaskSpec& spec = specs_.emplace_back();
    spec.id = id;
    spec.type = type;
    spec.with = std::move(with);
    TaskRun run;
    run.spec = &spec;
    run.run_id = "run-1";
    run.store_url = "sqlite://" + dir_ + "/store.db";
    run.ferry_path = FERRY_BINARY;
    run.work_dir = work_;
    return run;
  }
  TaskSpec& LastSpec() { return specs_.back(); }

  std::string dir_;
  std::string work_;
  std::deque<TaskSpec> specs_;
};

void ExpectError(const Result<Json>& result, StatusCode code,
                 const std::vector<std::string>& substrings) {
  ASSERT_FALSE(result.has_value()) << result->dump();
  EXPECT_EQ(result.error().code(), code) << result.error().ToString();
  for (const std::string& s : substrings) {
    EXPECT_THAT(result.error().message(), HasSubstr(s));
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

TEST_F(ExecutorsTest, EveryMissingParameterIsNamedWithAnExample) {
  const std::vector<std::pair<std::string, Json>> cases = {
      {"check.connect", Json::object()},
      {"check.credentials", Json::object()},
      {"check.version", {{"url", "sqlite:///x.db"}}},
      {"check.disk", {{"path", "/"}}},
      {"iac.write", {{"dir", "iac"}}},
      {"command", Json::object()},
      {"cutover", Json::object()},
      {"copy", {{"from", "sqlite:///a.db"}}},
      {"verify", {{"to", "sqlite:///a.db"}}},
      {"smoke.http", Json::object()},
      {"smoke.sql", Json::object()},
      {"smoke.tls", Json::object()},
      {"smoke.dns", Json::object()},
      {"smoke.latency", {{"host", "localhost"}, {"port", "1"}}},
  };
  const std::map<std::string, std::string> missing = {
      {"check.connect", "url"}, {"check.credentials", "url"},
      {"check.version", "min"}, {"check.disk", "free"},
      {"iac.write", "plan"},    {"command", "run"},
      {"cutover", "run"},       {"copy", "to"},
      {"verify", "from"},       {"smoke.http", "url"},
      {"smoke.sql", "url"},     {"smoke.tls", "host"},
      {"smoke.dns", "name"},    {"smoke.latency", "budget"}};
  for (const auto& [type, with] : cases) {
    SCOPED_TRACE(type);
    TaskRun run = Run(type, with, "the-task");
    ExpectError(ExecuteTask(run), StatusCode::kInvalidArgument,
                {"task `the-task` (" + type + ")", "`with` has no `" + missing.at(type) + "`",
                 "e.g. `with: {" + missing.at(type) + ": "});
  }
}

TEST_F(ExecutorsTest, TypesNotAvailableSaySoWithTheWayOut) {
  ExpectError(ExecuteTask(Run("check.quota", Json::object(), "quota")), StatusCode::kUnimplemented,
              {"task `quota` (check.quota)", "cannot do this task type yet", "`command` task"});
  ExpectError(ExecuteTask(Run("decommission", {{"run", "true"}}, "retire")),
              StatusCode::kUnimplemented,
              {"task `retire` (decommission)", "cannot do this task type yet", "by hand"});
  // Its undo (a rollback reaches the failed task) must not block the rollback.
  Result<Json> undone = UndoTask(Run("decommission", {{"run", "true"}}), Json::object(), Json());
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ((*undone)["undo"], "none");
}

TEST_F(ExecutorsTest, ReadOnlyTypesHaveNothingToSnapshotOrUndo) {
  for (const char* type : {"check.connect", "check.disk", "smoke.http", "verify"}) {
    TaskRun run = Run(type, Json::object());
    Result<Json> snapshot = SnapshotTask(run);
    ASSERT_TRUE(snapshot.has_value()) << snapshot.error().ToString();
    EXPECT_EQ(*snapshot, Json::object());
    Result<Json> undone = UndoTask(run, *snapshot, Json::object());
    ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
    EXPECT_EQ((*undone)["undo"], "none");
  }
}

// ---------------------------------------------------------------------------------------------
// Checks on SQLite, and the disk

TEST_F(ExecutorsTest, CheckConnectAndVersionOnSqlite) {
  const std::string db = dir_ + "/app.db";
  Sqlite(db, "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY)");
  Result<Json> ok = ExecuteTask(Run("check.connect", {{"url", "sqlite://" + db}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ((*ok)["engine"], "sqlite");
  EXPECT_EQ((*ok)["tables"], 2);

  ExpectError(ExecuteTask(Run("check.connect", {{"url", "sqlite://" + dir_ + "/nope.db"}}, "src")),
              StatusCode::kUnavailable,
              {"task `src` (check.connect)", dir_ + "/nope.db", "check the path"});
  ExpectError(ExecuteTask(Run("check.connect", {{"url", "oracle://db/x"}}, "src")),
              StatusCode::kInvalidArgument, {"task `src`", "unknown kind of database `oracle`"});

  Result<Json> version =
      ExecuteTask(Run("check.version", {{"url", "sqlite://" + db}, {"min", "3.8"}}));
  ASSERT_TRUE(version.has_value()) << version.error().ToString();
  EXPECT_EQ((*version)["version"], sqlite3_libversion());
  ExpectError(ExecuteTask(Run("check.version", {{"url", "sqlite://" + db}, {"min", "99.1"}})),
              StatusCode::kFailedPrecondition,
              {"runs sqlite " + std::string(sqlite3_libversion()), "older than the 99.1",
               "upgrade the server or lower `min`"});
  ExpectError(ExecuteTask(Run("check.version", {{"url", "sqlite://" + db}, {"min", "new"}})),
              StatusCode::kInvalidArgument, {"`min` new is not a version"});

  // SQL on SQLite runs read-only: a smoke test reads, and cannot change the file.
  Result<Json> counted = ExecuteTask(
      Run("smoke.sql", {{"url", "sqlite://" + db},
                        {"sql", "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"},
                        {"expect", "2"}}));
  ASSERT_TRUE(counted.has_value()) << counted.error().ToString();
  EXPECT_EQ((*counted)["engine"], "sqlite");
  const std::string before = DumpSqlite(db);
  ExpectError(ExecuteTask(Run("smoke.sql",
                              {{"url", "sqlite://" + db}, {"sql", "CREATE TABLE c (x)"}}, "w")),
              StatusCode::kFailedPrecondition,
              {"task `w` (smoke.sql)", "`CREATE TABLE c (x)` failed", "readonly", "fix `sql`"});
  TaskRun slow = Run("smoke.sql",
                     {{"url", "sqlite://" + db},
                      {"sql",
                       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                       "FROM n) SELECT count(*) FROM n"}},
                     "slow");
  LastSpec().timeout_micros = 200'000;
  ExpectError(ExecuteTask(slow), StatusCode::kDeadlineExceeded,
              {"was stopped after 200 ms", "raise the task's `timeout:`"});
  ExpectError(ExecuteTask(Run("smoke.sql", {{"url", "sqlite://" + db}, {"sql", "SELEC 1"}}, "w")),
              StatusCode::kFailedPrecondition, {"`SELEC 1` does not run", "syntax error"});
  EXPECT_EQ(DumpSqlite(db), before);
}

TEST_F(ExecutorsTest, CheckDiskComparesWithStatvfs) {
  Result<Json> ok = ExecuteTask(Run("check.disk", {{"path", dir_}, {"free", "1KiB"}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_GE((*ok)["free_bytes"].get<uint64_t>(), 1024u);
  EXPECT_EQ((*ok)["required_bytes"], 1024);
  EXPECT_LE((*ok)["free_bytes"].get<uint64_t>(), (*ok)["total_bytes"].get<uint64_t>());
  Result<Json> gb = ExecuteTask(Run("check.disk", {{"path", dir_}, {"free", "1GB"}}));
  if (gb.has_value()) {
    EXPECT_EQ((*gb)["required_bytes"], 1000000000);
  }

  ExpectError(ExecuteTask(Run("check.disk", {{"path", dir_}, {"free", "1000PiB"}}, "disk")),
              StatusCode::kResourceExhausted,
              {"task `disk` (check.disk)", dir_, "less than the 1000PiB required", "free space"});
  ExpectError(ExecuteTask(Run("check.disk", {{"path", dir_}, {"free", "ten"}})),
              StatusCode::kInvalidArgument, {"`free`", "`ten` is not a size"});
  ExpectError(ExecuteTask(Run("check.disk", {{"path", dir_}, {"free", "10XB"}})),
              StatusCode::kInvalidArgument, {"unknown unit `XB`"});
  ExpectError(ExecuteTask(Run("check.disk", {{"path", dir_ + "/missing"}, {"free", "1"}})),
              StatusCode::kNotFound, {dir_ + "/missing", "No such file"});
}

// The baselines as `ferry discover --watch` writes them: each metric's percentiles.
std::string Inventory(double cpu_p95, double iops_p95, bool with_baseline = true) {
  Json doc = {{"schema_version", "1.0"}, {"host", {{"hostname", "web01"}}}};
  if (with_baseline) {
    doc["baseline"] = {
        {"samples", 20},
        {"metrics",
         {{"cpu_percent", {{"p50", cpu_p95 / 2}, {"p95", cpu_p95}, {"p99", cpu_p95 + 1}}},
          {"memory_used_percent", {{"p50", 40.0}, {"p95", 50.0}, {"p99", 55.0}}},
          {"disk_iops", {{"p50", iops_p95 / 2}, {"p95", iops_p95}, {"p99", iops_p95}}}}}};
  }
  return doc.dump();
}

TEST_F(ExecutorsTest, ValidateBaselineComparesP95WithinTheTolerance) {
  const std::string before = dir_ + "/before.json", after = dir_ + "/after.json";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(before, Inventory(60, 1000)).ok());
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(after, Inventory(70, 900)).ok());  // cpu +16.7%
  Result<Json> ok = ExecuteTask(
      Run("validate.baseline", {{"before", before}, {"after", after}, {"tolerance", "20%"}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  ASSERT_EQ((*ok)["metrics"].size(), 3u);
  EXPECT_EQ((*ok)["metrics"][0]["metric"], "cpu_percent");
  EXPECT_DOUBLE_EQ((*ok)["metrics"][0]["after_p95"].get<double>(), 70.0);
  EXPECT_DOUBLE_EQ((*ok)["metrics"][0]["limit"].get<double>(), 72.0);

  // Over by more than the tolerance: failed, naming the metric and both figures.
  ExpectError(
      ExecuteTask(Run("validate.baseline",
                      {{"before", before}, {"after", after}, {"tolerance", "10%"}}, "baseline")),
      StatusCode::kFailedPrecondition,
      {"task `baseline` (validate.baseline)", "cpu_percent p95 70 against 60 before",
       "more than 10%"});
  // Only the metrics asked for are compared.
  EXPECT_TRUE(ExecuteTask(Run("validate.baseline", {{"before", before},
                                                    {"after", after},
                                                    {"tolerance", "0%"},
                                                    {"metrics", "disk_iops"}}))
                  .has_value());
  ExpectError(ExecuteTask(Run("validate.baseline",
                              {{"before", before}, {"after", after}, {"metrics", "gpu"}})),
              StatusCode::kInvalidArgument, {"metric `gpu` is not in both baselines"});
  ExpectError(ExecuteTask(Run("validate.baseline",
                              {{"before", before}, {"after", after}, {"tolerance", "lots"}})),
              StatusCode::kInvalidArgument, {"tolerance `lots` is not a percentage"});
  ExpectError(ExecuteTask(Run("validate.baseline", {{"before", before}})),
              StatusCode::kInvalidArgument, {"`after`"});
  ExpectError(
      ExecuteTask(Run("validate.baseline", {{"before", before}, {"after", dir_ + "/nope.json"}})),
      StatusCode::kUnavailable, {"nope.json", "ferry discover --watch"});
  const std::string imported = dir_ + "/imported.json";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(imported, Inventory(0, 0, false)).ok());
  ExpectError(ExecuteTask(Run("validate.baseline", {{"before", imported}, {"after", after}})),
              StatusCode::kInvalidArgument, {"has no performance baseline"});
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

class ExecutorsPostgresTest : public ferry::testing::PostgresTest {
 protected:
  TaskRun Run(const std::string& type, Json with, const std::string& id = "pg") {
    TaskSpec& spec = specs_.emplace_back();
    spec.id = id;
    spec.type = type;
    spec.with = std::move(with);
    TaskRun run;
    run.spec = &spec;
    return run;
  }
  // The server's URL with another user.
  std::string UrlAs(const std::string& user) {
    std::string u = url();
    return "postgresql://" + user + u.substr(u.find('@'));
  }
  std::deque<TaskSpec> specs_;
};

TEST_F(ExecutorsPostgresTest, ChecksAndSmokeSql) {
  ASSERT_TRUE(
      Execute("CREATE TABLE account (id int PRIMARY KEY); INSERT INTO account VALUES (1)").ok());
  Result<Json> connect = ExecuteTask(Run("check.connect", {{"url", url()}}));
  ASSERT_TRUE(connect.has_value()) << connect.error().ToString();
  EXPECT_EQ((*connect)["engine"], "postgresql");
  EXPECT_EQ((*connect)["tables"], 1);

  Result<Json> login = ExecuteTask(Run("check.credentials", {{"url", url()}}));
  ASSERT_TRUE(login.has_value()) << login.error().ToString();
  EXPECT_EQ((*login)["logged_in"], true);
  ExpectError(ExecuteTask(Run("check.credentials", {{"url", UrlAs("intruder")}}, "login")),
              StatusCode::kUnavailable,
              {"task `login` (check.credentials)", "role \"intruder\" does not exist",
               "fix the user or password"});

  Result<Json> version = ExecuteTask(Run("check.version", {{"url", url()}, {"min", "15"}}));
  ASSERT_TRUE(version.has_value()) << version.error().ToString();
  EXPECT_THAT((*version)["version"].get<std::string>(), ::testing::StartsWith("15."));
  ExpectError(ExecuteTask(Run("check.version", {{"url", url()}, {"min", "16.2"}}, "ver")),
              StatusCode::kFailedPrecondition,
              {"task `ver` (check.version)", "runs postgresql 15.", "older than the 16.2"});

  Result<Json> sql = ExecuteTask(
      Run("smoke.sql",
          {{"url", url()}, {"sql", "SELECT count(*) + 41 FROM account"}, {"expect", "42"}}));
  ASSERT_TRUE(sql.has_value()) << sql.error().ToString();
  EXPECT_EQ((*sql)["first_value"], "42");
  // The statement runs in a session of the server's and the role's settings, not in the
  // ISO-interval, UTC session of ferry's own scans.
  Result<Json> interval_style = ExecuteTask(
      Run("smoke.sql", {{"url", url()}, {"sql", "SHOW IntervalStyle"}, {"expect", "postgres"}}));
  EXPECT_TRUE(interval_style.has_value()) << interval_style.error().ToString();
  // A statement past the task's timeout is stopped by the server.
  TaskRun slow = Run("smoke.sql", {{"url", url()}, {"sql", "SELECT pg_sleep(5)"}}, "slow");
  specs_.back().timeout_micros = 300'000;
  ExpectError(ExecuteTask(slow), StatusCode::kDeadlineExceeded,
              {"task `slow` (smoke.sql)", "`SELECT pg_sleep(5)` was stopped after 300 ms",
               "raise the task's `timeout:`"});
  Result<Json> select_one = ExecuteTask(Run("smoke.sql", {{"url", url()}}));
  ASSERT_TRUE(select_one.has_value()) << select_one.error().ToString();
  EXPECT_EQ((*select_one)["sql"], "SELECT 1");
  ExpectError(ExecuteTask(Run("smoke.sql", {{"url", url()}, {"sql", "SELECT * FROM nowhere"}})),
              StatusCode::kFailedPrecondition,
              {"`SELECT * FROM nowhere` failed", "relation \"nowhere\" does not exist"});
  ExpectError(ExecuteTask(Run("smoke.sql", {{"url", url()}, {"sql", "SELECT 1"}, {"expect", "2"}})),
              StatusCode::kFailedPrecondition, {"gave \"1\" where `expect` is 2"});

  // A port nobody listens on: refused at once, named, with the way out.
  Result<uint16_t> port = Env::Default()->FreeLoopbackPort();
  ASSERT_TRUE(port.has_value());
  const std::string down = "postgresql://ferry:secret@127.0.0.1:" + std::to_string(*port) + "/x";
  for (const char* type : {"smoke.sql", "check.version"}) {
    Json with = {{"url", down}, {"min", "1"}};
    Result<Json> r = ExecuteTask(Run(type, with, "down"));
    ExpectError(r, StatusCode::kUnavailable,
                {"task `down`", "127.0.0.1:" + std::to_string(*port), "cannot connect",
                 "check that the server is running"});
    if (!r.has_value()) {
      EXPECT_THAT(r.error().message(), Not(HasSubstr("secret")));
    }
  }
  ExpectError(ExecuteTask(Run("check.connect", {{"url", down}}, "down")), StatusCode::kUnavailable,
              {"task `down` (check.connect)", "cannot connect"});
  ExpectError(ExecuteTask(Run("smoke.sql", {{"url", "csv:///tmp"}})), StatusCode::kUnimplemented,
              {"this csv connection", "runs no SQL", "SQLite, PostgreSQL and MySQL/MariaDB"});
}

// ---------------------------------------------------------------------------------------------
// command, cutover

TEST_F(ExecutorsTest, CommandGetsTheRunsIdentityAndItsOutputIsKept) {
  TaskRun run = Run("command",
                    {{"run",
                      "echo run=$FERRY_RUN_ID task=$FERRY_TASK_ID attempt=$FERRY_ATTEMPT; "
                      "echo to-stderr >&2"}},
                    "configure dns");
  run.attempt = 2;
  Result<Json> result = ExecuteTask(run);
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ((*result)["exit_code"], 0);
  const std::string log = (*result)["log"].get<std::string>();
  EXPECT_EQ(log, "configure_dns.attempt-2.log");
  EXPECT_EQ((*result)["artifacts"], Json::array({log}));
  Result<std::string> text = Env::Default()->ReadFile(work_ + "/" + log);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, "run=run-1 task=configure dns attempt=2\nto-stderr\n");
}

TEST_F(ExecutorsTest, CommandThatFailsNamesItsExitCodeAndLastLines) {
  ExpectError(
      ExecuteTask(Run("command", {{"run", "for i in 1 2 3 4 5 6 7; do echo line $i; done; exit 3"}},
                      "switch")),
      StatusCode::kFailedPrecondition,
      {"task `switch` (command)", "exited with code 3",
       "its last lines: line 3 | line 4 | line 5 | line 6 | line 7",
       work_ + "/switch.attempt-1.log", "fix the command"});
  Result<Json> silent = ExecuteTask(Run("cutover", {{"run", "exit 4"}}, "cut"));
  ExpectError(silent, StatusCode::kFailedPrecondition,
              {"task `cut` (cutover)", "exited with code 4 and printed nothing"});
  if (!silent.has_value()) {
    EXPECT_THAT(silent.error().message(), Not(HasSubstr("line 1")));
  }

  // The same attempt run again (ferry restarted) keeps the earlier run's lines in the log, after
  // a note of ferry's, but the error quotes only this run's: here, nothing.
  const std::string marker = dir_ + "/ran-once";
  TaskRun twice = Run("command",
                      {{"run", "if [ -f " + marker + " ]; then exit 5; fi; touch " + marker +
                                   "; echo first run \"output\"; exit 1"},
                       {"undo", "echo undoing"}},
                      "again");
  ExpectError(ExecuteTask(twice), StatusCode::kFailedPrecondition, {"first run output"});
  Result<Json> second = ExecuteTask(twice);
  ExpectError(second, StatusCode::kFailedPrecondition, {"exited with code 5 and printed nothing"});
  if (!second.has_value()) {
    EXPECT_THAT(second.error().message(), Not(HasSubstr("first run output")));
  }
  const std::string log = Env::Default()->ReadFile(work_ + "/again.attempt-1.log").value_or("");
  EXPECT_THAT(log, HasSubstr("first run output"));
  EXPECT_THAT(log, HasSubstr("ferry runs the task again"));
  // An undo run twice says so in its own words.
  ASSERT_TRUE(UndoTask(twice, Json(), Json()).has_value());
  ASSERT_TRUE(UndoTask(twice, Json(), Json()).has_value());
  const std::string undo_log = Env::Default()->ReadFile(work_ + "/again.undo.log").value_or("");
  EXPECT_THAT(undo_log, HasSubstr("ferry runs the undo again"));
  EXPECT_THAT(undo_log, Not(HasSubstr("runs the task again")));
}

TEST_F(ExecutorsTest, CommandTimeoutKillsIt) {
  TaskRun run = Run("command", {{"run", "sleep 30"}}, "slow");
  LastSpec().timeout_micros = 300'000;
  const auto start = std::chrono::steady_clock::now();
  ExpectError(ExecuteTask(run), StatusCode::kDeadlineExceeded,
              {"task `slow` (command)", "timeout of 0.3 s", "was killed", "raise `timeout:`"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(ExecutorsTest, CancelStopsTheCommandAndItsChildrenWithinASecond) {
  const std::string pids = dir_ + "/pids";
  TaskRun run = Run("command", {{"run", "sleep 30 & echo $$ $! > " + pids + "; wait"}}, "long");
  std::atomic<bool> cancel{false};
  run.cancelled = [&] { return cancel.load(); };
  std::thread canceller([&] {
    for (int i = 0; i < 500 && !std::filesystem::exists(pids); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  Result<Json> result = ExecuteTask(run);
  const auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  ExpectError(result, StatusCode::kCancelled, {"task `long` (command)", "cancelled"});
  std::ifstream in(pids);
  pid_t shell = 0;
  pid_t sleeper = 0;
  in >> shell >> sleeper;
  ASSERT_GT(shell, 0);
  ASSERT_GT(sleeper, 0);
  // Cancelled about 0.1 s after it wrote the pids: back well within a second of that.
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_TRUE(ProcessGone(shell));
  for (int i = 0; i < 100 && !ProcessGone(sleeper); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(ProcessGone(sleeper)) << "the command's own child, sleep 30, is still running";
}

TEST_F(ExecutorsTest, ACommandDiesWithTheFerryThatStartedIt) {
  const std::string pidfile = dir_ + "/pid";
  TaskRun run = Run("command", {{"run", "echo $$ > " + pidfile + "; exec sleep 30"}}, "orphan");
  // A process of its own plays ferry: it runs the task, and is killed by SIGKILL, which no
  // handler sees. (Forked before this test starts any thread.)
  const pid_t ferry = ::fork();
  ASSERT_GE(ferry, 0);
  if (ferry == 0) {
    (void)ExecuteTask(run);
    ::_exit(0);
  }
  pid_t command = 0;
  for (int i = 0; i < 500 && command == 0; ++i) {
    std::ifstream in(pidfile);
    in >> command;
    if (command == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(command, 0) << "the command did not start";
  EXPECT_FALSE(ProcessGone(command));
  ASSERT_EQ(::kill(ferry, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(ferry, &status, 0), ferry);
  for (int i = 0; i < 100 && !ProcessGone(command); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(ProcessGone(command)) << "the command outlived the ferry that started it";
}

TEST_F(ExecutorsTest, CommandUndoRunsTheUndoCommand) {
  const std::string flag = dir_ + "/switched";
  TaskRun run = Run("cutover", {{"run", "touch " + flag}, {"undo", "rm " + flag}}, "switch");
  Result<Json> snapshot = SnapshotTask(run);
  ASSERT_TRUE(snapshot.has_value());
  Result<Json> done = ExecuteTask(run);
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_TRUE(std::filesystem::exists(flag));
  Result<Json> undone = UndoTask(run, *snapshot, *done);
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ((*undone)["undo"], "ran");
  EXPECT_EQ((*undone)["log"], "switch.undo.log");
  EXPECT_FALSE(std::filesystem::exists(flag));
  // The undo command fails the second time (rm of a missing file): named as such.
  ExpectError(UndoTask(run, *snapshot, *done), StatusCode::kFailedPrecondition,
              {"`undo` (rm " + flag + ") exited with code 1", "No such file"});

  Result<Json> none = UndoTask(Run("command", {{"run", "true"}}), Json::object(), Json());
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ((*none)["undo"], "none");
}

TEST_F(ExecutorsTest, ACommandThatCannotStartIsNamed) {
  TaskRun run = Run("copy", {{"from", "sqlite:///a.db"}, {"to", "sqlite:///b.db"}}, "cp");
  run.ferry_path = dir_ + "/no-ferry-here";
  ExpectError(ExecuteTask(run), StatusCode::kFailedPrecondition,
              {"task `cp` (copy)", "cannot start ferry copy", "execve: No such file",
               dir_ + "/no-ferry-here"});
}

// ---------------------------------------------------------------------------------------------
// iac.write

TEST_F(ExecutorsTest, IacWriteListsItsFilesAndItsUndoDeletesThem) {
  const std::string estate = dir_ + "/estate.txt";
  ASSERT_TRUE(Env::Default()
                  ->WriteFileAtomic(estate, plan::FormatEstateFile(plan::ThreeTierEstate()))
                  .ok());
  const std::string plan = dir_ + "/plan.json";
  Result<ferry::testing::ExitStatus> planned = ferry::testing::RunToCompletion(
      {.argv = {FERRY_BINARY, "plan", "--inventory", estate, "--out", plan},
       .stdout_path = dir_ + "/plan.out",
       .stderr_path = dir_ + "/plan.out"},
      std::chrono::seconds(60));
  ASSERT_TRUE(planned.has_value() && planned->success())
      << ferry::testing::ReadFileTail(dir_ + "/plan.out");

  // A file already in the directory is not the task's: its undo keeps it.
  ASSERT_TRUE(Env::Default()->CreateDirs(work_ + "/iac").ok());
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(work_ + "/iac/NOTES.txt", "mine").ok());
  TaskRun run = Run("iac.write", {{"plan", plan}, {"dir", "iac"}, {"cloud", "aws"}}, "write-iac");
  Result<Json> snapshot = SnapshotTask(run);
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error().ToString();
  Result<Json> result = ExecuteTask(run);
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  const Json& files = (*result)["files"];
  ASSERT_GE(files.size(), 3u) << result->dump();
  bool has_main = false;
  for (const Json& f : files) {
    EXPECT_TRUE(std::filesystem::exists(work_ + "/" + f.get<std::string>())) << f;
    has_main = has_main || f == "iac/network.tf";
  }
  EXPECT_TRUE(has_main) << files.dump();
  EXPECT_EQ((*result)["clouds"][0]["cloud"], "aws");
  // A second attempt converges on the same files.
  run.attempt = 2;
  Result<Json> again = ExecuteTask(run);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ((*again)["files"], files);

  Result<Json> undone = UndoTask(run, *snapshot, *result);
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ((*undone)["removed"].size(), files.size() - 1);  // all but NOTES.txt
  for (const Json& f : files) {
    EXPECT_EQ(std::filesystem::exists(work_ + "/" + f.get<std::string>()), f == "iac/NOTES.txt");
  }
  Result<Json> twice = UndoTask(run, *snapshot, *result);
  ASSERT_TRUE(twice.has_value());
  EXPECT_TRUE((*twice)["removed"].empty());

  ExpectError(ExecuteTask(Run("iac.write", {{"plan", dir_ + "/none.json"}, {"dir", "iac"}}, "w")),
              StatusCode::kNotFound,
              {"task `w` (iac.write)", dir_ + "/none.json", "no such file", "ferry plan"});
  ExpectError(ExecuteTask(Run("iac.write", {{"plan", plan}, {"dir", "../out"}}, "w")),
              StatusCode::kInvalidArgument, {"`dir` ../out must be a relative path inside"});
  ExpectError(ExecuteTask(Run("iac.write", {{"plan", plan}, {"dir", "x"}, {"cloud", "ibm"}}, "w")),
              StatusCode::kInvalidArgument,
              {"ferry iac exited with code 2", "--cloud ibm", "`cloud` is aws, azure, gcp"});
}

// ---------------------------------------------------------------------------------------------
// copy, verify

class CopyTest : public ExecutorsTest {
 protected:
  void SetUp() override {
    ExecutorsTest::SetUp();
    source_ = dir_ + "/source.db";
    target_ = dir_ + "/target.db";
    Sqlite(source_,
           "CREATE TABLE account (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance NUMERIC);"
           "CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER, amount INTEGER);"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
           "INSERT INTO account SELECT i, 'owner ' || i, i * 1.5 FROM n;"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
           "INSERT INTO ledger SELECT i, i % 7, i * 10 FROM n;");
  }
  std::string source_;
  std::string target_;
};

TEST_F(CopyTest, CopiesWithProgressAndItsUndoLeavesTheTargetAsBefore) {
  // The target holds a table of its own (untouched by everything) and an empty `ledger`, which
  // the copy fills rather than creates.
  Sqlite(target_,
         "CREATE TABLE keep (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO keep VALUES (1, 'a'), "
         "(2, 'b');"
         "CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER, amount INTEGER);");
  const std::string before = DumpSqlite(target_);
  TaskRun run =
      Run("copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}}, "copy-bank");
  std::vector<TaskProgress> seen;
  run.progress = [&](const TaskProgress& p) { seen.push_back(p); };
  Result<Json> snapshot = SnapshotTask(run);
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error().ToString();
  EXPECT_EQ((*snapshot)["tables"],
            Json({{"keep", {{"had_rows", true}}}, {"ledger", {{"had_rows", false}}}}));

  Result<Json> result = ExecuteTask(run);
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ((*result)["rows"], 3500);
  EXPECT_EQ((*result)["verified"], true);
  EXPECT_FALSE((*result)["copy_run_id"].get<std::string>().empty());
  EXPECT_GT((*result)["bytes"].get<int64_t>(), 3500 * 4);
  ASSERT_EQ((*result)["tables"].size(), 2u);
  Json shape = (*result)["tables"];
  for (Json& t : shape) t.erase("bytes");  // checked below
  EXPECT_EQ(shape, Json::parse(R"([{"table":"account","rows":3000,"created":true},
                            {"table":"ledger","rows":500,"created":false}])"));
  EXPECT_EQ((*result)["artifacts"],
            Json::array({"copy-bank.attempt-1.json", "copy-bank.attempt-1.log"}));
  EXPECT_EQ(Sqlite(target_, "SELECT count(*), sum(balance) FROM account")[0],
            Sqlite(source_, "SELECT count(*), sum(balance) FROM account")[0]);
  // Progress came from the copy through FERRY_PROGRESS_FD, table by table, then the total.
  ASSERT_GE(seen.size(), 3u);
  std::set<std::string> tables;
  for (const TaskProgress& p : seen) tables.insert(p.detail);
  EXPECT_TRUE(tables.contains("account") && tables.contains("ledger"));
  EXPECT_EQ(seen.back().rows_done, 3500);
  EXPECT_EQ(seen.back().bytes_done, (*result)["bytes"]);
  // Bytes came live too, and the copy's own count is the rows' canonical encoding: per table,
  // the same as the source's rows encoded here.
  EXPECT_GT(seen.front().bytes_done, 0);
  if (seen.front().rows_total > 0) {
    EXPECT_GE(seen.front().bytes_total, seen.front().bytes_done);
  }
  EXPECT_GT((*result)["target_bytes"].get<int64_t>(), 0);
  int64_t ledger_bytes = 0;
  for (const auto& row : Sqlite(source_, "SELECT id, account, amount FROM ledger")) {
    ledger_bytes +=
        static_cast<int64_t>(CanonicalRow(std::vector<Value>{Value::Int64(std::stoll(row[0])),
                                                             Value::Int64(std::stoll(row[1])),
                                                             Value::Int64(std::stoll(row[2]))})
                                 .size());
  }
  EXPECT_EQ((*result)["tables"][1]["bytes"], ledger_bytes);
  EXPECT_EQ((*result)["bytes"], (*result)["tables"][0]["bytes"].get<int64_t>() + ledger_bytes);

  // A second attempt (the engine retrying after a crash) converges: the rows are there once.
  run.attempt = 2;
  Result<Json> again = ExecuteTask(run);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM account")[0][0], "3000");

  Result<Json> undone = UndoTask(run, *snapshot, *result);
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ((*undone)["dropped"], Json::array({"account"}));
  EXPECT_EQ((*undone)["emptied"], Json::array({"ledger"}));
  EXPECT_EQ(DumpSqlite(target_), before);
  // No chunk marker of the copy is left to make a later copy skip chunks.
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM sqlite_schema WHERE name = 'ferry_chunks'")[0][0],
            "0");
  Result<Json> twice = UndoTask(run, *snapshot, *result);
  ASSERT_TRUE(twice.has_value()) << twice.error().ToString();
  EXPECT_TRUE((*twice)["dropped"].empty());
  EXPECT_EQ(DumpSqlite(target_), before);

  // The undo of an attempt that did not complete (no result) finds the tables from the source.
  ASSERT_TRUE(ExecuteTask(run).has_value());
  Result<Json> partial = UndoTask(run, *snapshot, Json());
  ASSERT_TRUE(partial.has_value()) << partial.error().ToString();
  EXPECT_EQ(DumpSqlite(target_), before);
}

TEST_F(CopyTest, ACopyThatFinishedUnreportedIsTakenWhenItsAttemptRunsAgain) {
  // ferry was SIGKILLed after the copy's own run had succeeded, before the task's completion
  // was recorded. The engine gives the dead worker's lease back without counting the attempt,
  // so the same attempt runs again: it takes the finished copy run's result instead of copying
  // again into tables that are now full (which `--if-exists fail` refuses).
  TaskRun run =
      Run("copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}}, "copy-bank");
  Result<Json> first = ExecuteTask(run);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  const std::string log = work_ + "/copy-bank.attempt-1.log";
  ASSERT_TRUE(std::filesystem::exists(log)) << log;
  const std::string first_log = Env::Default()->ReadFile(log).value_or("");
  ASSERT_NE(first_log.find((*first)["copy_run_id"].get<std::string>()), std::string::npos);

  Result<Json> again = ExecuteTask(run);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ((*again)["copy_run_id"], (*first)["copy_run_id"]);
  EXPECT_EQ((*again)["completed_by_earlier_attempt"], true);
  EXPECT_EQ((*again)["rows"], 3500);
  EXPECT_EQ((*again)["tables"], (*first)["tables"]);
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM account")[0][0], "3000");

  // The log kept the first run's lines. The next run of the attempt (here a copy that starts
  // afresh, the earlier one rolled back) appends after a line of ferry's own saying so.
  ASSERT_TRUE(UndoTask(run, Json::object(), *again).has_value());
  Result<Json> fresh = ExecuteTask(run);
  ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
  EXPECT_NE((*fresh)["copy_run_id"], (*first)["copy_run_id"]);
  EXPECT_EQ((*fresh)["resumed"], false);
  const std::string both = Env::Default()->ReadFile(log).value_or("");
  ASSERT_TRUE(both.starts_with(first_log));
  std::istringstream rest(both.substr(first_log.size()));
  std::string line;
  std::getline(rest, line);
  if (line.empty()) std::getline(rest, line);
  Result<Json> note = ParseJson(line, "the log");
  ASSERT_TRUE(note.has_value()) << line;
  EXPECT_EQ((*note)["level"], "warn");
  EXPECT_EQ((*note)["task"], "copy-bank");
  EXPECT_EQ((*note)["attempt"], 1);
  EXPECT_NE((*note)["msg"].get<std::string>().find("lines above are from an earlier run"),
            std::string::npos);
  EXPECT_NE(both.find((*fresh)["copy_run_id"].get<std::string>(), first_log.size()),
            std::string::npos);
}

TEST_F(CopyTest, AnUndoMarksTheCopyRunsBeforeTouchingTheTarget) {
  // The target file is gone before the undo (removed by hand): the undo has nothing to drop,
  // but the copy run is marked rolled back all the same, so that the task's next run copies
  // afresh instead of taking the earlier run's result for rows no longer there.
  TaskRun run =
      Run("copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}}, "gone");
  Result<Json> first = ExecuteTask(run);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  std::filesystem::remove(target_);
  Result<Json> undone = UndoTask(run, Json::object(), *first);
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ((*undone)["note"], "no target database");
  EXPECT_EQ((*undone)["copy_runs"], Json::array({(*first)["copy_run_id"]}));
  Result<Json> again = ExecuteTask(run);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_NE((*again)["copy_run_id"], (*first)["copy_run_id"]);
  EXPECT_FALSE(again->contains("completed_by_earlier_attempt"));
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM account")[0][0], "3000");
}

TEST_F(CopyTest, AnInterruptedCopyResumesItsChunksOrIsRolledBack) {
  const std::string big = dir_ + "/big.db";
  Sqlite(big,
         "CREATE TABLE event (id INTEGER PRIMARY KEY, payload TEXT);"
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
         "INSERT INTO event SELECT i, printf('event %d with some padding text', i) FROM n;");
  TaskRun run = Run(
      "copy", {{"from", "sqlite://" + big}, {"to", "sqlite://" + target_}, {"chunk_rows", "5000"}},
      "big-copy");
  Result<Json> snapshot = SnapshotTask(run);
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error().ToString();
  // Cancelled (as a crash would stop it) once some chunks are in.
  std::atomic<int64_t> rows{0};
  run.progress = [&](const TaskProgress& p) { rows = p.rows_done; };
  run.cancelled = [&] { return rows.load() >= 20000; };
  Result<Json> first = ExecuteTask(run);
  ExpectError(first, StatusCode::kCancelled, {"task `big-copy` (copy)", "ferry copy was stopped"});
  const int64_t partial = std::stoll(Sqlite(target_, "SELECT count(*) FROM event")[0][0]);
  if (partial == 300000) GTEST_SKIP() << "the copy finished before it could be interrupted";
  EXPECT_GT(partial, 0);

  // The next attempt continues the same copy run from its committed chunks: every row once.
  run.attempt = 2;
  run.cancelled = [] { return false; };
  Result<Json> second = ExecuteTask(run);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_EQ((*second)["resumed"], true);
  EXPECT_EQ((*second)["rows"], 300000);
  EXPECT_EQ((*second)["verified"], true);
  EXPECT_EQ(Sqlite(target_, "SELECT count(*), count(DISTINCT id) FROM event")[0],
            (std::vector<std::string>{"300000", "300000"}));
  ASSERT_TRUE(UndoTask(run, *snapshot, *second).has_value());

  // Interrupted again, then rolled back before it completed (no result): the table is dropped,
  // and the copy run is not continued by a later copy, which starts afresh and copies it all.
  rows = 0;
  run.attempt = 3;
  run.cancelled = [&] { return rows.load() >= 20000; };
  ASSERT_FALSE(ExecuteTask(run).has_value());
  Result<Json> undone = UndoTask(run, *snapshot, Json());
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ((*undone)["dropped"], Json::array({"event"}));
  EXPECT_EQ(DumpSqlite(target_), "");
  run.attempt = 4;
  run.cancelled = [] { return false; };
  Result<Json> fresh = ExecuteTask(run);
  ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
  EXPECT_EQ((*fresh)["resumed"], false);
  EXPECT_EQ((*fresh)["verified"], true);
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM event")[0][0], "300000");
}

TEST_F(CopyTest, UndoKeepsATableThatHeldRowsAndSaysWhy) {
  Sqlite(target_,
         "CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER, amount INTEGER);"
         "INSERT INTO ledger VALUES (9999, 1, 1);");
  TaskRun run = Run("copy", {{"from", "sqlite://" + source_},
                             {"to", "sqlite://" + target_},
                             {"tables", "ledger"},
                             {"if_exists", "truncate"}});
  Result<Json> snapshot = SnapshotTask(run);
  ASSERT_TRUE(snapshot.has_value());
  Result<Json> result = ExecuteTask(run);
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM ledger")[0][0], "500");
  Result<Json> undone = UndoTask(run, *snapshot, *result);
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  ASSERT_EQ((*undone)["kept"].size(), 1u);
  EXPECT_THAT(
      (*undone)["kept"][0]["why"].get<std::string>(),
      AllOf(HasSubstr("--if-exists truncate"), HasSubstr("restore the table from a backup")));
  // Documented: the truncated row is gone, and the copied rows stay.
  EXPECT_EQ(Sqlite(target_, "SELECT count(*) FROM ledger")[0][0], "500");
}

TEST_F(CopyTest, CopyErrorsNameTheCause) {
  // A table that holds rows, and the default --if-exists fail.
  Sqlite(target_,
         "CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER, amount INTEGER);"
         "INSERT INTO ledger VALUES (1, 1, 1);");
  ExpectError(ExecuteTask(Run(
                  "copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}}, "cp")),
              StatusCode::kInvalidArgument,
              {"task `cp` (copy)", "ferry copy exited with code 2", "already holds rows",
               "choose --if-exists truncate"});
  ExpectError(
      ExecuteTask(Run("copy",
                      {{"from", "sqlite://" + dir_ + "/missing.db"}, {"to", "sqlite://" + target_}},
                      "cp")),
      StatusCode::kUnavailable, {"ferry copy exited with code 3", "missing.db"});
  ExpectError(ExecuteTask(Run("copy", {{"from", "sqlite://" + source_},
                                       {"to", "sqlite://" + target_},
                                       {"if_exists", "overwrite"}})),
              StatusCode::kInvalidArgument,
              {"`if_exists` overwrite: expected fail, truncate or append"});
  ExpectError(
      ExecuteTask(Run(
          "copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}, {"jobs", "0"}})),
      StatusCode::kInvalidArgument, {"exited with code 2", "--jobs 0"});
  ExpectError(
      SnapshotTask(Run("copy", {{"from", "sqlite://" + source_}, {"to", "oracle://db/x"}}, "cp")),
      StatusCode::kInvalidArgument,
      {"task `cp` (copy): the target", "unknown kind of database `oracle`"});
  TaskRun no_store = Run("copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}});
  no_store.store_url.clear();
  ExpectError(ExecuteTask(no_store), StatusCode::kFailedPrecondition,
              {"the run has no store for the copy's own run"});
  TaskRun no_dir = Run("command", {{"run", "true"}}, "cmd");
  no_dir.work_dir.clear();
  ExpectError(ExecuteTask(no_dir), StatusCode::kFailedPrecondition,
              {"task `cmd` (command): the run has no work directory"});
}

TEST_F(CopyTest, VerifySummarisesOrNamesTheDifferences) {
  TaskRun copy = Run("copy", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}});
  ASSERT_TRUE(ExecuteTask(copy).has_value());
  TaskRun verify =
      Run("verify", {{"from", "sqlite://" + source_}, {"to", "sqlite://" + target_}}, "check");
  Result<Json> clean = ExecuteTask(verify);
  ASSERT_TRUE(clean.has_value()) << clean.error().ToString();
  EXPECT_EQ((*clean)["identical"], true);
  EXPECT_EQ((*clean)["tables"][0], Json({{"table", "account"},
                                         {"identical", true},
                                         {"source_rows", 3000},
                                         {"target_rows", 3000}}));

  Sqlite(target_,
         "DELETE FROM account WHERE id IN (5, 6); UPDATE ledger SET amount = 0 WHERE id = 1");
  verify.attempt = 2;
  ExpectError(ExecuteTask(verify), StatusCode::kDataLoss,
              {"task `check` (verify)", "differ",
               "`account`: 2 missing, 0 extra, 0 changed row(s) (source 3000 rows, target 2998)",
               "`ledger`: 0 missing, 0 extra, 1 changed", "check.attempt-2.json"});
  ExpectError(ExecuteTask(Run("verify", {{"from", "sqlite://" + dir_ + "/none.db"},
                                         {"to", "sqlite://" + target_}})),
              StatusCode::kUnavailable, {"ferry verify exited with code 3", "none.db"});
}

// A copy task of three rows from a fresh SQLite file into the server at `url`, then its undo:
// `loaded` looks at the result and the target in between, `undone` at the undo's answer.
void CopyThreeRowsAndUndo(const std::string& url, const std::function<void(const Json&)>& loaded,
                          const std::function<void(const Json&)>& undone) {
  char pattern[] = "/tmp/ferry-executors-server-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  Sqlite(dir + "/source.db",
         "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);"
         "INSERT INTO item VALUES (1, 'one'), (2, 'two'), (3, 'three');");
  TaskSpec spec{.id = "copy",
                .type = "copy",
                .with = {{"from", "sqlite://" + dir + "/source.db"}, {"to", url}}};
  TaskRun run{.spec = &spec,
              .run_id = "run-server",
              .store_url = "sqlite://" + dir + "/store.db",
              .ferry_path = FERRY_BINARY,
              .work_dir = dir + "/work"};
  Result<Json> snapshot = SnapshotTask(run);
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error().ToString();
  Result<Json> result = ExecuteTask(run);
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ((*result)["rows"], 3);
  int64_t bytes = 0;  // the rows' canonical encoding, worked out here
  for (const auto& [id, name] :
       {std::pair<int64_t, std::string>{1, "one"}, {2, "two"}, {3, "three"}}) {
    bytes += static_cast<int64_t>(
        CanonicalRow(std::vector<Value>{Value::Int64(id), Value::Text(name)}).size());
  }
  EXPECT_EQ((*result)["bytes"], bytes);
  EXPECT_GT((*result)["target_bytes"].get<int64_t>(), 0);
  loaded(*result);
  Result<Json> undo = UndoTask(run, *snapshot, *result);
  ASSERT_TRUE(undo.has_value()) << undo.error().ToString();
  EXPECT_EQ((*undo)["dropped"], Json::array({"item"}));
  undone(*undo);
  std::filesystem::remove_all(dir);
}

class CopyPostgresTest : public ferry::testing::PostgresTest {};

TEST_F(CopyPostgresTest, CopyToPostgresAndUndo) {
  ASSERT_TRUE(
      Execute("CREATE TABLE existing (id int PRIMARY KEY); INSERT INTO existing VALUES (7)").ok());
  CopyThreeRowsAndUndo(
      url(),
      [&](const Json&) {
        EXPECT_EQ(*QueryValue("SELECT string_agg(name, ',' ORDER BY id) FROM item"),
                  "one,two,three");
      },
      [&](const Json&) {
        EXPECT_EQ(*QueryValue("SELECT count(*) FROM pg_tables WHERE tablename = 'item'"), "0");
        EXPECT_EQ(*QueryValue("SELECT string_agg(id::text, ',') FROM existing"), "7");
      });
}

// ---------------------------------------------------------------------------------------------
// MariaDB (the MySQL engine): the checks, the smoke test and a copy with its undo, as above.

class ExecutorsMariaDbTest : public ferry::testing::MariaDbTest {
 protected:
  Result<Json> Task(const std::string& type, Json with, const std::string& id = "my") {
    TaskSpec& spec = specs_.emplace_back(TaskSpec{.id = id, .type = type, .with = std::move(with)});
    return ExecuteTask(TaskRun{.spec = &spec});
  }
  std::deque<TaskSpec> specs_;
};

TEST_F(ExecutorsMariaDbTest, ChecksSmokeSqlAndCopyWithUndo) {
  ASSERT_TRUE(Execute("CREATE TABLE existing (id int PRIMARY KEY)").ok());
  ASSERT_TRUE(Execute("INSERT INTO existing VALUES (7)").ok());
  Result<Json> connect = Task("check.connect", {{"url", url()}});
  ASSERT_TRUE(connect.has_value()) << connect.error().ToString();
  EXPECT_EQ((*connect)["engine"], "mysql");
  EXPECT_EQ((*connect)["tables"], 1);

  Result<std::string> server_version = QueryValue("SELECT VERSION()");
  ASSERT_TRUE(server_version.has_value());
  Result<Json> version = Task("check.version", {{"url", url()}, {"min", "10.3"}});
  ASSERT_TRUE(version.has_value()) << version.error().ToString();
  EXPECT_EQ((*version)["version"], *server_version);
  EXPECT_EQ((*version)["engine"], "mysql");
  ExpectError(Task("check.version", {{"url", url()}, {"min", "99"}}, "ver"),
              StatusCode::kFailedPrecondition,
              {"task `ver` (check.version)", "runs mysql " + *server_version, "older than the 99"});

  Result<Json> sql =
      Task("smoke.sql",
           {{"url", url()}, {"sql", "SELECT COUNT(*) + 41 FROM existing"}, {"expect", "42"}});
  ASSERT_TRUE(sql.has_value()) << sql.error().ToString();
  EXPECT_EQ((*sql)["first_value"], "42");
  EXPECT_EQ((*sql)["engine"], "mysql");
  // The server's session, not ferry's copy session (day-long network timeouts, UTC).
  Result<Json> timeout =
      Task("smoke.sql", {{"url", url()}, {"sql", "SELECT @@session.net_read_timeout"}});
  ASSERT_TRUE(timeout.has_value()) << timeout.error().ToString();
  EXPECT_NE((*timeout)["first_value"], "86400");
  TaskSpec& slow = specs_.emplace_back(TaskSpec{
      .id = "slow", .type = "smoke.sql", .with = {{"url", url()}, {"sql", "SELECT SLEEP(5)"}}});
  slow.timeout_micros = 300'000;
  ExpectError(ExecuteTask(TaskRun{.spec = &slow}), StatusCode::kDeadlineExceeded,
              {"`SELECT SLEEP(5)` was stopped after 300 ms", "raise the task's `timeout:`"});
  Result<Json> no_rows = Task("smoke.sql", {{"url", url()}, {"sql", "DO 1"}});
  ASSERT_TRUE(no_rows.has_value()) << no_rows.error().ToString();
  EXPECT_EQ((*no_rows)["rows"], 0);
  EXPECT_TRUE((*no_rows)["first_value"].is_null());
  ExpectError(
      Task("smoke.sql", {{"url", url()}, {"sql", "SELECT * FROM nowhere"}}, "smoke"),
      StatusCode::kFailedPrecondition,
      {"task `smoke` (smoke.sql)", "`SELECT * FROM nowhere` failed", "doesn't exist", "fix `sql`"});
  // A server that does not answer: named, without the URL's password.
  Result<uint16_t> port = Env::Default()->FreeLoopbackPort();
  ASSERT_TRUE(port.has_value());
  const std::string down = "mysql://ferry:s3cret@127.0.0.1:" + std::to_string(*port) + "/x";
  Result<Json> refused = Task("smoke.sql", {{"url", down}}, "down");
  ExpectError(refused, StatusCode::kUnavailable,
              {"task `down`", "cannot connect", "check that the server is running"});
  if (!refused.has_value()) {
    EXPECT_THAT(refused.error().message(), Not(HasSubstr("s3cret")));
  }

  // A copy into MariaDB, its bytes moved and its size in the target, then its undo.
  CopyThreeRowsAndUndo(
      url(),
      [&](const Json&) {
        EXPECT_EQ(*QueryValue("SELECT GROUP_CONCAT(name ORDER BY id) FROM item"), "one,two,three");
      },
      [&](const Json&) {
        EXPECT_EQ(*QueryValue("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                              "DATABASE() AND table_name = 'item'"),
                  "0");
        EXPECT_EQ(*QueryValue("SELECT GROUP_CONCAT(id) FROM existing"), "7");
      });
}

// ---------------------------------------------------------------------------------------------
// Smoke tests over loopback

// An HTTP(S) server on 127.0.0.1 in a thread of its own.
template <typename Server>
class LoopbackServer {
 public:
  template <typename... Args>
  explicit LoopbackServer(Args&&... args) : server_(std::forward<Args>(args)...) {
    server_.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
    server_.Get("/broken", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("database down\nretry later", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  bool valid() { return server_.is_valid(); }

 private:
  Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ExecutorsTest, SmokeHttpExpectsTheStatus) {
  LoopbackServer<httplib::Server> server;
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  Result<Json> ok = ExecuteTask(Run("smoke.http", {{"url", base + "/health"}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ((*ok)["status"], 200);
  EXPECT_EQ((*ok)["bytes"], 2);
  Result<Json> expected503 =
      ExecuteTask(Run("smoke.http", {{"url", base + "/broken"}, {"status", "503"}}));
  ASSERT_TRUE(expected503.has_value()) << expected503.error().ToString();

  ExpectError(ExecuteTask(Run("smoke.http", {{"url", base + "/broken"}}, "health")),
              StatusCode::kFailedPrecondition,
              {"task `health` (smoke.http)", "answered 503 where 200 was expected",
               "database down retry later"});
  Result<uint16_t> free_port = Env::Default()->FreeLoopbackPort();
  ASSERT_TRUE(free_port.has_value());
  ExpectError(ExecuteTask(Run("smoke.http",
                              {{"url", "http://127.0.0.1:" + std::to_string(*free_port) + "/"}})),
              StatusCode::kUnavailable, {"GET http://127.0.0.1:", "check that the service runs"});
  ExpectError(ExecuteTask(Run("smoke.http", {{"url", "ftp://example.com/"}})),
              StatusCode::kInvalidArgument, {"not an http:// or https:// URL"});
  ExpectError(ExecuteTask(Run("smoke.http", {{"url", base}, {"status", "OK"}})),
              StatusCode::kInvalidArgument, {"`status` OK is not an HTTP status"});
}

// A certificate for localhost (not for 127.0.0.1), valid for `days`, made by `openssl req`.
void MakeCertificate(const std::string& dir, int days) {
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
                              "/key.pem -out " + dir + "/cert.pem -days " + std::to_string(days) +
                              " -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>" + dir +
                              "/openssl.log";
  ASSERT_EQ(std::system(command.c_str()), 0) << ferry::testing::ReadFileTail(dir + "/openssl.log");
}

TEST_F(ExecutorsTest, SmokeTlsChecksTheChainTheNameAndTheDaysLeft) {
  MakeCertificate(dir_, 30);
  const std::string cert = dir_ + "/cert.pem";
  LoopbackServer<httplib::SSLServer> tls(cert.c_str(), (dir_ + "/key.pem").c_str());
  ASSERT_TRUE(tls.valid());
  const std::string port = std::to_string(tls.port());
  Result<Json> ok = ExecuteTask(
      Run("smoke.tls", {{"host", "localhost"}, {"port", port}, {"days", "7"}, {"ca", cert}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_GE((*ok)["days_left"].get<int>(), 29);
  EXPECT_LE((*ok)["days_left"].get<int>(), 30);
  EXPECT_EQ((*ok)["subject"], "/CN=localhost");

  ExpectError(ExecuteTask(Run("smoke.tls",
                              {{"host", "localhost"}, {"port", port}, {"days", "60"}, {"ca", cert}},
                              "cert")),
              StatusCode::kFailedPrecondition,
              {"task `cert` (smoke.tls)", "localhost:" + port, "expires in",
               "fewer than the 60 required", "renew"});
  ExpectError(ExecuteTask(Run("smoke.tls", {{"host", "localhost"}, {"port", port}})),
              StatusCode::kFailedPrecondition,
              {"is not valid: self-signed certificate", "name the CA that issued it in `ca`"});
  // The certificate names localhost, not the address 127.0.0.1.
  ExpectError(ExecuteTask(Run("smoke.tls", {{"host", "127.0.0.1"}, {"port", port}, {"ca", cert}})),
              StatusCode::kFailedPrecondition, {"not valid", "mismatch"});

  // smoke.http over HTTPS checks the chain the same way.
  Result<Json> https = ExecuteTask(
      Run("smoke.http", {{"url", "https://localhost:" + port + "/health"}, {"ca", cert}}, "https"));
  ASSERT_TRUE(https.has_value()) << https.error().ToString();
  EXPECT_EQ((*https)["status"], 200);
  ExpectError(
      ExecuteTask(Run("smoke.http", {{"url", "https://localhost:" + port + "/health"}}, "https")),
      StatusCode::kUnavailable, {"task `https` (smoke.http)", "GET https://localhost:"});

  LoopbackServer<httplib::Server> plain;
  ExpectError(ExecuteTask(Run("smoke.tls",
                              {{"host", "127.0.0.1"}, {"port", std::to_string(plain.port())}})),
              StatusCode::kUnavailable, {"TLS handshake failed", "check that the port serves TLS"});
  ExpectError(ExecuteTask(Run("smoke.tls", {{"host", "localhost"}, {"port", "99999"}})),
              StatusCode::kInvalidArgument, {"`port` 99999 is not a TCP port"});
  ExpectError(ExecuteTask(Run("smoke.tls", {{"host", "localhost"}, {"port", port}, {"days", "x"}})),
              StatusCode::kInvalidArgument, {"`days` x is not a number of days"});
}

TEST_F(ExecutorsTest, SmokeDnsResolvesLocalhost) {
  Result<Json> ok =
      ExecuteTask(Run("smoke.dns", {{"name", "localhost"}, {"address", "127.0.0.1"}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_THAT((*ok)["addresses"].dump(), HasSubstr("127.0.0.1"));
  ExpectError(
      ExecuteTask(Run("smoke.dns", {{"name", "localhost"}, {"address", "10.9.9.9"}}, "dns")),
      StatusCode::kFailedPrecondition,
      {"task `dns` (smoke.dns)", "`localhost` resolves to", "127.0.0.1", "not to 10.9.9.9",
       "update the DNS record"});
  ExpectError(ExecuteTask(Run("smoke.dns", {{"name", "no-such-host.invalid"}})),
              StatusCode::kNotFound, {"`no-such-host.invalid` does not resolve"});
}

TEST_F(ExecutorsTest, SmokeLatencyTakesTheMedianOfConnects) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 128), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  Result<Json> ok = ExecuteTask(
      Run("smoke.latency", {{"host", "127.0.0.1"}, {"port", port}, {"budget", "500ms"}}));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ((*ok)["samples"], 9);
  EXPECT_LE((*ok)["min_ms"].get<double>(), (*ok)["median_ms"].get<double>());
  EXPECT_LE((*ok)["median_ms"].get<double>(), (*ok)["max_ms"].get<double>());
  EXPECT_LT((*ok)["median_ms"].get<double>(), 500);
  ExpectError(
      ExecuteTask(Run("smoke.latency",
                      {{"host", "127.0.0.1"}, {"port", port}, {"budget", "1us"}, {"samples", "3"}},
                      "lat")),
      StatusCode::kFailedPrecondition,
      {"task `lat` (smoke.latency)", "the median TCP connect of 3 took", "over the budget of 1us",
       "raise `budget`"});
  ::close(listener);
  ExpectError(ExecuteTask(Run("smoke.latency",
                              {{"host", "127.0.0.1"}, {"port", port}, {"budget", "50ms"}})),
              StatusCode::kUnavailable, {"127.0.0.1:" + port, "check that the service listens"});
  ExpectError(ExecuteTask(Run("smoke.latency",
                              {{"host", "127.0.0.1"}, {"port", port}, {"budget", "fast"}})),
              StatusCode::kInvalidArgument, {"`budget` fast is not a positive duration"});
}

}  // namespace
}  // namespace ferry::workflow
