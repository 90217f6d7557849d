#include "store/sqlite_connection.h"

#include <map>

#include <sqlite3.h>

namespace ferry::store_internal {
namespace {

class SqliteConnection final : public SqlConnection {
 public:
  SqliteConnection(sqlite3* db, std::string location) : db_(db), location_(std::move(location)) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    std::span<const SqlParam> params) override {
    FERRY_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    // Reset (not finalize) on every exit: the statement stays cached for the next call.
    std::unique_ptr<sqlite3_stmt, void (*)(sqlite3_stmt*)> guard(stmt, [](sqlite3_stmt* s) {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    });
    int rc = SQLITE_OK;
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      const SqlParam& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const auto* n = std::get_if<int64_t>(&p)) {
        rc = sqlite3_bind_int64(stmt, index, *n);
      } else {
        const std::string& s = std::get<std::string>(p);
        rc = sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return Err(Error(rc, "bind"));
    }
    std::vector<SqlRow> rows;
    const int columns = sqlite3_column_count(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      SqlRow row(columns);
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) continue;
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row[c].emplace(text, static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Err(Error(rc, "step"));
    return rows;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    if (rc != SQLITE_OK) return Error(rc, "exec", detail);
    return OkStatus();
  }

  Status BeginWrite() override { return ExecScript("BEGIN IMMEDIATE"); }
  // In WAL mode a deferred transaction's first read fixes its snapshot until it ends.
  Status BeginRead() override { return ExecScript("BEGIN DEFERRED"); }
  Status Commit() override { return ExecScript("COMMIT"); }
  Status Rollback() override {
    if (sqlite3_get_autocommit(db_)) return OkStatus();  // nothing open (SQLite rolled back)
    return ExecScript("ROLLBACK");
  }
  bool Healthy() override { return true; }
  // Writers take the lock up front (BEGIN IMMEDIATE) and wait for it up to the busy timeout,
  // so a transaction never fails for a conflict that retrying would cure.
  bool LastErrorWasConflict() const override { return false; }

 private:
  // The store runs a small fixed set of statements many times: parsing and planning each once
  // per connection makes a claim several times cheaper.
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Err(Error(rc, "prepare"));
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  Status Error(int rc, std::string_view step, std::string detail = {}) const {
    if (detail.empty()) detail = sqlite3_errmsg(db_);
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Unavailable(
          "store {}: the database is locked by another process ({}); it holds "
          "the write lock longer than the busy timeout: retry, or raise "
          "busy_timeout_ms",
          location_, detail);
    }
    if (primary == SQLITE_FULL) {
      return ResourceExhausted(
          "store {}: disk full while writing ({}); free space on its "
          "file system and retry: committed work is kept",
          location_, detail);
    }
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
      return DataLoss(
          "store {}: the file is damaged or not an SQLite database ({}); restore it "
          "from a backup or point --store at another file",
          location_, detail);
    }
    if (primary == SQLITE_READONLY || primary == SQLITE_PERM || primary == SQLITE_CANTOPEN) {
      return PermissionDenied(
          "store {}: cannot write ({}); check the file's and its directory's "
          "permissions",
          location_, detail);
    }
    return Internal("store {}: SQLite {} failed: {}", location_, step, detail);
  }

  sqlite3* db_;
  std::string location_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

void FerryNow(sqlite3_context* context, int /*argc*/, sqlite3_value** /*argv*/) {
  auto* env = static_cast<Env*>(sqlite3_user_data(context));
  sqlite3_result_int64(context, env->NowMicros());
}

}  // namespace

Result<std::unique_ptr<SqlConnection>> OpenSqliteConnection(const std::string& path,
                                                            const std::string& location,
                                                            bool must_exist, int busy_timeout_ms,
                                                            Env* env) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (!must_exist) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    if (must_exist && !env->FileExists(path)) {
      return Err(
          NotFound("store {}: the file does not exist; run `ferry store migrate --store "
                   "{}` to create it, or check the path",
                   location, location));
    }
    return Err(
        Unavailable("store {}: cannot open ({}); check that the directory exists and is "
                    "writable, or choose another --store",
                    location, detail));
  }
  auto connection = std::make_unique<SqliteConnection>(db, location);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_create_function_v2(db, "ferry_now", 0, SQLITE_UTF8, env, &FerryNow, nullptr, nullptr,
                             nullptr);
  // journal_mode is the first statement that reads the file: a file that is not a database
  // fails here with SQLITE_NOTADB.
  SqlConnection& conn = *connection;
  FERRY_ASSIGN_OR_RETURN(auto mode, conn.Query("PRAGMA journal_mode=WAL"));
  (void)mode;
  FERRY_RETURN_IF_ERROR(connection->ExecScript(
      "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"));
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace ferry::store_internal
