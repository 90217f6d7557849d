#include "harness/mariadb_server.h"

#include <unistd.h>

#include <csignal>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include <mysql.h>

#include "base/env.h"

namespace ferry::testing {
namespace {

constexpr std::string_view kMissingServerHint =
    "install the Debian package mariadb-server (./setup.sh test installs it)";
constexpr int kPortAttempts = 5;
constexpr unsigned kErrorDatabaseExists = 1007;  // ER_DB_CREATE_EXISTS
constexpr unsigned kErrorServerGone = 2006;      // CR_SERVER_GONE_ERROR
constexpr unsigned kErrorServerLost = 2013;      // CR_SERVER_LOST
// InnoDB's redo log is preallocated; the 96 MiB default is wasted on a test server.
constexpr const char* kRedoLogSize = "--innodb-log-file-size=16M";

std::string Excerpt(std::string_view sql) {
  constexpr std::size_t kMax = 200;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

std::string QuoteIdentifier(std::string_view name) {
  std::string quoted = "`";
  for (char c : name) {
    if (c == '`') quoted += '`';
    quoted += c;
  }
  return quoted + "`";
}

std::string RandomPassword() {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string password;
  for (int i = 0; i < 20; ++i) password += kAlphabet[pick(device)];
  return password;
}

// Where and as whom a connection goes.
struct Endpoint {
  std::string host;  // TCP host; empty: the unix socket
  uint16_t port = 0;
  std::string socket_path;  // used when host is empty
  std::string user;
  std::string password;
};

// One libmariadb connection, closed on destruction.
class MyConnection {
 public:
  // `connect_timeout_seconds` bounds the connect only, not the statements.
  static Result<MyConnection> Open(const Endpoint& endpoint, std::string_view database,
                                   unsigned connect_timeout_seconds = 10) {
    // mysql_init would call it implicitly, but that implicit first call is not thread-safe.
    static std::once_flag library_initialised;
    std::call_once(library_initialised, [] { mysql_library_init(0, nullptr, nullptr); });

    MyConnection connection(mysql_init(nullptr));
    if (connection.mysql_ == nullptr) {
      return Err(ResourceExhausted("libmariadb could not allocate a connection"));
    }
    const bool tcp = !endpoint.host.empty();
    connection.description_ = tcp ? fmt::format("MariaDB {}:{}", endpoint.host, endpoint.port)
                                  : fmt::format("MariaDB socket {}", endpoint.socket_path);
    if (!database.empty()) connection.description_ += fmt::format(" database `{}`", database);
    unsigned protocol = tcp ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
    mysql_optionsv(connection.mysql_, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_optionsv(connection.mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout_seconds);
    std::string db(database);
    if (mysql_real_connect(connection.mysql_, tcp ? endpoint.host.c_str() : "localhost",
                           endpoint.user.c_str(), endpoint.password.c_str(),
                           db.empty() ? nullptr : db.c_str(), endpoint.port,
                           tcp ? nullptr : endpoint.socket_path.c_str(),
                           CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS) == nullptr) {
      return Err(Unavailable("{} as `{}`: cannot connect: {} (error {})", connection.description_,
                             endpoint.user, mysql_error(connection.mysql_),
                             mysql_errno(connection.mysql_)));
    }
    return connection;
  }

  MyConnection(MyConnection&& other) noexcept
      : mysql_(std::exchange(other.mysql_, nullptr)), description_(std::move(other.description_)) {}
  MyConnection& operator=(MyConnection&&) = delete;
  ~MyConnection() {
    if (mysql_ != nullptr) mysql_close(mysql_);
  }

  // Runs `sql` (several statements allowed); returns the rows of the last result set.
  // `error_number`, when given, receives the server's error number on failure.
  Result<Rows> Run(std::string_view sql, unsigned* error_number = nullptr) {
    Rows rows;
    if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return Error(sql, error_number);
    for (;;) {
      MYSQL_RES* result = mysql_store_result(mysql_);
      if (result != nullptr) {
        rows.clear();
        unsigned columns = mysql_num_fields(result);
        while (MYSQL_ROW values = mysql_fetch_row(result)) {
          auto* lengths = mysql_fetch_lengths(result);
          Row& row = rows.emplace_back();
          row.reserve(columns);
          for (unsigned c = 0; c < columns; ++c) {
            if (values[c] == nullptr) {
              row.emplace_back(std::nullopt);
            } else {
              row.emplace_back(std::string(values[c], lengths[c]));
            }
          }
        }
        mysql_free_result(result);
      } else if (mysql_field_count(mysql_) != 0) {
        return Error(sql, error_number);  // a result set that could not be read
      }
      int next = mysql_next_result(mysql_);  // 0: another result, -1: done, >0: error
      if (next > 0) return Error(sql, error_number);
      if (next < 0) return rows;
    }
  }

  std::string Escape(std::string_view text) {
    std::string escaped(text.size() * 2 + 1, '\0');
    auto length = mysql_real_escape_string(mysql_, escaped.data(), text.data(), text.size());
    escaped.resize(length);
    return escaped;
  }

 private:
  explicit MyConnection(MYSQL* mysql) : mysql_(mysql) {}

  std::unexpected<Status> Error(std::string_view sql, unsigned* error_number) {
    unsigned number = mysql_errno(mysql_);
    if (error_number != nullptr) *error_number = number;
    if (number == kErrorServerGone || number == kErrorServerLost) {
      return Err(Unavailable("{}: connection lost: {}", description_, mysql_error(mysql_)));
    }
    return Err(InvalidArgument("{}: {} [error {}, SQLSTATE {}] in `{}`", description_,
                               mysql_error(mysql_), number, mysql_sqlstate(mysql_), Excerpt(sql)));
  }

  MYSQL* mysql_;
  std::string description_;
};

Status CheckInstalled(const MariaDbServerOptions& options) {
  for (const std::string& path : {options.mariadbd_path, options.install_db_path}) {
    if (access(path.c_str(), X_OK) != 0) {
      return FailedPrecondition("MariaDB 10.11 server not found at {}: {}", path,
                                kMissingServerHint);
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<MariaDbServer>> MariaDbServer::Start(const Options& options) {
  FERRY_RETURN_IF_ERROR(CheckInstalled(options));
  internal::RemoveAbandonedScratchDirs();
  const std::string user = internal::ServerUser(options.run_as_user);
  FERRY_ASSIGN_OR_RETURN(internal::ScratchDir dir, internal::ScratchDir::Create("mariadb", user));
  const std::string socket_path = dir.File("mysql.sock");
  FERRY_RETURN_IF_ERROR(internal::CheckUnixSocketPath(socket_path));

  const std::string data_dir = dir.File("data");
  const std::string install_log = dir.File("install.log");
  SubprocessOptions install;
  install.argv = {options.install_db_path,
                  "--no-defaults",
                  "--datadir=" + data_dir,
                  "--auth-root-authentication-method=normal",
                  "--skip-test-db",
                  "--skip-name-resolve",
                  kRedoLogSize};
  install.stdout_path = install_log;
  install.stderr_path = install_log;
  install.working_dir = dir.path();
  install.user = user;
  install.env_set = {{"LC_ALL", "C"}};
  install.parent_death_signal = SIGKILL;
  Result<ExitStatus> install_status = RunToCompletion(std::move(install), options.start_timeout);
  if (!install_status.has_value() || !install_status->success()) {
    return Err(Unavailable(
        "mariadb-install-db for the test MariaDB server in {} failed ({}); its log ends with:\n{}",
        data_dir,
        install_status.has_value() ? install_status->ToString() : install_status.error().ToString(),
        ReadFileTail(install_log)));
  }

  const std::string error_log = dir.File("error.log");
  const Endpoint root{.host = "", .port = 0, .socket_path = socket_path, .user = "root"};
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  for (int attempt = 1;; ++attempt) {
    // Another process may take the port before the server binds it: see the retry below.
    FERRY_ASSIGN_OR_RETURN(uint16_t port, Env::Default()->FreeLoopbackPort());
    SubprocessOptions server;
    server.argv = {options.mariadbd_path,
                   "--no-defaults",  // must come first
                   "--datadir=" + data_dir,
                   "--socket=" + socket_path,
                   "--port=" + std::to_string(port),
                   "--bind-address=127.0.0.1",
                   "--skip-networking=0",
                   "--skip-name-resolve",
                   "--pid-file=" + dir.File("mariadbd.pid"),
                   "--log-error=" + error_log,
                   // Its own temporary files, not /tmp's: servers and tests that share /tmp
                   // must not see (or clean up) each other's internal temporary tables.
                   "--tmpdir=" + dir.path(),
                   "--max-connections=" + std::to_string(options.max_connections),
                   "--character-set-server=utf8mb4",
                   "--collation-server=utf8mb4_general_ci",
                   "--innodb-flush-log-at-trx-commit=0",
                   kRedoLogSize};
    if (options.binary_log) {
      server.argv.insert(server.argv.end(), {"--log-bin=" + dir.File("binlog"),
                                             "--binlog-format=ROW", "--server-id=1"});
    } else {
      server.argv.emplace_back("--skip-log-bin");
    }
    server.argv.insert(server.argv.end(), options.extra_flags.begin(), options.extra_flags.end());
    // What mariadbd prints before it opens --log-error.
    server.stdout_path = dir.File("mariadbd.out");
    server.stderr_path = server.stdout_path;
    server.working_dir = dir.path();
    server.user = user;
    server.env_set = {{"LC_ALL", "C"}};
    server.parent_death_signal = SIGKILL;
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process,
                           Subprocess::Spawn(std::move(server)));

    std::optional<ExitStatus> exited;
    for (;;) {
      exited = process->Poll();
      if (exited.has_value()) break;
      if (access(socket_path.c_str(), F_OK) == 0 &&
          MyConnection::Open(root, "", /*connect_timeout_seconds=*/2).has_value()) {
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        StatusOf(process->Kill()).IgnoreError();
        return Err(DeadlineExceeded(
            "the test MariaDB server (data {}, port {}) did not accept connections within {} ms; "
            "its error log ends with:\n{}",
            data_dir, port, options.start_timeout.count(), ReadFileTail(error_log)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (exited.has_value()) {
      std::string log = ReadFileTail(error_log) + ReadFileTail(dir.File("mariadbd.out"));
      if (log.find("Address already in use") != std::string::npos && attempt < kPortAttempts) {
        continue;  // another process took the port: pick another
      }
      return Err(
          Unavailable("the test MariaDB server (data {}, port {}) {} while starting; its "
                      "logs end with:\n{}",
                      data_dir, port, exited->ToString(), log));
    }

    std::string password = RandomPassword();
    {
      FERRY_ASSIGN_OR_RETURN(MyConnection admin, MyConnection::Open(root, ""));
      std::string grants;
      for (const char* host : {"127.0.0.1", "localhost"}) {
        grants += fmt::format(
            "CREATE USER 'ferry'@'{0}' IDENTIFIED BY '{1}';"
            "GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'{0}' WITH GRANT OPTION;",
            host, password);
      }
      FERRY_RETURN_IF_ERROR(StatusOf(admin.Run(grants)));
    }
    auto server_object = std::unique_ptr<MariaDbServer>(
        new MariaDbServer(options, std::move(dir), std::move(process), port, password));
    // The promise of Start(): the URL's credentials work over TCP.
    FERRY_RETURN_IF_ERROR(server_object->Execute("", "SELECT 1"));
    return server_object;
  }
}

MariaDbServer::MariaDbServer(Options options, internal::ScratchDir dir,
                             std::unique_ptr<Subprocess> process, uint16_t port,
                             std::string password)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      dir_path_(dir_.path()),
      process_(std::move(process)),
      port_(port),
      password_(std::move(password)),
      pid_(process_->pid()),
      owner_pid_(getpid()) {}

MariaDbServer::~MariaDbServer() { Stop().IgnoreError(); }

Status MariaDbServer::Stop() {
  // A forked copy of the test process (death-test child) leaves the parent's server alone.
  if (process_ != nullptr && getpid() != owner_pid_) return OkStatus();
  if (process_ != nullptr) {
    Result<ExitStatus> stopped = process_->Stop(SIGTERM, options_.stop_timeout);
    if (!stopped.has_value()) return stopped.error();
    process_.reset();
  }
  return dir_.Remove();
}

std::string MariaDbServer::socket_path() const { return dir_path_ + "/mysql.sock"; }
std::string MariaDbServer::log_path() const { return dir_path_ + "/error.log"; }
std::string MariaDbServer::LogTail() const { return ReadFileTail(log_path()); }

std::string MariaDbServer::Url(std::string_view database) const {
  return fmt::format("mysql://{}:{}@{}:{}/{}", user_, password_, host_, port_, database);
}

Result<std::string> MariaDbServer::CreateDatabase(std::string_view name_hint) {
  FERRY_ASSIGN_OR_RETURN(MyConnection connection,
                         MyConnection::Open({host_, port_, "", user_, password_}, ""));
  for (;;) {
    std::string name = internal::DatabaseNameFromHint(name_hint, next_database_++);
    unsigned error_number = 0;
    Result<Rows> created =
        connection.Run("CREATE DATABASE " + QuoteIdentifier(name), &error_number);
    if (created.has_value()) return name;
    if (error_number != kErrorDatabaseExists) return Err(created.error());
  }
}

Status MariaDbServer::DropDatabase(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(MyConnection connection,
                         MyConnection::Open({host_, port_, "", user_, password_}, ""));
  // DROP waits for the metadata locks of open transactions; bound the wait.
  FERRY_RETURN_IF_ERROR(StatusOf(connection.Run("SET SESSION lock_wait_timeout = 30")));
  FERRY_ASSIGN_OR_RETURN(Rows sessions,
                         connection.Run(fmt::format("SELECT ID FROM information_schema.PROCESSLIST "
                                                    "WHERE DB = '{}' AND ID <> CONNECTION_ID()",
                                                    connection.Escape(name))));
  for (const Row& session : sessions) {
    // Fails harmlessly when the session ended meanwhile.
    StatusOf(connection.Run("KILL CONNECTION " + session[0].value_or("0"))).IgnoreError();
  }
  return StatusOf(connection.Run("DROP DATABASE IF EXISTS " + QuoteIdentifier(name)));
}

Status MariaDbServer::Execute(std::string_view database, std::string_view sql) {
  FERRY_ASSIGN_OR_RETURN(MyConnection connection,
                         MyConnection::Open({host_, port_, "", user_, password_}, database));
  return StatusOf(connection.Run(sql));
}

Result<Rows> MariaDbServer::Query(std::string_view database, std::string_view sql) {
  FERRY_ASSIGN_OR_RETURN(MyConnection connection,
                         MyConnection::Open({host_, port_, "", user_, password_}, database));
  return connection.Run(sql);
}

Result<std::string> MariaDbServer::QueryValue(std::string_view database, std::string_view sql) {
  FERRY_ASSIGN_OR_RETURN(Rows rows, Query(database, sql));
  if (rows.size() == 1 && rows[0].size() == 1) {
    if (const Cell& value = rows[0][0]; value.has_value()) return *value;
  }
  return Err(FailedPrecondition(
      "MariaDB {}:{} database `{}`: expected one non-NULL value from `{}`, got {} rows", host_,
      port_, database, Excerpt(sql), rows.size()));
}

}  // namespace ferry::testing
