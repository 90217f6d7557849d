// PostgresServer: a private, throwaway PostgreSQL 15 server for tests.
//
// Start() makes a scratch directory, runs initdb into it and starts `postgres` on 127.0.0.1 at a
// free port, tuned for speed over durability (fsync=off, full_page_writes=off); the destructor
// shuts it down and deletes the directory. Everything about the server is disposable: a test that
// needs a clean slate creates a database (CreateDatabase) instead of a server, because a server
// start costs about a second and a database a few milliseconds.
//
// PostgreSQL refuses to run as root, so when the test runs as root, initdb and postgres run as
// Options::run_as_user ("nobody"). The server gets PR_SET_PDEATHSIG(SIGQUIT): if the test process
// dies, even by SIGKILL, the postmaster does an immediate shutdown. Its scratch directory is then
// left behind and removed by the next Start() (see RemoveAbandonedScratchDirs).
//
// Thread-safety: after Start(), the const accessors and CreateDatabase, DropDatabase, Execute,
// Query and QueryValue may be called from any thread (each call opens its own connection). Stop()
// and the destructor must not race with them.
#ifndef FERRY_TEST_HARNESS_POSTGRES_SERVER_H_
#define FERRY_TEST_HARNESS_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "harness/process.h"
#include "harness/rows.h"
#include "harness/server_common.h"

namespace ferry::testing {

struct PostgresServerOptions {
  // Where initdb and postgres live (Debian package postgresql-15).
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  // The user the server runs as when the test runs as root. Ignored when not root.
  std::string run_as_user = "nobody";
  // Superuser created by initdb; every connection of the harness and of Url() uses it, with
  // trust authentication on loopback (no password).
  std::string superuser = "ferry";
  // Tests run many parallel workers against one shared server.
  int max_connections = 200;
  // wal_level=logical with 20 replication slots and WAL senders, so change-data-capture tests can
  // use the shared server. Costs a little more WAL per write.
  bool logical_replication = true;
  // More server settings, "name=value" each (passed as `-c name=value`).
  std::vector<std::string> extra_settings;
  // How long Start() waits for initdb, then for the server to accept connections.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(60);
  // How long Stop() waits after a fast shutdown request (SIGINT) before SIGKILL.
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(30);
};

class PostgresServer {
 public:
  using Options = PostgresServerOptions;

  // Starts a fresh server; returns once it accepts connections. Errors name the step that
  // failed and include the end of its log. FailedPrecondition when the binaries are missing,
  // naming the Debian package that provides them.
  [[nodiscard]] static Result<std::unique_ptr<PostgresServer>> Start(const Options& options = {});

  // Stop(), ignoring its error.
  ~PostgresServer();

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Fast shutdown (SIGINT to the postmaster: open transactions are rolled back), SIGKILL after
  // Options::stop_timeout, then removes the scratch directory. Idempotent. In a forked copy of
  // the test process (a death-test child) it does nothing: the server belongs to the parent.
  [[nodiscard]] Status Stop();

  const std::string& host() const { return host_; }  // "127.0.0.1"
  uint16_t port() const { return port_; }
  const std::string& user() const { return options_.superuser; }
  // Postmaster pid; it stays set after Stop() so tests can check the process is gone.
  pid_t pid() const { return pid_; }
  // The scratch directory: data/ (PGDATA), postgres.log, initdb.log, the unix socket.
  const std::string& dir() const { return dir_path_; }
  std::string log_path() const;
  // Last few KB of the server log, for failure messages.
  std::string LogTail() const;

  // "postgresql://ferry@127.0.0.1:PORT/<database>". `database` is inserted as is: names from
  // CreateDatabase never need escaping.
  std::string Url(std::string_view database) const;
  // The same as libpq keyword/value pairs, with sslmode=disable.
  std::string ConnInfo(std::string_view database) const;

  // Creates a database named after `name_hint` (lower-cased, reduced to [a-z0-9_], cut to 48
  // characters) plus a suffix unique within this server; returns the name.
  [[nodiscard]] Result<std::string> CreateDatabase(std::string_view name_hint);
  // Terminates the database's sessions (WAL senders included), drops its inactive replication
  // slots and prepared transactions, then drops it. OK if it does not exist.
  [[nodiscard]] Status DropDatabase(std::string_view name);

  // Runs `sql` (one or more statements, simple query protocol) in `database` ("postgres" if
  // empty) on a new connection. A failing statement is InvalidArgument with its SQLSTATE; an
  // unreachable server is Unavailable.
  [[nodiscard]] Status Execute(std::string_view database, std::string_view sql);
  // As Execute, returning the rows of the last statement in text format.
  [[nodiscard]] Result<Rows> Query(std::string_view database, std::string_view sql);
  // The one non-NULL value of a one-row, one-column result; FailedPrecondition otherwise.
  [[nodiscard]] Result<std::string> QueryValue(std::string_view database, std::string_view sql);

 private:
  PostgresServer(Options options, internal::ScratchDir dir, std::unique_ptr<Subprocess> process,
                 uint16_t port);

  Options options_;
  internal::ScratchDir dir_;
  std::string dir_path_;
  std::unique_ptr<Subprocess> process_;
  std::string host_ = "127.0.0.1";
  uint16_t port_;
  pid_t pid_;
  pid_t owner_pid_;  // the test process that started the server
  std::atomic<int> next_database_{1};
};

}  // namespace ferry::testing

#endif  // FERRY_TEST_HARNESS_POSTGRES_SERVER_H_
