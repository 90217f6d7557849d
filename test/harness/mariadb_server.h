// MariaDbServer: a private, throwaway MariaDB 10.11 server for tests.
//
// Start() makes a scratch directory, runs mariadb-install-db into it, starts `mariadbd` on
// 127.0.0.1 at a free port (unix socket in the scratch directory, no binary log, InnoDB log
// flushed once a second instead of at every commit), and creates the user `ferry` with a random
// password and all privileges, reachable over TCP from 127.0.0.1. The destructor shuts the server
// down and deletes the directory. Server defaults are explicit, not taken from /etc/mysql
// (--no-defaults): utf8mb4 / utf8mb4_general_ci, like Debian's packaged configuration.
//
// Like PostgresServer, the server runs as Options::run_as_user ("nobody") when the test runs as
// root, and gets PR_SET_PDEATHSIG (SIGKILL) so it dies with the test process.
//
// Thread-safety: after Start(), the const accessors and CreateDatabase, DropDatabase, Execute,
// Query and QueryValue may be called from any thread (each call opens its own connection). Stop()
// and the destructor must not race with them.
#ifndef FERRY_TEST_HARNESS_MARIADB_SERVER_H_
#define FERRY_TEST_HARNESS_MARIADB_SERVER_H_

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

struct MariaDbServerOptions {
  // Debian package mariadb-server.
  std::string mariadbd_path = "/usr/sbin/mariadbd";
  std::string install_db_path = "/usr/bin/mariadb-install-db";
  // The user the server runs as when the test runs as root. Ignored when not root.
  std::string run_as_user = "nobody";
  // Tests run many parallel workers against one shared server.
  int max_connections = 200;
  // Row-based binary log (--log-bin, --binlog-format=ROW, --server-id=1) for change-data-capture
  // tests. Off by default: it slows every write.
  bool binary_log = false;
  // More mariadbd flags, "--name=value" each.
  std::vector<std::string> extra_flags;
  // How long Start() waits for mariadb-install-db, then for the server to accept connections.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(60);
  // How long Stop() waits after a shutdown request (SIGTERM) before SIGKILL.
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(30);
};

class MariaDbServer {
 public:
  using Options = MariaDbServerOptions;

  // Starts a fresh server; returns once the `ferry` user can connect over TCP. Errors name the
  // step that failed and include the end of the error log. FailedPrecondition when the binaries
  // are missing, naming the Debian package that provides them.
  [[nodiscard]] static Result<std::unique_ptr<MariaDbServer>> Start(const Options& options = {});

  // Stop(), ignoring its error.
  ~MariaDbServer();

  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  // Normal shutdown (SIGTERM), SIGKILL after Options::stop_timeout, then removes the scratch
  // directory. Idempotent. Does nothing in a forked copy of the test process.
  [[nodiscard]] Status Stop();

  const std::string& host() const { return host_; }  // "127.0.0.1"
  uint16_t port() const { return port_; }
  const std::string& user() const { return user_; }          // "ferry"
  const std::string& password() const { return password_; }  // [A-Za-z0-9]{20}
  // mariadbd's pid; it stays set after Stop() so tests can check the process is gone.
  pid_t pid() const { return pid_; }
  // The scratch directory: data/, error.log, mysql.sock.
  const std::string& dir() const { return dir_path_; }
  std::string socket_path() const;
  std::string log_path() const;  // the error log
  // Last few KB of the error log, for failure messages.
  std::string LogTail() const;

  // "mysql://ferry:PASSWORD@127.0.0.1:PORT/<database>". The password needs no escaping;
  // `database` is inserted as is (names from CreateDatabase never need escaping).
  std::string Url(std::string_view database) const;

  // Creates a database named after `name_hint` (see PostgresServer::CreateDatabase); returns
  // the name.
  [[nodiscard]] Result<std::string> CreateDatabase(std::string_view name_hint);
  // Kills the connections using the database, then drops it. OK if it does not exist.
  [[nodiscard]] Status DropDatabase(std::string_view name);

  // Runs `sql` (one or more statements) in `database` (none if empty) as `ferry` over TCP, on a
  // new connection. A failing statement is InvalidArgument with the error number and SQLSTATE;
  // an unreachable server is Unavailable.
  [[nodiscard]] Status Execute(std::string_view database, std::string_view sql);
  // As Execute, returning the rows of the last result set in text format.
  [[nodiscard]] Result<Rows> Query(std::string_view database, std::string_view sql);
  // The one non-NULL value of a one-row, one-column result; FailedPrecondition otherwise.
  [[nodiscard]] Result<std::string> QueryValue(std::string_view database, std::string_view sql);

 private:
  MariaDbServer(Options options, internal::ScratchDir dir, std::unique_ptr<Subprocess> process,
                uint16_t port, std::string password);

  Options options_;
  internal::ScratchDir dir_;
  std::string dir_path_;
  std::unique_ptr<Subprocess> process_;
  std::string host_ = "127.0.0.1";
  uint16_t port_;
  std::string user_ = "ferry";
  std::string password_;
  pid_t pid_;
  pid_t owner_pid_;  // the test process that started the server
  std::atomic<int> next_database_{1};
};

}  // namespace ferry::testing

#endif  // FERRY_TEST_HARNESS_MARIADB_SERVER_H_
