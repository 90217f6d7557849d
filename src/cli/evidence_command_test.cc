// `ferry evidence export` of a real `ferry copy` run and `ferry evidence verify`, through the
// command line: valid as written, rejected once edited.
#include <unistd.h>

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/cli_test_util.h"
#include "store/store.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using Outcome = ::ferry::testing::CliOutcome;
using ::ferry::testing::RunCli;

TEST(EvidenceCommandTest, ExportsACopyRunAndRejectsAnEditedFile) {
  char pattern[] = "/tmp/ferry-evidence-cli-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/src.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES "
                         "(1,'a'),(2,'b'),(3,'c');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string store = "sqlite://" + dir + "/ferry.db";
  Outcome copy = RunCli({"--store", store, "copy", "--from", "sqlite://" + dir + "/src.db", "--to",
                         "sqlite://" + dir + "/dst.db"});
  ASSERT_EQ(copy.code, 0) << copy.err;
  auto opened = Store::Open(store);
  ASSERT_TRUE(opened.has_value());
  std::vector<RunRecord> runs = (*opened)->FindRuns("copy", "").value();
  std::string run_id;
  if (!runs.empty()) {
    run_id = runs.front().id;
  } else {
    std::vector<Event> events = (*opened)->ReadEvents(0, 10).value();
    ASSERT_FALSE(events.empty());
    run_id = events.front().run_id;
  }
  opened->reset();
  ASSERT_EQ(RunCli({"crypto", "keygen", "--out", dir + "/ops.key"}).code, 0);
  Outcome exported = RunCli({"--store", store, "evidence", "export", run_id, "--identity",
                             dir + "/ops.key", "--out", dir + "/ev.json"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string fp =
      ParseJson(Env::Default()->ReadFile(dir + "/ops.key").value(), "key").value()["fingerprint"];
  Outcome ok = RunCli({"evidence", "verify", dir + "/ev.json", "--signer", fp});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("valid: run " + run_id + " (copy, succeeded), 2 event(s)"));

  std::string text = Env::Default()->ReadFile(dir + "/ev.json").value();
  const size_t at = text.find("\"rows\": 3");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 9, "\"rows\": 4");
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir + "/ev.json", text).ok());
  Outcome bad = RunCli({"evidence", "verify", dir + "/ev.json"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("REJECTED: the evidence signature does not verify"));
  // A signed checkpoint of the log, then the log checked with it.
  Outcome cp = RunCli({"--store", store, "evidence", "checkpoint", "--identity", dir + "/ops.key"});
  ASSERT_EQ(cp.code, 0) << cp.err;
  EXPECT_THAT(cp.out, HasSubstr("checkpoint at event 3"));
  Outcome vl = RunCli({"--store", store, "evidence", "verify-log", "--signer", fp});
  EXPECT_EQ(vl.code, 0) << vl.out << vl.err;
  EXPECT_THAT(
      vl.out,
      HasSubstr(
          "3 event(s), chain intact; 1 signed checkpoint(s), 0 problem(s); signed up to event 2"));
  ASSERT_TRUE(Env::Default()->RemoveAll(dir).ok());
}

}  // namespace
}  // namespace ferry
