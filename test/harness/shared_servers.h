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

// Gives each test its own database on SharedPostgres(), named after the test
// ("<suite>_<test>_<n>"), created in SetUp and dropped in TearDown even when the test failed.
// A fixture that overrides SetUp/TearDown must call these first/last.
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  PostgresServer* server() const { return server_; }
  const std::string& db_name() const { return db_name_; }
  // postgresql://ferry@127.0.0.1:PORT/<db_name()>
  std::string url() const { return server_->Url(db_name_); }

  // Shorthands for server()->Execute/Query/QueryValue(db_name(), sql).
  [[nodiscard]] Status Execute(std::string_view sql) { return server_->Execute(db_name_, sql); }
  [[nodiscard]] Result<Rows> Query(std::string_view sql) { return server_->Query(db_name_, sql); }
  [[nodiscard]] Result<std::string> QueryValue(std::string_view sql) {
    return server_->QueryValue(db_name_, sql);
  }

 private:
  PostgresServer* server_ = nullptr;
  std::string db_name_;
};

// The same on SharedMariaDb().
class MariaDbTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  MariaDbServer* server() const { return server_; }
  const std::string& db_name() const { return db_name_; }
  // mysql://ferry:PASSWORD@127.0.0.1:PORT/<db_name()>
  std::string url() const { return server_->Url(db_name_); }

  [[nodiscard]] Status Execute(std::string_view sql) { return server_->Execute(db_name_, sql); }
  [[nodiscard]] Result<Rows> Query(std::string_view sql) { return server_->Query(db_name_, sql); }
  [[nodiscard]] Result<std::string> QueryValue(std::string_view sql) {
    return server_->QueryValue(db_name_, sql);
  }

 private:
  MariaDbServer* server_ = nullptr;
  std::string db_name_;
};

// The current test's "<suite>_<test>", the name hint the fixtures use.
std::string CurrentTestName();

}  // namespace ferry::testing

#endif  // FERRY_TEST_HARNESS_SHARED_SERVERS_H_
