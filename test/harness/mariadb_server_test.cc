#include "harness/mariadb_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <mysql.h>

#include "harness/shared_servers.h"

namespace ferry::testing {
namespace {

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

class MariaDbServerTest : public MariaDbTest {};

TEST_F(MariaDbServerTest, RunsVersion1011) {
  Result<std::string> version = QueryValue("SELECT VERSION()");
  ASSERT_TRUE(version.has_value()) << version.error().ToString();
  EXPECT_TRUE(Contains(*version, "10.11")) << *version;
  EXPECT_TRUE(Contains(*version, "MariaDB")) << *version;
}

TEST_F(MariaDbServerTest, IsConfiguredForTests) {
  Result<Rows> settings = Query(
      "SELECT @@bind_address, @@log_bin, @@max_connections, @@character_set_server, "
      "@@innodb_flush_log_at_trx_commit, DATABASE()");
  ASSERT_TRUE(settings.has_value()) << settings.error().ToString();
  EXPECT_EQ(*settings, (Rows{{"127.0.0.1", "0", "200", "utf8mb4", "0", db_name()}}));
}

// Connects with nothing but the URL: the credentials it carries must work over TCP.
TEST_F(MariaDbServerTest, UrlCredentialsWorkOverTcp) {
  // mysql://USER:PASSWORD@HOST:PORT/DATABASE
  std::string rest = url();
  ASSERT_TRUE(rest.starts_with("mysql://")) << rest;
  rest.erase(0, std::string_view("mysql://").size());
  auto take_until = [&rest](char separator) {
    std::size_t at = rest.find(separator);
    std::string part = rest.substr(0, at);
    rest.erase(0, at == std::string::npos ? rest.size() : at + 1);
    return part;
  };
  std::string user = take_until(':');
  std::string password = take_until('@');
  std::string host = take_until(':');
  unsigned port = static_cast<unsigned>(std::stoi(take_until('/')));
  std::string database = rest;
  EXPECT_EQ(user, "ferry");
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(database, db_name());

  MYSQL* mysql = mysql_init(nullptr);
  unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_optionsv(mysql, MYSQL_OPT_PROTOCOL, &protocol);
  ASSERT_NE(mysql_real_connect(mysql, host.c_str(), user.c_str(), password.c_str(),
                               database.c_str(), port, nullptr, 0),
            nullptr)
      << mysql_error(mysql);
  auto run = [&](const std::string& sql) {
    EXPECT_EQ(mysql_query(mysql, sql.c_str()), 0) << sql << ": " << mysql_error(mysql);
  };
  run("CREATE TABLE invoice (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2))");
  run("INSERT INTO invoice VALUES (1, 'Zoë', 12.50), (2, NULL, 0.00)");
  run("SELECT id, customer, total FROM invoice ORDER BY id");
  MYSQL_RES* result = mysql_store_result(mysql);
  ASSERT_NE(result, nullptr) << mysql_error(mysql);
  MYSQL_ROW row = mysql_fetch_row(result);
  ASSERT_NE(row, nullptr);
  EXPECT_STREQ(row[0], "1");
  EXPECT_STREQ(row[1], "Zoë");
  EXPECT_STREQ(row[2], "12.50");
  row = mysql_fetch_row(result);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row[1], nullptr);
  EXPECT_EQ(mysql_fetch_row(result), nullptr);
  mysql_free_result(result);
  // The session really came over TCP from the loopback address.
  run("SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()");
  result = mysql_store_result(mysql);
  ASSERT_NE(result, nullptr);
  row = mysql_fetch_row(result);
  ASSERT_NE(row, nullptr);
  EXPECT_TRUE(std::string(row[0]).starts_with("127.0.0.1:")) << row[0];
  mysql_free_result(result);
  mysql_close(mysql);

  // And the harness sees what the URL's session wrote.
  Result<Rows> rows = Query("SELECT customer, total FROM invoice ORDER BY id");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  EXPECT_EQ(*rows, (Rows{{"Zoë", "12.50"}, {std::nullopt, "0.00"}}));
}

std::vector<std::string>& SeenDatabases() {
  static std::vector<std::string> seen;
  return seen;
}

void ExpectNeverSeenBefore(const std::string& db_name) {
  std::vector<std::string>& seen = SeenDatabases();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), db_name), 0) << db_name;
  seen.push_back(db_name);
}

TEST_F(MariaDbServerTest, DatabasesAreIsolatedFirst) {
  ExpectNeverSeenBefore(db_name());
  ASSERT_TRUE(Execute("CREATE TABLE marker_first (id INT)").ok());
  Result<Rows> markers = Query("SHOW TABLES LIKE 'marker%'");
  ASSERT_TRUE(markers.has_value()) << markers.error().ToString();
  EXPECT_EQ(*markers, (Rows{{"marker_first"}}));
}

TEST_F(MariaDbServerTest, DatabasesAreIsolatedSecond) {
  ExpectNeverSeenBefore(db_name());
  ASSERT_TRUE(Execute("CREATE TABLE marker_second (id INT)").ok());
  Result<Rows> markers = Query("SHOW TABLES LIKE 'marker%'");
  ASSERT_TRUE(markers.has_value()) << markers.error().ToString();
  EXPECT_EQ(*markers, (Rows{{"marker_second"}}));
}

class FixtureProbe : public MariaDbTest {
 public:
  using MariaDbTest::db_name;
  using MariaDbTest::SetUp;
  using MariaDbTest::TearDown;
  void TestBody() override {}
};

TEST(MariaDbTestFixtureTest, DropsTheDatabaseAfterTheTestEvenWhenItFailed) {
  FixtureProbe probe;
  probe.SetUp();
  std::string name = probe.db_name();
  ASSERT_FALSE(name.empty());
  EXPECT_NONFATAL_FAILURE(ADD_FAILURE() << "the probed test fails", "the probed test fails");
  probe.TearDown();
  Result<std::string> count = SharedMariaDb()->QueryValue(
      "", fmt::format("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
                      name));
  ASSERT_TRUE(count.has_value()) << count.error().ToString();
  EXPECT_EQ(*count, "0");
}

TEST_F(MariaDbServerTest, MultiStatementSqlReturnsTheLastResultSet) {
  Result<Rows> rows = Query(
      "CREATE TABLE t (a INT, b VARCHAR(5)); INSERT INTO t VALUES (1, ''), (2, NULL); "
      "SELECT 'ignored'; SELECT a, b FROM t ORDER BY a");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  EXPECT_EQ(*rows, (Rows{{"1", ""}, {"2", std::nullopt}}));
}

TEST_F(MariaDbServerTest, SqlErrorsCarryTheErrorNumber) {
  Status status = Execute("SELECT * FROM no_such_table");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "1146")) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "42S02")) << status.ToString();
}

TEST_F(MariaDbServerTest, DropDatabaseKillsSessionsHoldingLocks) {
  Result<std::string> other = server()->CreateDatabase("busy");
  ASSERT_TRUE(other.has_value()) << other.error().ToString();
  MYSQL* session = mysql_init(nullptr);
  ASSERT_NE(mysql_real_connect(session, server()->host().c_str(), server()->user().c_str(),
                               server()->password().c_str(), other->c_str(), server()->port(),
                               nullptr, 0),
            nullptr)
      << mysql_error(session);
  // An open transaction holds a metadata lock that DROP DATABASE would wait for.
  ASSERT_EQ(mysql_query(session, "CREATE TABLE held (id INT) ENGINE=InnoDB"), 0);
  ASSERT_EQ(mysql_query(session, "START TRANSACTION"), 0);
  ASSERT_EQ(mysql_query(session, "INSERT INTO held VALUES (1)"), 0);

  Status dropped = server()->DropDatabase(*other);
  EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  EXPECT_NE(mysql_query(session, "SELECT 1"), 0) << "the session survived DROP DATABASE";
  mysql_close(session);
  EXPECT_TRUE(server()->DropDatabase(*other).ok()) << "dropping twice must be OK";
}

TEST(MariaDbServerStartTest, MissingBinariesNameTheDebianPackage) {
  MariaDbServer::Options options;
  options.mariadbd_path = "/nonexistent/sbin/mariadbd";
  Result<std::unique_ptr<MariaDbServer>> server = MariaDbServer::Start(options);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(server.error().message(), "/nonexistent/sbin/mariadbd"));
  EXPECT_TRUE(Contains(server.error().message(), "mariadb-server")) << server.error().ToString();
}

TEST(MariaDbServerStartTest, StopEndsTheServerAndRemovesItsDirectory) {
  MariaDbServer::Options options;
  options.binary_log = true;
  Result<std::unique_ptr<MariaDbServer>> server = MariaDbServer::Start(options);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  MariaDbServer& mariadb = **server;
  pid_t pid = mariadb.pid();
  std::string dir = mariadb.dir();
  Result<Rows> binlog = mariadb.Query("", "SELECT @@log_bin, @@binlog_format");
  ASSERT_TRUE(binlog.has_value()) << binlog.error().ToString();
  EXPECT_EQ(*binlog, (Rows{{"1", "ROW"}}));
  if (geteuid() == 0) {
    struct stat process;  // /proc/<pid> is owned by the process's effective uid
    ASSERT_EQ(stat(fmt::format("/proc/{}", pid).c_str(), &process), 0);
    EXPECT_NE(process.st_uid, 0u) << "the test MariaDB server should not run as root";
  }

  Status stopped = mariadb.Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  EXPECT_NE(kill(pid, 0), 0) << "mariadbd " << pid << " still runs";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(mariadb.Stop().ok()) << "Stop() must be idempotent";
}

}  // namespace
}  // namespace ferry::testing
