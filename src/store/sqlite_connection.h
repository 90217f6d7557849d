// Private to the store module: SqlConnection over the SQLite C API.
#ifndef FERRY_STORE_SQLITE_CONNECTION_H_
#define FERRY_STORE_SQLITE_CONNECTION_H_

#include <memory>
#include <string>

#include "base/env.h"
#include "store/sql_connection.h"

namespace ferry::store_internal {

// Opens `path` (creating it unless `must_exist`) in WAL mode with synchronous=NORMAL (a commit
// survives a process crash; a power loss may lose the last commits but never corrupts the
// file) and registers ferry_now() reading `env`'s clock.
Result<std::unique_ptr<SqlConnection>> OpenSqliteConnection(const std::string& path,
                                                            const std::string& location,
                                                            bool must_exist, int busy_timeout_ms,
                                                            Env* env);

}  // namespace ferry::store_internal

#endif  // FERRY_STORE_SQLITE_CONNECTION_H_
