#include "store/store.h"

#include <set>

#include "base/ids.h"
#include "base/url.h"
#include "store/postgres_connection.h"
#include "store/sql_store.h"
#include "store/sqlite_connection.h"

namespace ferry {
namespace {

using store_internal::ConnectionPool;
using store_internal::SqlConnection;
using store_internal::SqlDialect;
using store_internal::SqlStore;

constexpr SqlDialect kSqliteDialect = {
    .engine = store_internal::SqlEngine::kSqlite,
    .backend = "sqlite",
    .skip_locked = "",  // BEGIN IMMEDIATE already gives the claimer the whole database
    .for_update = "",
    .migrations_table_exists =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ferry_migrations'",
    .other_tables_exist =
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'ferry\\_%' "
        "ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    .migration_lock = "",
    .refuse_foreign_database = true,
};

// A PostgreSQL database is often shared with other applications' tables: ferry keeps to its
// ferry_-prefixed tables there instead of refusing.
constexpr SqlDialect kPostgresDialect = {
    .engine = store_internal::SqlEngine::kPostgres,
    .backend = "postgresql",
    .skip_locked = " FOR UPDATE SKIP LOCKED",
    .for_update = " FOR UPDATE",
    .migrations_table_exists =
        "SELECT CASE WHEN to_regclass('ferry_migrations') IS NULL THEN 0 ELSE 1 END",
    .other_tables_exist = "SELECT 0",
    // Serialises concurrent migrators (the key is arbitrary but fixed: "ferry" in ASCII).
    .migration_lock = "SELECT pg_advisory_xact_lock(435460204409)",
    .refuse_foreign_database = false,
};

}  // namespace

std::string_view TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kPending: return "pending";
    case TaskState::kLeased: return "leased";
    case TaskState::kDone: return "done";
    case TaskState::kFailed: return "failed";
  }
  return "unknown";
}

Result<std::vector<std::pair<std::string, int64_t>>> Store::ReleaseLeasesOfGoneWorkers(
    std::string_view queue) {
  FERRY_ASSIGN_OR_RETURN(std::vector<Task> tasks, ListTasks(queue));
  std::set<std::string> gone;
  for (const Task& task : tasks) {
    if (task.state == TaskState::kLeased && !gone.contains(task.lease_owner) &&
        WorkerProcessGone(task.lease_owner)) {
      gone.insert(task.lease_owner);
    }
  }
  std::vector<std::pair<std::string, int64_t>> released;
  for (const std::string& owner : gone) {
    FERRY_ASSIGN_OR_RETURN(int64_t count, ReleaseLeases(queue, owner));
    released.emplace_back(owner, count);
  }
  return released;
}

Result<bool> Store::PutInventory(const InventoryRecord& inventory, std::string_view actor) {
  FERRY_ASSIGN_OR_RETURN(int64_t replaced, PutInventories({inventory}, actor));
  return replaced > 0;
}

std::string SqliteStoreUrl(std::string_view path) { return fmt::format("sqlite://{}", path); }

Result<std::unique_ptr<Store>> Store::Open(std::string_view url, const StoreOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::string location = RedactUrl(url);
  std::unique_ptr<SqlStore> store;
  if (url.starts_with("sqlite://") || url.find("://") == std::string_view::npos) {
    std::string path(url.starts_with("sqlite://") ? url.substr(9) : url);
    if (path.empty()) {
      return Err(
          InvalidArgument("--store {}: no file path; write sqlite:///abs/path/ferry.db", url));
    }
    const bool must_exist = !options.create_if_missing;
    const int busy_timeout_ms = options.busy_timeout_ms;
    // SQLite allows one writer at a time: a single connection per process, shared under the
    // pool's lock, is as fast as several and never waits on itself.
    store = std::make_unique<SqlStore>(
        kSqliteDialect, location,
        [path, location, must_exist, busy_timeout_ms, env] {
          return store_internal::OpenSqliteConnection(path, location, must_exist, busy_timeout_ms,
                                                      env);
        },
        1, env);
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    std::string conninfo(url);
    store = std::make_unique<SqlStore>(
        kPostgresDialect, location,
        [conninfo, location] { return store_internal::OpenPostgresConnection(conninfo, location); },
        options.max_connections, env);
  } else {
    return Err(
        InvalidArgument("--store {}: unknown kind of store `{}`; use sqlite:///path/ferry.db "
                        "(embedded) or postgresql://user@host:port/db (shared)",
                        location, url.substr(0, url.find("://"))));
  }
  FERRY_RETURN_IF_ERROR(store->Initialize(options.migrate));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace ferry
