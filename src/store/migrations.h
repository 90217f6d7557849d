// The versioned schema of the state store. Each migration is applied once, in order, inside a
// transaction, and recorded in ferry_migrations. Append new migrations at the end; never edit
// one that has shipped (stores in the field have already applied it).
#ifndef FERRY_STORE_MIGRATIONS_H_
#define FERRY_STORE_MIGRATIONS_H_

#include <span>
#include <string_view>

namespace ferry::store_internal {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sqlite_sql;
  std::string_view postgres_sql;
};

std::span<const Migration> AllMigrations();
int LatestSchemaVersion();

}  // namespace ferry::store_internal

#endif  // FERRY_STORE_MIGRATIONS_H_
