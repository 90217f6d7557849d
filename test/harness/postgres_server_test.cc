#include "harness/postgres_server.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "harness/shared_servers.h"

namespace ferry::testing {
namespace {

using std::chrono::milliseconds;

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Reaps `pid` (a child or, under PR_SET_CHILD_SUBREAPER, an orphaned descendant) or, for a
// process we cannot wait for, polls until it is gone. True if it ended within `timeout`.
bool WaitUntilGone(pid_t pid, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status;
    pid_t reaped = waitpid(pid, &status, WNOHANG);
    if (reaped == pid) return true;
    if (reaped < 0 && kill(pid, 0) != 0 && errno == ESRCH) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

class PostgresServerTest : public PostgresTest {};

TEST_F(PostgresServerTest, RunsVersion15) {
  Result<std::string> version = QueryValue("SELECT version()");
  ASSERT_TRUE(version.has_value()) << version.error().ToString();
  EXPECT_TRUE(version->starts_with("PostgreSQL 15.")) << *version;
}

TEST_F(PostgresServerTest, IsConfiguredForTests) {
  Result<Rows> settings = Query(
      "SELECT current_user, current_setting('listen_addresses'), current_setting('fsync'), "
      "current_setting('full_page_writes'), current_setting('max_connections'), "
      "current_setting('wal_level'), pg_encoding_to_char(encoding) "
      "FROM pg_database WHERE datname = current_database()");
  ASSERT_TRUE(settings.has_value()) << settings.error().ToString();
  EXPECT_EQ(*settings, (Rows{{"ferry", "127.0.0.1", "off", "off", "200", "logical", "UTF8"}}));
  EXPECT_EQ(server()->host(), "127.0.0.1");
  EXPECT_EQ(url(), fmt::format("postgresql://ferry@127.0.0.1:{}/{}", server()->port(), db_name()));
}

// The two isolation tests run in either order (or alone): each checks that it got a database no
// other test had, and that it sees only its own table.
std::vector<std::string>& SeenDatabases() {
  static std::vector<std::string> seen;
  return seen;
}

void ExpectNeverSeenBefore(const std::string& db_name) {
  std::vector<std::string>& seen = SeenDatabases();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), db_name), 0) << db_name;
  seen.push_back(db_name);
}

TEST_F(PostgresServerTest, DatabasesAreIsolatedFirst) {
  ExpectNeverSeenBefore(db_name());
  ASSERT_TRUE(
      Execute("CREATE TABLE marker_first (id int); INSERT INTO marker_first VALUES (1)").ok());
  Result<Rows> markers =
      Query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'marker%'");
  ASSERT_TRUE(markers.has_value()) << markers.error().ToString();
  EXPECT_EQ(*markers, (Rows{{"marker_first"}}));
}

TEST_F(PostgresServerTest, DatabasesAreIsolatedSecond) {
  ExpectNeverSeenBefore(db_name());
  ASSERT_TRUE(Execute("CREATE TABLE marker_second (id int)").ok());
  Result<Rows> markers =
      Query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'marker%'");
  ASSERT_TRUE(markers.has_value()) << markers.error().ToString();
  EXPECT_EQ(*markers, (Rows{{"marker_second"}}));
}

TEST_F(PostgresServerTest, DatabaseIsNamedAfterTheTest) {
  EXPECT_TRUE(db_name().starts_with("postgresservertest_databaseisnamedafterthetest_"))
      << db_name();
  Result<std::string> current = QueryValue("SELECT current_database()");
  ASSERT_TRUE(current.has_value()) << current.error().ToString();
  EXPECT_EQ(*current, db_name());
}

// Runs the fixture's SetUp and TearDown by hand, to see what TearDown leaves behind.
class FixtureProbe : public PostgresTest {
 public:
  using PostgresTest::db_name;
  using PostgresTest::SetUp;
  using PostgresTest::TearDown;
  void TestBody() override {}
};

TEST(PostgresTestFixtureTest, DropsTheDatabaseAfterTheTestEvenWhenItFailed) {
  FixtureProbe probe;
  probe.SetUp();
  std::string name = probe.db_name();
  ASSERT_FALSE(name.empty());
  EXPECT_NONFATAL_FAILURE(ADD_FAILURE() << "the probed test fails", "the probed test fails");
  probe.TearDown();
  Result<std::string> count = SharedPostgres()->QueryValue(
      "", fmt::format("SELECT count(*) FROM pg_database WHERE datname = '{}'", name));
  ASSERT_TRUE(count.has_value()) << count.error().ToString();
  EXPECT_EQ(*count, "0");
}

TEST_F(PostgresServerTest, QueryKeepsNullDistinctFromEmpty) {
  Result<Rows> rows = Query("SELECT NULL::text, ''::text, 'x' UNION ALL SELECT 'a', NULL, 'y'");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (Row{std::nullopt, "", "x"}));
  EXPECT_EQ((*rows)[1], (Row{"a", std::nullopt, "y"}));
}

TEST_F(PostgresServerTest, SqlErrorsCarryTheSqlstate) {
  Status status = Execute("SELECT * FROM no_such_table");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "42P01")) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "no_such_table")) << status.ToString();
}

TEST_F(PostgresServerTest, DropDatabaseEndsSessionsAndReplicationSlots) {
  Result<std::string> other = server()->CreateDatabase("busy");
  ASSERT_TRUE(other.has_value()) << other.error().ToString();
  ASSERT_TRUE(server()
                  ->Execute(*other,
                            "SELECT pg_create_logical_replication_slot('busy_slot', "
                            "'pgoutput')")
                  .ok());
  PGconn* session = PQconnectdb(server()->ConnInfo(*other).c_str());
  ASSERT_EQ(PQstatus(session), CONNECTION_OK) << PQerrorMessage(session);
  PGresult* begun = PQexec(session, "BEGIN; CREATE TABLE held (id int)");
  PQclear(begun);

  Status dropped = server()->DropDatabase(*other);
  EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  PGresult* after = PQexec(session, "SELECT 1");
  EXPECT_NE(PQresultStatus(after), PGRES_TUPLES_OK) << "the session survived DROP DATABASE";
  PQclear(after);
  PQfinish(session);
  Result<std::string> slots = server()->QueryValue("", "SELECT count(*) FROM pg_replication_slots");
  ASSERT_TRUE(slots.has_value()) << slots.error().ToString();
  EXPECT_EQ(*slots, "0");
  EXPECT_TRUE(server()->DropDatabase(*other).ok()) << "dropping twice must be OK";
}

TEST_F(PostgresServerTest, ServesManyConcurrentConnections) {
  constexpr int kWorkers = 48;
  std::atomic<int> succeeded = 0;
  std::vector<std::thread> workers;
  workers.reserve(kWorkers);
  std::vector<PGconn*> held(kWorkers, nullptr);
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      held[i] = PQconnectdb(server()->ConnInfo(db_name()).c_str());
      if (PQstatus(held[i]) == CONNECTION_OK) ++succeeded;
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (PGconn* connection : held) PQfinish(connection);
  EXPECT_EQ(succeeded.load(), kWorkers);
}

// A gtest death test forks the test process; when the copy exits normally it runs the static
// destructors, including the shared server's. They must leave the parent's server alone.
TEST(SharedPostgresDeathTest, AForkedCopyThatExitsLeavesTheServerRunning) {
  PostgresServer* server = SharedPostgres();
  ASSERT_NE(server, nullptr);
  EXPECT_EXIT(std::exit(0), ::testing::ExitedWithCode(0), "");
  Result<std::string> one = server->QueryValue("", "SELECT 1");
  ASSERT_TRUE(one.has_value()) << one.error().ToString();
  EXPECT_TRUE(std::filesystem::exists(server->dir() + "/data/PG_VERSION"));
}

TEST(PostgresServerStartTest, MissingBinariesNameTheDebianPackage) {
  PostgresServer::Options options;
  options.bin_dir = "/nonexistent/postgresql/15/bin";
  Result<std::unique_ptr<PostgresServer>> server = PostgresServer::Start(options);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(server.error().message(), "/nonexistent/postgresql/15/bin/postgres"));
  EXPECT_TRUE(Contains(server.error().message(), "postgresql-15")) << server.error().ToString();
}

TEST(PostgresServerStartTest, DestructionStopsTheServerAndRemovesItsDirectory) {
  Result<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  pid_t pid = (*server)->pid();
  std::string dir = (*server)->dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  ASSERT_TRUE((*server)->Execute("", "CREATE DATABASE private_one").ok());
  if (geteuid() == 0) {
    struct stat process;  // /proc/<pid> is owned by the process's effective uid
    ASSERT_EQ(stat(fmt::format("/proc/{}", pid).c_str(), &process), 0);
    EXPECT_NE(process.st_uid, 0u) << "PostgreSQL must not run as root";
  }
  server->reset();
  EXPECT_NE(kill(pid, 0), 0) << "postmaster " << pid << " still runs";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// A test process that dies without running destructors (SIGKILL, crash) must not leave a
// postmaster behind; the next Start() removes its directory. A forked copy of this process
// starts a server and SIGKILLs itself; this process is the child subreaper, so the orphaned
// postmaster is re-parented here and its end can be observed.
TEST(PostgresServerStartTest, ServerDiesWithACrashedTestProcess) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t test_process = fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    close(pipe_fds[0]);
    Result<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
    pid_t pid = server.has_value() ? (*server)->pid() : -1;
    char dir[256] = {};
    if (server.has_value()) (*server)->dir().copy(dir, sizeof(dir) - 1);
    if (write(pipe_fds[1], &pid, sizeof(pid)) < 0 || write(pipe_fds[1], dir, sizeof(dir)) < 0) {
      _exit(1);
    }
    raise(SIGKILL);
  }
  close(pipe_fds[1]);
  pid_t postmaster = -1;
  char dir[256] = {};
  ASSERT_EQ(read(pipe_fds[0], &postmaster, sizeof(postmaster)),
            static_cast<ssize_t>(sizeof(postmaster)));
  ASSERT_EQ(read(pipe_fds[0], dir, sizeof(dir)), static_cast<ssize_t>(sizeof(dir)));
  close(pipe_fds[0]);
  int status;
  ASSERT_EQ(waitpid(test_process, &status, 0), test_process);
  ASSERT_GT(postmaster, 0) << "the forked test process could not start a server";

  bool gone = WaitUntilGone(postmaster, std::chrono::seconds(20));
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_TRUE(gone) << "postmaster " << postmaster << " outlived its test process";
  ASSERT_TRUE(std::filesystem::exists(dir)) << "nothing cleaned up after a SIGKILL";
  internal::RemoveAbandonedScratchDirs();
  EXPECT_FALSE(std::filesystem::exists(dir)) << "abandoned " << dir << " was not removed";
}

}  // namespace
}  // namespace ferry::testing
