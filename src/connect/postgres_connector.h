// Private to the connect module: the PostgreSQL connector (libpq).
#ifndef FERRY_CONNECT_POSTGRES_CONNECTOR_H_
#define FERRY_CONNECT_POSTGRES_CONNECTOR_H_

#include <memory>
#include <string>

#include "connect/connector.h"

namespace ferry::connect_internal {

// Connects to `url` (a libpq URI; PGPASSWORD and ~/.pgpass are read by libpq); `location` is
// the redacted URL used in messages. Tables are those of the session's current schema.
Result<std::unique_ptr<Connector>> OpenPostgresConnector(const std::string& url,
                                                         const std::string& location);

// The kind a column of PostgreSQL type `type_name` (pg_type.typname) is read as.
TypeKind PostgresKind(std::string_view type_name);

}  // namespace ferry::connect_internal

#endif  // FERRY_CONNECT_POSTGRES_CONNECTOR_H_
