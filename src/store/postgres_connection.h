// Private to the store module: SqlConnection over libpq.
#ifndef FERRY_STORE_POSTGRES_CONNECTION_H_
#define FERRY_STORE_POSTGRES_CONNECTION_H_

#include <memory>
#include <string>

#include "store/sql_connection.h"

namespace ferry::store_internal {

// Connects with a libpq URI (postgresql://...); libpq reads PGPASSWORD and ~/.pgpass itself.
// `location` is the redacted URL used in messages.
Result<std::unique_ptr<SqlConnection>> OpenPostgresConnection(const std::string& url,
                                                              const std::string& location);

}  // namespace ferry::store_internal

#endif  // FERRY_STORE_POSTGRES_CONNECTION_H_
