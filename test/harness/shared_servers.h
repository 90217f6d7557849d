// One PostgreSQL and one MariaDB server per test binary, and the fixtures that give each test a
// fresh database on them.
//
//   class InvoiceCopyTest : public ferry::testing::PostgresTest {};
//   TEST_F(InvoiceCopyTest, CopiesEveryRow) {
//     ASSERT_TRUE(Execute("CREATE TABLE invoice (id int)").ok());
//     RunFerry({"copy", "--source", url(), ...});
//   }
//
// A server starts on first use (about a second) and stops when the test binary exits normally,
// whether its tests passed or failed; its scratch directory is then removed. If the test binary
// is killed or crashes, the kernel stops the servers (PR_SET_PDEATHSIG) and the next server start
// removes the abandoned directory.
//
// Missing server binaries are a test failure, not a skip: a skipped database test looks green
// in CI while testing nothing. The failure names the Debian package to install.
//
// Thread-safety: SharedPostgres and SharedMariaDb may be called from any thread.
#ifndef FERRY_TEST_HARNESS_SHARED_SERVERS_H_
#define FERRY_TEST_HARNESS_SHARED_SERVERS_H_

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "base/status.h"
#include "harness/mariadb_server.h"
#include "harness/postgres_server.h"
#include "harness/rows.h"

namespace ferry::testing {

// The binary's shared server, started with default options on first call. If it cannot start,
// records a non-fatal gtest failure with the reason (on every call, so every test that needs it
// fails) and returns null; later calls do not retry. Never deleted by the caller.
PostgresServer* SharedPostgres();
MariaDbServer* SharedMariaDb();

// The current test's "<suite>_<test>", the name hint the fixtures use.
std::string CurrentTestName();

// Gives each test its own database on the binary's shared `Server`, named after the test
// ("<suite>_<test>_<n>"), created in SetUp and dropped in TearDown even when the test failed.
// A fixture that overrides SetUp/TearDown must call these first/last.
template <typename Server, Server* (*kShared)(), const char* kName>
class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = kShared();
    ASSERT_NE(server_, nullptr) << "no " << kName
                                << " server for this test (see the failure above)";
    Result<std::string> name = server_->CreateDatabase(CurrentTestName());
    ASSERT_TRUE(name.has_value()) << name.error().ToString();
    db_name_ = *name;
  }
  void TearDown() override {
    if (server_ == nullptr || db_name_.empty()) return;
    Status dropped = server_->DropDatabase(db_name_);
    EXPECT_TRUE(dropped.ok()) << dropped.ToString();
    db_name_.clear();
  }

  Server* server() const { return server_; }
  const std::string& db_name() const { return db_name_; }
  // postgresql://ferry@127.0.0.1:PORT/<db_name()> or
  // mysql://ferry:PASSWORD@127.0.0.1:PORT/<db_name()>
  std::string url() const { return server_->Url(db_name_); }

  // Shorthands for server()->Execute/Query/QueryValue(db_name(), sql).
  [[nodiscard]] Status Execute(std::string_view sql) { return server_->Execute(db_name_, sql); }
  [[nodiscard]] Result<Rows> Query(std::string_view sql) { return server_->Query(db_name_, sql); }
  [[nodiscard]] Result<std::string> QueryValue(std::string_view sql) {
    return server_->QueryValue(db_name_, sql);
  }

 private:
  Server* server_ = nullptr;
  std::string db_name_;
};

inline constexpr char kPostgresName[] = "PostgreSQL";
inline constexpr char kMariaDbName[] = "MariaDB";
using PostgresTest = DatabaseTest<PostgresServer, &SharedPostgres, kPostgresName>;
using MariaDbTest = DatabaseTest<MariaDbServer, &SharedMariaDb, kMariaDbName>;

}  // namespace ferry::testing

#endif  // FERRY_TEST_HARNESS_SHARED_SERVERS_H_
