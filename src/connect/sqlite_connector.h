// Private to the connect module: the SQLite connector.
#ifndef FERRY_CONNECT_SQLITE_CONNECTOR_H_
#define FERRY_CONNECT_SQLITE_CONNECTOR_H_

#include <memory>
#include <string>

#include "connect/connector.h"

namespace ferry::connect_internal {

// Opens the database file at `path` (creating it when `create_if_missing`); `location` is the
// URL used in messages. Reads use read-only connections; writers open their own.
Result<std::unique_ptr<Connector>> OpenSqliteConnector(const std::string& path,
                                                       const std::string& location,
                                                       bool create_if_missing);

// The kind a column of declared type `declared` is read as, following SQLite's affinity rules
// (section 3.1 of "Datatypes In SQLite") refined by the type names other engines use:
// BOOLEAN, DATE, DATETIME/TIMESTAMP, TIME, UUID, JSON. Fills precision and scale from "(p,s)".
ColumnInfo SqliteColumn(std::string name, std::string declared, bool not_null);

}  // namespace ferry::connect_internal

#endif  // FERRY_CONNECT_SQLITE_CONNECTOR_H_
