#include "harness/postgres_server.h"

#include <unistd.h>

#include <csignal>
#include <optional>
#include <thread>
#include <utility>

#include <libpq-fe.h>

#include "base/env.h"

namespace ferry::testing {
namespace {

constexpr std::string_view kMissingServerHint =
    "install the Debian package postgresql-15 (./setup.sh test installs it)";
constexpr int kPortAttempts = 5;

// SQL text shortened for error messages.
std::string Excerpt(std::string_view sql) {
  constexpr std::size_t kMax = 200;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

// One libpq connection, closed on destruction.
class PgConnection {
 public:
  static Result<PgConnection> Open(const std::string& host, uint16_t port, const std::string& user,
                                   std::string_view database) {
    std::string port_text = std::to_string(port);
    std::string dbname(database.empty() ? "postgres" : database);
    const char* keys[] = {
        "host", "port", "user", "dbname", "sslmode", "connect_timeout", "application_name",
        nullptr};
    const char* values[] = {
        host.c_str(), port_text.c_str(),    user.c_str(), dbname.c_str(), "disable",
        "10",         "ferry-test-harness", nullptr};
    PgConnection connection(PQconnectdbParams(keys, values, /*expand_dbname=*/0));
    if (connection.conn_ == nullptr) {
      return Err(ResourceExhausted("libpq could not allocate a connection"));
    }
    if (PQstatus(connection.conn_) != CONNECTION_OK) {
      return Err(Unavailable("PostgreSQL {}:{} database `{}`: cannot connect: {}", host, port,
                             dbname, Trim(PQerrorMessage(connection.conn_))));
    }
    // NOTICEs ("table does not exist, skipping") would otherwise go to the test's stderr.
    PQsetNoticeProcessor(connection.conn_, IgnoreNotice, nullptr);
    connection.description_ = fmt::format("PostgreSQL {}:{} database `{}`", host, port, dbname);
    return connection;
  }

  PgConnection(PgConnection&& other) noexcept
      : conn_(std::exchange(other.conn_, nullptr)), description_(std::move(other.description_)) {}
  PgConnection& operator=(PgConnection&&) = delete;
  ~PgConnection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  // Runs `sql` with optional text parameters ($1, ...); returns the rows of the last statement.
  // `sqlstate`, when given, receives the SQLSTATE of a failure.
  Result<Rows> Run(std::string_view sql, const std::vector<std::string>& params = {},
                   std::string* sqlstate = nullptr) {
    std::string text(sql);
    PGresult* result;
    if (params.empty()) {
      result = PQexec(conn_, text.c_str());  // allows several statements
    } else {
      std::vector<const char*> values;
      values.reserve(params.size());
      for (const std::string& param : params) values.push_back(param.c_str());
      result = PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0);
    }
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const char* state =
          result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
      std::string code = state != nullptr ? state : "";
      if (sqlstate != nullptr) *sqlstate = code;
      Status error =
          PQstatus(conn_) == CONNECTION_BAD
              ? Unavailable("{}: connection lost: {}", description_, Trim(PQerrorMessage(conn_)))
              : InvalidArgument("{}: {} [SQLSTATE {}] in `{}`", description_,
                                Trim(PQerrorMessage(conn_)), code, Excerpt(sql));
      PQclear(result);
      return Err(std::move(error));
    }
    Rows rows;
    int row_count = PQntuples(result);
    int column_count = PQnfields(result);
    rows.reserve(static_cast<std::size_t>(row_count));
    for (int r = 0; r < row_count; ++r) {
      Row& row = rows.emplace_back();
      row.reserve(static_cast<std::size_t>(column_count));
      for (int c = 0; c < column_count; ++c) {
        if (PQgetisnull(result, r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(result, r, c),
                                       static_cast<std::size_t>(PQgetlength(result, r, c))));
        }
      }
    }
    PQclear(result);
    return rows;
  }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}

  PGconn* conn_;
  std::string description_;
};

Status CheckInstalled(const std::string& bin_dir) {
  for (const char* program : {"postgres", "initdb"}) {
    std::string path = bin_dir + "/" + program;
    if (access(path.c_str(), X_OK) != 0) {
      return FailedPrecondition("PostgreSQL 15 server not found at {}: {}", path,
                                kMissingServerHint);
    }
  }
  return OkStatus();
}

// PGPORT, PGDATA and friends from the developer's shell must not steer the test server.
std::vector<std::string> PostgresVariablesToUnset() {
  return {"PGDATA",    "PGHOST",     "PGHOSTADDR", "PGPORT",    "PGUSER", "PGDATABASE",
          "PGOPTIONS", "PGPASSWORD", "PGSSLMODE",  "PGSERVICE", "PGTZ",   "PGCLIENTENCODING"};
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start(const Options& options) {
  FERRY_RETURN_IF_ERROR(CheckInstalled(options.bin_dir));
  internal::RemoveAbandonedScratchDirs();
  const std::string user = internal::ServerUser(options.run_as_user);
  FERRY_ASSIGN_OR_RETURN(internal::ScratchDir dir, internal::ScratchDir::Create("pg", user));
  // Checked with the longest port number; postgres would only say "path too long" in its log.
  FERRY_RETURN_IF_ERROR(internal::CheckUnixSocketPath(dir.File(".s.PGSQL.65535")));

  const std::string data_dir = dir.File("data");
  const std::string initdb_log = dir.File("initdb.log");
  SubprocessOptions initdb;
  initdb.argv = {options.bin_dir + "/initdb",
                 "--pgdata=" + data_dir,
                 "--username=" + options.superuser,
                 "--auth=trust",
                 "--encoding=UTF8",
                 "--locale=C",
                 "--no-sync",
                 "--no-instructions"};
  initdb.stdout_path = initdb_log;
  initdb.stderr_path = initdb_log;
  initdb.working_dir = dir.path();
  initdb.user = user;
  initdb.env_set = {{"LC_ALL", "C"}};
  initdb.env_unset = PostgresVariablesToUnset();
  initdb.parent_death_signal = SIGKILL;
  Result<ExitStatus> initdb_status = RunToCompletion(std::move(initdb), options.start_timeout);
  if (!initdb_status.has_value() || !initdb_status->success()) {
    return Err(Unavailable(
        "initdb for the test PostgreSQL server in {} failed ({}); its log ends with:\n{}", data_dir,
        initdb_status.has_value() ? initdb_status->ToString() : initdb_status.error().ToString(),
        ReadFileTail(initdb_log)));
  }

  const std::string log_path = dir.File("postgres.log");
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  for (int attempt = 1;; ++attempt) {
    // Another process may take the port before the server binds it: see the retry below.
    FERRY_ASSIGN_OR_RETURN(uint16_t port, Env::Default()->FreeLoopbackPort());
    std::vector<std::string> settings = {
        "listen_addresses=127.0.0.1",
        "unix_socket_directories=" + dir.path(),
        "fsync=off",
        "full_page_writes=off",
        "synchronous_commit=off",
        "max_connections=" + std::to_string(options.max_connections),
        "logging_collector=off",  // the log is the server's stderr: postgres.log
    };
    if (options.logical_replication) {
      settings.insert(settings.end(),
                      {"wal_level=logical", "max_replication_slots=20", "max_wal_senders=20"});
    }
    settings.insert(settings.end(), options.extra_settings.begin(), options.extra_settings.end());
    SubprocessOptions server;
    server.argv = {options.bin_dir + "/postgres", "-D", data_dir, "-p", std::to_string(port)};
    for (const std::string& setting : settings) {
      server.argv.insert(server.argv.end(), {"-c", setting});
    }
    server.stdout_path = log_path;
    server.stderr_path = log_path;
    server.working_dir = dir.path();
    server.user = user;
    server.env_set = {{"LC_ALL", "C"}};
    server.env_unset = PostgresVariablesToUnset();
    // SIGQUIT is the postmaster's immediate shutdown: it also takes down the backends.
    server.parent_death_signal = SIGQUIT;
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process,
                           Subprocess::Spawn(std::move(server)));

    const std::string conninfo = fmt::format(
        "host=127.0.0.1 port={} user={} dbname=postgres sslmode=disable "
        "connect_timeout=2",
        port, options.superuser);
    std::optional<ExitStatus> exited;
    for (;;) {
      exited = process->Poll();
      if (exited.has_value()) break;
      if (PQping(conninfo.c_str()) == PQPING_OK) {
        return std::unique_ptr<PostgresServer>(
            new PostgresServer(options, std::move(dir), std::move(process), port));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        StatusOf(process->Kill()).IgnoreError();
        return Err(DeadlineExceeded(
            "the test PostgreSQL server (data {}, port {}) did not accept connections within "
            "{} ms; its log ends with:\n{}",
            data_dir, port, options.start_timeout.count(), ReadFileTail(log_path)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string log = ReadFileTail(log_path);
    // Another process took the port between FreeLoopbackPort() and the bind: pick another.
    if (log.find("Address already in use") != std::string::npos && attempt < kPortAttempts) {
      continue;
    }
    return Err(
        Unavailable("the test PostgreSQL server (data {}, port {}) {} while starting; "
                    "its log ends with:\n{}",
                    data_dir, port, exited->ToString(), log));
  }
}

PostgresServer::PostgresServer(Options options, internal::ScratchDir dir,
                               std::unique_ptr<Subprocess> process, uint16_t port)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      dir_path_(dir_.path()),
      process_(std::move(process)),
      port_(port),
      pid_(process_->pid()),
      owner_pid_(getpid()) {}

PostgresServer::~PostgresServer() { Stop().IgnoreError(); }

Status PostgresServer::Stop() {
  // A forked copy of the test process (death-test child) leaves the parent's server alone.
  if (process_ != nullptr && getpid() != owner_pid_) return OkStatus();
  if (process_ != nullptr) {
    Result<ExitStatus> stopped = process_->Stop(SIGINT, options_.stop_timeout);
    if (!stopped.has_value()) return stopped.error();
    process_.reset();
  }
  return dir_.Remove();
}

std::string PostgresServer::log_path() const { return dir_path_ + "/postgres.log"; }

std::string PostgresServer::LogTail() const { return ReadFileTail(log_path()); }

std::string PostgresServer::Url(std::string_view database) const {
  return fmt::format("postgresql://{}@{}:{}/{}", options_.superuser, host_, port_, database);
}

std::string PostgresServer::ConnInfo(std::string_view database) const {
  return fmt::format("host={} port={} user={} dbname={} sslmode=disable", host_, port_,
                     options_.superuser, database);
}

Result<std::string> PostgresServer::CreateDatabase(std::string_view name_hint) {
  FERRY_ASSIGN_OR_RETURN(PgConnection connection,
                         PgConnection::Open(host_, port_, options_.superuser, "postgres"));
  for (;;) {
    std::string name = internal::DatabaseNameFromHint(name_hint, next_database_++);
    std::string sqlstate;
    Result<Rows> created =
        connection.Run("CREATE DATABASE " + QuoteIdentifier(name), {}, &sqlstate);
    if (created.has_value()) return name;
    if (sqlstate != "42P04") return Err(created.error());  // 42P04: duplicate_database
  }
}

Status PostgresServer::DropDatabase(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(PgConnection connection,
                         PgConnection::Open(host_, port_, options_.superuser, "postgres"));
  const std::vector<std::string> params = {std::string(name)};
  FERRY_ASSIGN_OR_RETURN(
      Rows prepared,
      connection.Run("SELECT gid FROM pg_prepared_xacts WHERE database = $1", params));
  if (!prepared.empty()) {
    FERRY_ASSIGN_OR_RETURN(PgConnection in_database,
                           PgConnection::Open(host_, port_, options_.superuser, name));
    for (const Row& row : prepared) {
      std::string gid = row[0].value_or("");
      std::string quoted = "'";
      for (char c : gid) quoted += c == '\'' ? std::string("''") : std::string(1, c);
      FERRY_RETURN_IF_ERROR(StatusOf(in_database.Run("ROLLBACK PREPARED " + quoted + "'")));
    }
  }
  // A slot pins WAL and blocks DROP DATABASE; it becomes droppable once its WAL sender has
  // exited, which takes a moment after pg_terminate_backend.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    FERRY_RETURN_IF_ERROR(
        StatusOf(connection.Run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                                params)));
    FERRY_ASSIGN_OR_RETURN(
        Rows slots,
        connection.Run("SELECT slot_name, active FROM pg_replication_slots WHERE database = $1",
                       params));
    bool slot_in_use = false;
    for (const Row& slot : slots) {
      if (slot[1] == "t") {
        slot_in_use = true;
        continue;
      }
      // Ignore errors: the slot may have been dropped or taken meanwhile; the loop retries.
      StatusOf(connection.Run("SELECT pg_drop_replication_slot($1)", {slot[0].value_or("")}))
          .IgnoreError();
    }
    if (!slot_in_use) {
      std::string sqlstate;
      Result<Rows> dropped = connection.Run(
          "DROP DATABASE IF EXISTS " + QuoteIdentifier(name) + " WITH (FORCE)", {}, &sqlstate);
      if (dropped.has_value()) return OkStatus();
      // 55006 object_in_use: a slot or session appeared meanwhile.
      if (sqlstate != "55006" || std::chrono::steady_clock::now() >= deadline) {
        return dropped.error();
      }
    } else if (std::chrono::steady_clock::now() >= deadline) {
      return FailedPrecondition(
          "PostgreSQL {}:{}: database `{}` still has an active replication slot after 30 s of "
          "terminating its sessions",
          host_, port_, name);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status PostgresServer::Execute(std::string_view database, std::string_view sql) {
  FERRY_ASSIGN_OR_RETURN(PgConnection connection,
                         PgConnection::Open(host_, port_, options_.superuser, database));
  return StatusOf(connection.Run(sql));
}

Result<Rows> PostgresServer::Query(std::string_view database, std::string_view sql) {
  FERRY_ASSIGN_OR_RETURN(PgConnection connection,
                         PgConnection::Open(host_, port_, options_.superuser, database));
  return connection.Run(sql);
}

Result<std::string> PostgresServer::QueryValue(std::string_view database, std::string_view sql) {
  FERRY_ASSIGN_OR_RETURN(Rows rows, Query(database, sql));
  if (rows.size() == 1 && rows[0].size() == 1) {
    if (const Cell& value = rows[0][0]; value.has_value()) return *value;
  }
  return Err(FailedPrecondition(
      "PostgreSQL {}:{} database `{}`: expected one non-NULL value from `{}`, got {} rows", host_,
      port_, database, Excerpt(sql), rows.size()));
}

}  // namespace ferry::testing
