// The SQLite connector against files a killed writer left behind.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "connect/connector.h"

namespace ferry {
namespace {

// A writer killed with SIGKILL after committing to a WAL-mode database leaves the -wal and -shm
// files for the next connection to recover. The connector reads the catalogue through a
// read-only connection, which cannot recover them by itself ("attempt to write a readonly
// database"): opening must still work, and see the committed table, for sources and targets.
TEST(SqliteConnectorTest, OpensADatabaseWhoseWriterWasKilled) {
  char pattern[] = "/tmp/ferry-sqlite-killed-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string path = dir + "/target.db";
  for (bool create_if_missing : {false, true}) {
    Env::Default()->RemoveAll(path).IgnoreError();
    Env::Default()->RemoveAll(path + "-wal").IgnoreError();
    Env::Default()->RemoveAll(path + "-shm").IgnoreError();
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      sqlite3* db = nullptr;
      if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) _exit(1);
      const char* sql =
          "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
          "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
          "INSERT INTO t SELECT i, 'row ' || i FROM n;";
      if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) _exit(2);
      if (write(ready[1], "x", 1) != 1) _exit(3);
      pause();  // killed here, holding the database open
      _exit(0);
    }
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(Env::Default()->FileExists(path + "-wal"));
    // The index of the WAL is rebuilt from the WAL when its header is not clean, as when the
    // writer died mid-write; without the file the rebuild is certain.
    ASSERT_TRUE(Env::Default()->RemoveAll(path + "-shm").ok());

    auto opened = Connector::Open("sqlite://" + path, {.create_if_missing = create_if_missing});
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    auto tables = (*opened)->ListTables();
    ASSERT_TRUE(tables.has_value()) << tables.error().ToString();
    EXPECT_THAT(*tables, ::testing::ElementsAre("t"));
  }
  Env::Default()->RemoveAll(dir).IgnoreError();
}

}  // namespace
}  // namespace ferry
