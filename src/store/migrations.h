// The versioned schema of the state store. Each migration is applied once, in order, inside a
// transaction, and recorded in ferry_migrations. Append new migrations at the end; never edit
// one that has shipped (stores in the field have already applied it).
#ifndef FERRY_STORE_MIGRATIONS_H_
#define FERRY_STORE_MIGRATIONS_H_

#include <span>
#include <string>
#include <string_view>

namespace ferry::store_internal {

enum class SqlEngine { kSqlite, kPostgres };

// A migration's SQL is written once for both engines where they agree, with placeholders for
// where they do not:
//   {serial_id}  an auto-assigned BIGINT primary key
// then a script per engine, run after the common one, for what has no common form (functions,
// triggers).
struct Migration {
  int version;
  std::string_view name;
  std::string_view common_sql;
  std::string_view sqlite_sql;
  std::string_view postgres_sql;
};

std::span<const Migration> AllMigrations();
int LatestSchemaVersion();

// The script that applies `migration` on `engine`.
std::string MigrationScript(const Migration& migration, SqlEngine engine);

}  // namespace ferry::store_internal

#endif  // FERRY_STORE_MIGRATIONS_H_
