// `ferry copy` killed with SIGKILL at random moments, over and over, and resumed each time: the
// run ends with every row in the target exactly once and a clean `ferry verify`.
//
// The real binary runs against a real PostgreSQL target with two workers and small chunks, and
// is held to a modest --max-rate so that the kills land all across the run: while planning,
// mid-chunk, between a chunk's commit and its record in the store, and while verifying.
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "harness/process.h"
#include "harness/shared_servers.h"
#include "store/store.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CopyKillTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    testing::PostgresTest::SetUp();
    char pattern[] = "/tmp/ferry-kill-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    source_ = dir_ + "/source.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(source_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, R"sql(
CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount NUMERIC(12,2),
                     note TEXT, booked DATETIME);
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, since DATE);
CREATE TABLE audit (line TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO ledger SELECT i * 3, i % 997, (i * 37 % 100000) / 100.0,
  CASE WHEN i % 11 = 0 THEN NULL ELSE 'payment ' || i || ' Zoë' END,
  datetime(1700000000 + i * 61, 'unixepoch') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO customer SELECT i, 'customer ' || i, date(19000 + i % 5000, 'unixepoch') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO audit SELECT 'event ' || (i % 5000) FROM n;
)sql",
                                nullptr, nullptr, &error);
    ASSERT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
    sqlite3_close(db);
  }
  void TearDown() override {
    Env::Default()->RemoveAll(dir_).IgnoreError();
    testing::PostgresTest::TearDown();
  }

  std::vector<std::string> CopyCommand(const std::string& resume) const {
    std::vector<std::string> argv = {
        FERRY_BINARY,          "--store", store_url(),  "copy",   "--from",
        "sqlite://" + source_, "--to",    url(),        "--jobs", "2",
        "--chunk-rows",        "5000",    "--max-rate", "60000"};
    if (!resume.empty()) {
      argv.push_back("--resume");
      argv.push_back(resume);
    }
    return argv;
  }
  std::string store_url() const { return SqliteStoreUrl(dir_ + "/state.db"); }

  std::string dir_;
  std::string source_;
};

TEST_F(CopyKillTest, SurvivesTwentySigkillsAndVerifiesClean) {
  std::mt19937 random(20261123);
  std::uniform_int_distribution<int> delay_ms(40, 700);
  std::string run_id;
  int kills = 0;
  int kills_mid_copy = 0;  // with some chunks done and some not
  bool finished = false;
  for (int attempt = 0; attempt < 80 && !finished; ++attempt) {
    // Every other attempt names the run; the others rely on "the same command again".
    const std::string log = fmt::format("{}/attempt-{}.log", dir_, attempt);
    auto child = testing::Subprocess::Spawn({.argv = CopyCommand(attempt % 2 == 1 ? run_id : ""),
                                             .stdout_path = log,
                                             .stderr_path = log});
    ASSERT_TRUE(child.has_value()) << child.error().ToString();
    const bool kill_it = kills < 20;
    if (kill_it) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    }
    if (kill_it && (*child)->running()) {
      ASSERT_TRUE((*child)->Signal(SIGKILL).ok());
      // Reaped, so that the next attempt sees the worker's process gone.
      auto status = (*child)->Wait(std::chrono::seconds(10));
      ASSERT_TRUE(status.has_value()) << status.error().ToString();
      ASSERT_EQ(status->signal, SIGKILL) << status->ToString() << "\n" << ReadFile(log);
      ++kills;
      if (!run_id.empty()) {
        // Where the kill landed: chunks done so far.
        auto store = Store::Open(store_url());
        ASSERT_TRUE(store.has_value()) << store.error().ToString();
        auto stats = (*store)->GetQueueStats("copy:" + run_id);
        ASSERT_TRUE(stats.has_value());
        if (stats->done > 0 && stats->done < stats->total()) ++kills_mid_copy;
      }
    } else {
      auto status = (*child)->Wait(std::chrono::seconds(300));
      ASSERT_TRUE(status.has_value()) << status.error().ToString();
      ASSERT_TRUE(status->success()) << status->ToString() << "\n" << ReadFile(log);
      finished = true;
    }
    if (run_id.empty()) {
      std::smatch found;
      const std::string text = ReadFile(log);
      if (std::regex_search(text, found, std::regex("run=(copy-[0-9a-z]+)"))) run_id = found[1];
    }
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, 20);
  EXPECT_GE(kills_mid_copy, 10);

  // One run did it all: the store holds it, succeeded, with every chunk done once.
  auto store = Store::Open(store_url());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  auto run = (*store)->GetRun(run_id);
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  EXPECT_EQ(run->state, "succeeded") << run->result;
  auto tasks = (*store)->ListTasks("copy:" + run_id);
  ASSERT_TRUE(tasks.has_value());
  EXPECT_GE(tasks->size(), 60u + 10u + 1u);  // 5,000-row chunks, at least
  for (const Task& t : *tasks) EXPECT_EQ(t.state, TaskState::kDone) << t.payload;

  // Exactly once: the keyless table proves it by count (a key would only have refused a
  // duplicate), and verification compares every row.
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM audit").value_or(""), "20000");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM ledger").value_or(""), "300000");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_class WHERE relname = 'ferry_chunks'").value_or(""),
            "0");
  const std::string verify_log = dir_ + "/verify.log";
  auto verified = testing::RunToCompletion(
      {.argv = {FERRY_BINARY, "verify", "--from", "sqlite://" + source_, "--to", url()},
       .stdout_path = verify_log,
       .stderr_path = verify_log},
      std::chrono::seconds(300));
  ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
  EXPECT_TRUE(verified->success()) << ReadFile(verify_log);
  EXPECT_THAT(ReadFile(verify_log), HasSubstr("identical"));
}

// One copy's worker dies (SIGKILL, left a zombie: not reaped yet) while a second process of the
// same run waits for the chunks it held. The second gives them back as soon as it sees the
// holder gone (its log says so, naming the dead worker), rather than when their 30 s leases
// expire, and finishes the run with every row once.
TEST_F(CopyKillTest, ChunksOfAWorkerThatDiesWhileAnotherWaitsAreGivenBack) {
  const std::string log_a = dir_ + "/a.log";
  // A's claims last 10 minutes: however slow the machine, B can only get them back by seeing
  // A gone, not by waiting out the lease.
  std::vector<std::string> argv_a = CopyCommand("");
  argv_a.insert(argv_a.end(), {"--lease", "600"});
  auto a = testing::Subprocess::Spawn({.argv = argv_a, .stdout_path = log_a, .stderr_path = log_a});
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  // Stopped (alive, its leases held) while it has a chunk leased and some done.
  auto store = Store::Open(store_url());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  std::string run_id;
  bool holding = false;
  for (int i = 0; i < 400 && !holding; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (run_id.empty()) {
      std::smatch found;
      const std::string text = ReadFile(log_a);
      if (std::regex_search(text, found, std::regex("run=(copy-[0-9a-z]+)"))) run_id = found[1];
      continue;
    }
    ASSERT_TRUE((*a)->Signal(SIGSTOP).ok());
    auto stats = (*store)->GetQueueStats("copy:" + run_id);
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    holding = stats->leased > 0 && stats->done >= 2;
    if (!holding) {
      ASSERT_TRUE((*a)->Signal(SIGCONT).ok());
    }
  }
  ASSERT_TRUE(holding) << "the first copy never held a chunk with others done\n" << ReadFile(log_a);

  // The second process continues the same run; A is alive, so at its start nothing is given
  // back. Once it has claimed every other chunk, A dies.
  const std::string log_b = dir_ + "/b.log";
  std::vector<std::string> argv_b = {
      FERRY_BINARY,          "--store", store_url(), "copy",   "--from",
      "sqlite://" + source_, "--to",    url(),       "--jobs", "2",
      "--chunk-rows",        "5000",    "--resume",  run_id};
  auto b = testing::Subprocess::Spawn({.argv = argv_b, .stdout_path = log_b, .stderr_path = log_b});
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  bool claimed_all = false;
  for (int i = 0; i < 6000 && !claimed_all; ++i) {
    auto stats = (*store)->GetQueueStats("copy:" + run_id);
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    claimed_all = stats->pending == 0;
    if (!claimed_all) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(claimed_all) << "the second copy did not claim the other chunks in 5 minutes\n"
                           << ReadFile(log_b);
  const pid_t pid_a = (*a)->pid();
  auto tasks = (*store)->ListTasks("copy:" + run_id);
  ASSERT_TRUE(tasks.has_value()) << tasks.error().ToString();
  bool held_by_a = false;
  for (const Task& t : *tasks) {
    held_by_a =
        held_by_a || (t.state == TaskState::kLeased &&
                      t.lease_owner.find(":" + std::to_string(pid_a) + ":") != std::string::npos);
  }
  ASSERT_TRUE(held_by_a) << "the first copy no longer holds a chunk";
  ASSERT_EQ(::kill(pid_a, SIGKILL), 0);  // not through Subprocess, which would reap it
  auto done = (*b)->Wait(std::chrono::seconds(300));
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  ASSERT_TRUE(done->success()) << done->ToString() << "\n" << ReadFile(log_b);
  auto killed = (*a)->Wait(std::chrono::seconds(10));
  ASSERT_TRUE(killed.has_value()) << killed.error().ToString();
  EXPECT_EQ(killed->signal, SIGKILL);

  const std::string text_b = ReadFile(log_b);
  std::smatch released;
  ASSERT_TRUE(std::regex_search(
      text_b, released,
      std::regex("released the chunks of a stopped worker worker=[^ :]+:([0-9]+):")))
      << text_b;
  EXPECT_EQ(released[1], std::to_string(pid_a));
  auto run = (*store)->GetRun(run_id);
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  EXPECT_EQ(run->state, "succeeded") << run->result;
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM audit").value_or(""), "20000");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM ledger").value_or(""), "300000");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM customer").value_or(""), "50000");
}

// A target disk that fills up mid-copy (here: a file-size limit on the process, which makes
// writes fail as a full disk does): the error names the table and the way out, the chunks
// committed before it stay, and once there is room the same command finishes the run.
TEST_F(CopyKillTest, TargetDiskFullStopsCleanlyAndTheSameCommandFinishes) {
  const std::string target = dir_ + "/target.db";
  const std::string log = dir_ + "/full.log";
  const std::string copy = fmt::format(
      "{} --store {} copy --from sqlite://{} --to sqlite://{} --chunk-rows 20000 --tables ledger",
      FERRY_BINARY, store_url(), source_, target);
  auto full = testing::RunToCompletion(
      {.argv = {"bash", "-c", "trap '' XFSZ; ulimit -f 6000; exec " + copy},
       .stdout_path = log,
       .stderr_path = log},
      std::chrono::seconds(300));
  ASSERT_TRUE(full.has_value()) << full.error().ToString();
  EXPECT_EQ(full->exit_code, 3) << ReadFile(log);
  const std::string said = ReadFile(log);
  EXPECT_THAT(said, HasSubstr("table `ledger`"));
  EXPECT_THAT(said, HasSubstr("--resume"));

  auto finished = testing::RunToCompletion(
      {.argv = {"bash", "-c", "exec " + copy}, .stdout_path = log, .stderr_path = log},
      std::chrono::seconds(300));
  ASSERT_TRUE(finished.has_value()) << finished.error().ToString();
  EXPECT_TRUE(finished->success()) << ReadFile(log);
  EXPECT_THAT(ReadFile(log), HasSubstr("(continued)"));
  EXPECT_THAT(ReadFile(log), HasSubstr("verified: every row arrived intact"));
}

// Text that is not UTF-8 in the source: the error names the table, the column and the way out;
// once the row is fixed, the same command continues the run.
TEST_F(CopyKillTest, InvalidUtf8InTheSourceIsNamedAndTheRunResumesAfterTheFix) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(source_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE customer SET name = CAST(x'41ff42' AS TEXT) WHERE id = 777",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const std::string target = dir_ + "/target.db";
  const std::string log = dir_ + "/utf8.log";
  const std::vector<std::string> copy = {
      FERRY_BINARY,          "--store", store_url(),          "copy",     "--from",
      "sqlite://" + source_, "--to",    "sqlite://" + target, "--tables", "customer",
      "--chunk-rows",        "500"};
  auto refused = testing::RunToCompletion({.argv = copy, .stdout_path = log, .stderr_path = log},
                                          std::chrono::seconds(120));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->exit_code, 2) << ReadFile(log);
  EXPECT_THAT(ReadFile(log), HasSubstr("table `customer`, column `name`"));
  EXPECT_THAT(ReadFile(log), HasSubstr("invalid UTF-8"));

  ASSERT_EQ(sqlite3_exec(db, "UPDATE customer SET name = 'customer 777' WHERE id = 777", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto resumed = testing::RunToCompletion({.argv = copy, .stdout_path = log, .stderr_path = log},
                                          std::chrono::seconds(120));
  ASSERT_TRUE(resumed.has_value());
  EXPECT_TRUE(resumed->success()) << ReadFile(log);
  EXPECT_THAT(ReadFile(log), HasSubstr("(continued)"));
}

}  // namespace
}  // namespace ferry
