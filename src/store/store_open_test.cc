// Opening a store with bad input: each failure names the store, the problem and the way out.
#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "store/store.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class StoreOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-store-open-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(StoreOpenTest, UnknownSchemeIsAUsageError) {
  auto store = Store::Open("mysql://root:hunter2@db/ferry");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.error().ExitCode(), kExitUsage);
  EXPECT_THAT(store.error().message(), HasSubstr("unknown kind of store `mysql`"));
  EXPECT_THAT(store.error().message(), HasSubstr("sqlite:///path/ferry.db"));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("hunter2")));
}

TEST_F(StoreOpenTest, SqliteInAMissingDirectoryNamesThePath) {
  std::string url = SqliteStoreUrl(dir_ + "/no/such/dir/ferry.db");
  auto store = Store::Open(url);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.error().ExitCode(), kExitRuntime);
  EXPECT_THAT(store.error().message(), HasSubstr(url));
  EXPECT_THAT(store.error().message(), HasSubstr("directory exists"));
}

TEST_F(StoreOpenTest, StatusOfAMissingFileDoesNotCreateIt) {
  std::string path = dir_ + "/ferry.db";
  auto store = Store::Open(SqliteStoreUrl(path), {.migrate = false, .create_if_missing = false});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(store.error().message(), HasSubstr("ferry store migrate"));
  EXPECT_FALSE(Env::Default()->FileExists(path));
}

TEST_F(StoreOpenTest, AFileThatIsNotADatabaseIsRefusedAndKept) {
  std::string path = dir_ + "/notes.txt";
  std::string content(8192, 'x');
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(path, content).ok());
  auto store = Store::Open(SqliteStoreUrl(path));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.error().message(), HasSubstr("not an SQLite database"));
  EXPECT_EQ(Env::Default()->ReadFile(path).value(), content);
}

TEST_F(StoreOpenTest, AUserDatabaseIsNotTurnedIntoAStore) {
  std::string path = dir_ + "/shop.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE invoice (id INTEGER PRIMARY KEY)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = Store::Open(SqliteStoreUrl(path));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.error().message(), HasSubstr("not a ferry store"));
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  int ferry_tables = -1;
  sqlite3_exec(
      db, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'ferry%'",
      [](void* out, int, char** values, char**) {
        *static_cast<int*>(out) = std::atoi(values[0]);
        return 0;
      },
      &ferry_tables, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(ferry_tables, 0);
}

TEST_F(StoreOpenTest, UnreachablePostgresNamesTheServerButNotThePassword) {
  auto port = Env::Default()->FreeLoopbackPort();
  ASSERT_TRUE(port.has_value());
  std::string url =
      fmt::format("postgresql://ferry:s3cret@127.0.0.1:{}/ferry?connect_timeout=2", *port);
  auto store = Store::Open(url);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.error().ExitCode(), kExitRuntime);
  EXPECT_THAT(store.error().message(), HasSubstr(fmt::format("127.0.0.1:{}", *port)));
  EXPECT_THAT(store.error().message(), HasSubstr("check that the server is running"));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("s3cret")));
}

}  // namespace
}  // namespace ferry
